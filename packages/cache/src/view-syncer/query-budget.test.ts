// Property: for random ASTs, each limit accepts a query exactly at it and refuses one just
// over it, naming the setting; and permission rules grow a query by a bound the operator's
// rules fix, so a client cannot use them to pass the budget.
import fc from 'fast-check';
import type {AST, Condition, CorrelatedSubquery, LiteralValue} from '@zync/protocol';
import {
  createSchema,
  definePermissions,
  relationships,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {expect, test} from 'vitest';
import {SelectPermissions} from '../permissions/select-permissions.ts';
import {
  checkQueryBudget,
  DEFAULT_QUERY_BUDGET,
  QUERY_BUDGET_SETTINGS,
  type QueryBudget,
} from './query-budget.ts';

type Metrics = {depth: number; nodes: number; inList: number; str: number};

/** The reference: a plain recursive measure of what each limit counts. */
function measure(ast: AST, depth = 0, m: Metrics = {depth: 0, nodes: 0, inList: 0, str: 0}) {
  const s = (x: string) => (m.str = Math.max(m.str, x.length));
  const lit = (v: LiteralValue) => {
    if (typeof v === 'string') s(v);
    if (Array.isArray(v)) {
      m.inList = Math.max(m.inList, v.length);
      for (const x of v) if (typeof x === 'string') s(x);
    }
  };
  const corr = (r: CorrelatedSubquery) => {
    const f = [...r.correlation.parentField, ...r.correlation.childField];
    m.nodes += f.length;
    f.forEach(s);
    measure(r.subquery, depth + 1, m);
  };
  const cond = (c: Condition) => {
    m.nodes++;
    if (c.kind === 'simple') {
      for (const side of [c.left, c.right]) {
        if (side.kind === 'literal') lit(side.value);
        else s(side.name);
      }
    } else if (c.kind === 'exists') corr(c.related);
    else c.conditions.forEach(cond);
  };
  m.nodes++;
  m.depth = Math.max(m.depth, depth);
  s(ast.table);
  if (ast.alias !== undefined) s(ast.alias);
  for (const [k, v] of Object.entries(ast.start?.row ?? {})) {
    s(k);
    lit(v);
  }
  for (const [c] of ast.orderBy ?? []) s(c);
  if (ast.where) cond(ast.where);
  ast.related?.forEach(corr);
  return m;
}

const name = fc.string({minLength: 1, maxLength: 12});
const literal: fc.Arbitrary<LiteralValue> = fc.oneof(
  fc.string({maxLength: 30}),
  fc.integer(),
  fc.array(fc.oneof(fc.string({maxLength: 8}), fc.integer()), {maxLength: 40}),
);
const {ast: astArb} = fc.letrec<{ast: AST; cond: Condition; corr: CorrelatedSubquery}>(tie => ({
  ast: fc.record(
    {
      kind: fc.constant('query' as const),
      table: name,
      where: fc.option(tie('cond'), {nil: undefined, depthSize: 'small'}),
      related: fc.option(fc.array(tie('corr'), {maxLength: 2}), {nil: undefined}),
      orderBy: fc.option(fc.array(fc.tuple(name, fc.constant('asc' as const)), {maxLength: 2}), {
        nil: undefined,
      }),
    },
    {requiredKeys: ['kind', 'table']},
  ),
  cond: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    fc.record({
      kind: fc.constant('simple' as const),
      op: fc.constantFrom('=' as const, 'IN' as const),
      left: fc.record({kind: fc.constant('column' as const), name}),
      right: fc.record({kind: fc.constant('literal' as const), value: literal}),
    }),
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      conditions: fc.array(tie('cond'), {maxLength: 3}),
    }),
    fc.record({
      kind: fc.constant('exists' as const),
      op: fc.constant('EXISTS' as const),
      related: tie('corr'),
    }),
  ),
  corr: fc.record({
    kind: fc.constant('correlated' as const),
    correlation: fc.record({
      parentField: fc.array(name, {minLength: 1, maxLength: 2}),
      childField: fc.array(name, {minLength: 1, maxLength: 2}),
    }),
    subquery: tie('ast'),
  }),
}));

const limits: [keyof QueryBudget, keyof Metrics][] = [
  ['maxQueryDepth', 'depth'],
  ['maxQueryNodes', 'nodes'],
  ['maxInListLength', 'inList'],
  ['maxQueryStringLength', 'str'],
];

test.each(limits)(
  '%s: a query at the limit is accepted, one just over it refused',
  (limit, metric) => {
    fc.assert(
      fc.property(astArb, ast => {
        const m = measure(ast);
        // Every other limit out of the way.
        const roomy: QueryBudget = {
          maxQueryDepth: m.depth + 1,
          maxQueryNodes: m.nodes + 1,
          maxInListLength: m.inList + 1,
          maxQueryStringLength: m.str + 1,
          maxQueriesPerGroup: 1,
        };
        expect(checkQueryBudget(ast, {...roomy, [limit]: m[metric]})).toBeUndefined();
        if (m[metric] === 0) return;
        const refused = checkQueryBudget(ast, {...roomy, [limit]: m[metric] - 1});
        expect(refused).toContain(QUERY_BUDGET_SETTINGS[limit]);
        expect(refused).toContain(`the limit is ${m[metric] - 1}`);
      }),
      {numRuns: 300},
    );
  },
);

