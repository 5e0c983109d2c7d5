// Direct checks of the Source contract (docs/ivm.md): fetch with constraint / start /
// reverse / pushed filter against a from-scratch computation, and what fetches see while
// a change is being pushed. Parameterised by a Source factory like source-property.ts.
import type {Condition, Ordering} from '@zync/protocol';
import fc from 'fast-check';
import {compileRowPredicate} from '../../src/ivm/condition.ts';
import {completeOrdering, makeComparator, type Row, type Value} from '../../src/ivm/data.ts';
import type {FetchRequest, Node} from '../../src/ivm/operator.ts';
import type {Source, SourceInput} from '../../src/ivm/source.ts';
import {rowArb} from './generators.ts';
import {INTS, table, type TableSpec} from './schema.ts';
import type {SourceFactory} from './source-property.ts';

const SPEC: TableSpec = table('comment');

function expectedFetch(
  rows: readonly Row[],
  ordering: Ordering,
  filter: Condition | undefined,
  req: FetchRequest,
): Row[] {
  const compare = makeComparator(ordering);
  const pred = compileRowPredicate(filter);
  const dir = req.reverse ? -1 : 1;
  return rows
    .filter(r => pred(r))
    .filter(
      r =>
        !req.constraint ||
        Object.entries(req.constraint).every(([k, v]) => v !== null && r[k] === v),
    )
    .filter(r => {
      if (!req.start) return true;
      const c = compare(r, req.start.row) * dir;
      return req.start.basis === 'at' ? c >= 0 : c > 0;
    })
    .sort((a, b) => compare(a, b) * dir);
}

const rowsOf = (nodes: Iterable<Node>): Row[] => [...nodes].map(n => n.row);

function uniqueRows(rows: readonly Row[]): Row[] {
  const seen = new Set<Value>();
  return rows.filter(r => !seen.has(r.id ?? null) && (seen.add(r.id ?? null), true));
}

function nonNull(c: Record<string, Value> | undefined): Record<string, Value> {
  return Object.fromEntries(Object.entries(c ?? {}).filter(([, v]) => v !== null));
}

function fill(source: Source, rows: readonly Row[]): void {
  for (const row of rows) source.push({type: 'add', row});
}