test('a query far over the budget is refused without walking all of it', () => {
  let ast: AST = {kind: 'query', table: 't'};
  for (let i = 0; i < 5000; i++) {
    ast = {
      kind: 'query',
      table: 't',
      where: {
        kind: 'exists',
        op: 'EXISTS',
        related: {
          kind: 'correlated',
          correlation: {parentField: ['a'], childField: ['b']},
          subquery: ast,
        },
      },
    };
  }
  // Every query node the check reads is recorded: it must stop near the depth limit, not
  // walk 5,000 levels.
  const read = new Set<object>();
  const watch = <T>(v: T): T =>
    typeof v === 'object' && v !== null
      ? new Proxy(v, {
          get(target, key, receiver) {
            if ((target as {kind?: unknown}).kind === 'query') read.add(target);
            return watch(Reflect.get(target, key, receiver) as unknown);
          },
        })
      : v;
  expect(checkQueryBudget(watch(ast), DEFAULT_QUERY_BUDGET)).toMatch(
    /ZERO_QUERY_MAX_(DEPTH|NODES)/,
  );
  expect(read.size).toBeGreaterThan(0);
  expect(read.size).toBeLessThanOrEqual(DEFAULT_QUERY_BUDGET.maxQueryDepth + 2);
});

// --- Permission rules cannot be used to pass the budget ----------------------------------
const issue = table('issue').columns({id: string(), ownerID: string()}).primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string(), authorID: string()})
  .primaryKey('id');
const schema = createSchema({
  tables: [issue, comment],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
    relationships(comment, ({one}) => ({
      issue: one({sourceField: ['issueID'], destField: ['id'], destSchema: issue}),
    })),
  ],
});
type S = typeof schema;

test('permission rules grow a query by at most what the rules themselves hold', async () => {
  const permissions = await definePermissions<{sub: string}, S>(schema, () => ({
    issue: {
      row: {
        select: [
          (a, {cmp}: ExpressionBuilder<S, 'issue'>) => cmp('ownerID', '=', a.sub),
          (a, {exists}: ExpressionBuilder<S, 'issue'>) =>
            exists('comments', q => q.where('authorID', a.sub)),
        ],
      },
    },
    comment: {
      row: {
        select: [
          (a, {exists}: ExpressionBuilder<S, 'comment'>) =>
            exists('issue', q => q.where('ownerID', a.sub)),
        ],
      },
    },
  }));
  const sp = new SelectPermissions({permissions, claims: 'verified'});
  const ctx = {clientID: 'c', clientGroupID: 'g', userID: 'u', authData: {sub: 'u1'}, token: 't'};
  // What the rules add to one level, measured on a bare query of each table.
  const perLevel = ['issue', 'comment'].map(t => measure(sp.apply({kind: 'query', table: t}, ctx)));
  const ruleNodes = Math.max(...perLevel.map(m => m.nodes - 1));
  const ruleDepth = Math.max(...perLevel.map(m => m.depth));
  const corr = (parent: 'issue' | 'comment', sub: AST): CorrelatedSubquery =>
    parent === 'issue'
      ? {
          kind: 'correlated',
          correlation: {parentField: ['id'], childField: ['issueID']},
          subquery: sub,
        }
      : {
          kind: 'correlated',
          correlation: {parentField: ['issueID'], childField: ['id']},
          subquery: sub,
        };
  // Random nestings of the two tables (each level a related or an exists, tables alternating).
  const nested = fc.array(fc.boolean(), {maxLength: 8}).map(levels => {
    const tableAt = (i: number) => (i % 2 === 0 ? 'issue' : 'comment');
    let ast: AST = {kind: 'query', table: tableAt(levels.length)};
    for (let i = levels.length - 1; i >= 0; i--) {
      const t = tableAt(i);
      const related = corr(t, ast);
      ast = levels[i]
        ? {kind: 'query', table: t, where: {kind: 'exists', op: 'EXISTS', related}}
        : {kind: 'query', table: t, related: [related]};
    }
    return ast;
  });
  fc.assert(
    fc.property(nested, ast => {
      const before = measure(ast);
      const queries = countQueries(ast);
      const after = measure(sp.apply(ast, ctx));
      expect(after.nodes).toBeLessThanOrEqual(before.nodes + queries * ruleNodes);
      expect(after.depth).toBeLessThanOrEqual(before.depth + ruleDepth);
    }),
    {numRuns: 200},
  );
});

function countQueries(ast: AST): number {
  let n = 1;
  const cond = (c: Condition | undefined): void => {
    if (!c || c.kind === 'simple') return;
    if (c.kind === 'exists') n += countQueries(c.related.subquery);
    else c.conditions.forEach(cond);
  };
  cond(ast.where);
  for (const r of ast.related ?? []) n += countQueries(r.subquery);
  return n;
}