export function checkSourceContract(
  factory: SourceFactory,
  options: {readonly numRuns: number},
): void {
  const cols = Object.keys(SPEC.columns);
  const orderingArb = fc
    .uniqueArray(fc.constantFrom(...cols), {maxLength: 2})
    .chain(cs =>
      fc.tuple(
        ...cs.map(c => fc.constantFrom('asc' as const, 'desc' as const).map(d => [c, d] as const)),
      ),
    );
  const filterArb = fc.option(
    fc
      .record({col: fc.constantFrom('a', 'authorId'), v: fc.constantFrom(...INTS)})
      .map(({col, v}): Condition => ({
        kind: 'simple',
        op: '!=',
        left: {kind: 'column', name: col},
        right: {kind: 'literal', value: v},
      })),
    {nil: undefined},
  );
  const reqArb = fc.record({
    constraint: fc.option(
      fc.dictionary(
        fc.constantFrom('issueId', 'authorId', 'id'),
        fc.oneof(fc.constant(null), fc.integer({min: 1, max: 6})),
        {maxKeys: 2},
      ),
      {nil: undefined},
    ),
    start: fc.option(
      fc.record({row: rowArb(SPEC), basis: fc.constantFrom('at' as const, 'after' as const)}),
      {nil: undefined},
    ),
    reverse: fc.boolean(),
  });

  // 1. Fetch semantics.
  fc.assert(
    fc.property(
      fc.array(rowArb(SPEC), {maxLength: 15}),
      orderingArb,
      filterArb,
      fc.array(reqArb, {minLength: 1, maxLength: 5}),
      (raw, ordering, filter, reqs) => {
        const rows = uniqueRows(raw);
        const source = factory(SPEC);
        fill(source, rows);
        const conn = source.connect(ordering, {filter});
        const full = completeOrdering(ordering, SPEC.primaryKey);
        for (const r of reqs) {
          const req: FetchRequest = {
            ...(r.constraint ? {constraint: r.constraint} : {}),
            // Contract: a start row agrees with the constraint (the engine only asks that).
            ...(r.start
              ? {start: {...r.start, row: {...r.start.row, ...nonNull(r.constraint)}}}
              : {}),
            reverse: r.reverse,
          };
          const got = rowsOf(conn.fetch(req));
          const want = expectedFetch(rows, full, filter, req);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(
              `fetch ${JSON.stringify(req)}\ngot ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`,
            );
          }
        }
        conn.destroy();
      },
    ),
    {numRuns: options.numRuns},
  );

  // 1b. The same over a few hundred rows, so that B-tree style sources span many pages.
  fc.assert(
    fc.property(
      fc
        .array(rowArb(SPEC), {minLength: 200, maxLength: 600})
        .map(rs => rs.map((r, i) => ({...r, id: i}))),
      orderingArb,
      fc.array(reqArb, {minLength: 1, maxLength: 10}),
      (rows, ordering, reqs) => {
        const source = factory(SPEC);
        fill(source, rows);
        const conn = source.connect(ordering);
        const full = completeOrdering(ordering, SPEC.primaryKey);
        for (const r of reqs) {
          const start = r.start && {
            ...r.start,
            row: {...r.start.row, id: (r.start.row.id as number) * 37, ...nonNull(r.constraint)},
          };
          const req: FetchRequest = {
            ...(r.constraint ? {constraint: r.constraint} : {}),
            ...(start ? {start} : {}),
            reverse: r.reverse,
          };
          const got = rowsOf(conn.fetch(req));
          const want = expectedFetch(rows, full, undefined, req);
          if (JSON.stringify(got) !== JSON.stringify(want))
            throw new Error(`fetch over many rows ${JSON.stringify(req)}`);
        }
        conn.destroy();
      },
    ),
    {numRuns: Math.max(10, Math.floor(options.numRuns / 10))},
  );

  // 2. During a push, connections before and at the one being pushed see the change;
  //    later ones do not. Split edits show the remove phase, then the add phase.
  fc.assert(
    fc.property(
      fc.array(rowArb(SPEC), {minLength: 1, maxLength: 10}),
      fc.nat(),
      rowArb(SPEC),
      fc.constantFrom('add', 'remove', 'edit', 'split'),
      (raw, pick, extra, kind) => {
        const rows = uniqueRows(raw);
        const source = factory(SPEC);
        fill(source, rows);
        const conns: SourceInput[] = [0, 1, 2].map(() =>
          source.connect([['a', 'asc']], {splitEditKeys: ['issueId']}),
        );
        const victim = rows[pick % rows.length] as Row;
        const newRow: Row =
          kind === 'add'
            ? {...extra, id: 1000}
            : kind === 'split'
              ? {...victim, issueId: victim.issueId === 99 ? 98 : 99}
              : {...victim, b: victim.b === 'zz' ? 'zy' : 'zz'};
        const before = rows;
        const after =
          kind === 'add'
            ? [...rows, newRow]
            : kind === 'remove'
              ? rows.filter(r => r !== victim)
              : rows.map(r => (r === victim ? newRow : r));
        const midSplit = rows.filter(r => r !== victim);
        const seen: string[] = [];
        conns.forEach((conn, i) => {
          conn.setOutput({
            push: change => {
              seen.push(`${i}:${change.type}`);
              const expectSelf = change.type === 'remove' && kind === 'split' ? midSplit : after;
              conns.forEach((other, j) => {
                const want = j < i ? after : j === i ? expectSelf : before;
                const got = rowsOf(other.fetch({}));
                const exp = expectedFetch(
                  want,
                  completeOrdering([['a', 'asc']], SPEC.primaryKey),
                  undefined,
                  {},
                );
                if (JSON.stringify(got) !== JSON.stringify(exp)) {
                  throw new Error(
                    `during push to connection ${i} (${change.type}), connection ${j} saw the wrong rows`,
                  );
                }
              });
            },
          });
        });
        if (kind === 'add') source.push({type: 'add', row: newRow});
        else if (kind === 'remove') source.push({type: 'remove', row: victim});
        else source.push({type: 'edit', oldRow: victim, row: newRow});
        const expectedTypes = kind === 'split' ? ['remove', 'add'] : [kind];
        const wantSeen = [0, 1, 2].flatMap(i => expectedTypes.map(t => `${i}:${t}`));
        if (JSON.stringify(seen) !== JSON.stringify(wantSeen))
          throw new Error(`push order ${seen.join(',')}`);
        const final = rowsOf((conns[0] as SourceInput).fetch({}));
        const exp = expectedFetch(
          after,
          completeOrdering([['a', 'asc']], SPEC.primaryKey),
          undefined,
          {},
        );
        if (JSON.stringify(final) !== JSON.stringify(exp)) throw new Error('state after push');
      },
    ),
    {numRuns: options.numRuns},
  );
}
