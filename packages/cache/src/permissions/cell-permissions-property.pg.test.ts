// Property: over random cell select rules, claims, rows and later upstream changes, no
// column value that a cell rule hides ever reaches a client, and every value it allows
// does. Runs the real path: SelectPermissions prepares the query and gives the mask, the
// sync server and its client group send pokes to a WebSocket client. Every hidden-able
// value is distinct (its row, column and edit), so each one the client gets is traced to
// the row it was sent for, and the oracle (plain JavaScript) decides whether it may be.
import fc from 'fast-check';
import type {RowValue} from '@zync/protocol';
import {
  ANYONE_CAN,
  boolean,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  number,
  string,
  table,
  type DefinedPermissions,
  type ExpressionBuilder,
} from '@zync/zql';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import type {Authenticator} from '../server/hooks.ts';
import {startTestServer, type TestServer} from '../../test/sync/harness.ts';
import {MemoryReplica} from '../../test/sync/memory-replica.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {SelectPermissions} from './select-permissions.ts';

const user = table('user')
  .from('users')
  .columns({
    id: string(),
    run: number(),
    v: number(),
    shared: boolean(),
    rank: number(),
    email: string().from('e_mail'),
    salary: string(),
  })
  .primaryKey('id');
const schema = createSchema({tables: [user]});
type S = typeof schema;
type Claims = {sub?: string; role?: string};
type EB = ExpressionBuilder<S, 'user'>;

const IDS = ['u0', 'u1', 'u2', 'u3'];
type Rule = {kind: 'self'} | {kind: 'shared'} | {kind: 'admin'} | {kind: 'rank'; below: number};
const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc.constant({kind: 'self'} as const),
  fc.constant({kind: 'shared'} as const),
  fc.constant({kind: 'admin'} as const),
  fc.integer({min: 0, max: 5}).map(below => ({kind: 'rank', below}) as const),
);
/** undefined: no select policy for the column (always visible); []: nobody. */
const policyArb = fc.option(fc.array(ruleArb, {maxLength: 3}), {nil: undefined});
const claimsArb: fc.Arbitrary<Claims> = fc.record(
  {sub: fc.constantFrom(...IDS), role: fc.constantFrom('admin', 'member')},
  {requiredKeys: []},
);
const shapeArb = fc.record({shared: fc.boolean(), rank: fc.integer({min: 0, max: 5})});

function toRule(r: Rule) {
  return (a: Claims, eb: EB) => {
    switch (r.kind) {
      case 'self':
        return eb.cmp('id', a.sub ?? '');
      case 'shared':
        return eb.cmp('shared', true);
      case 'admin':
        return eb.cmpLit(a.role ?? null, '=', 'admin');
      case 'rank':
        return eb.cmp('rank', '<', r.below);
    }
  };
}

/** The oracle, on a server-named row. */
function visible(policy: Rule[] | undefined, row: RowValue, a: Claims): boolean {
  if (policy === undefined) return true;
  return policy.some(r => {
    switch (r.kind) {
      case 'self':
        return a.sub !== undefined && row['id'] === a.sub;
      case 'shared':
        return row['shared'] === true;
      case 'admin':
        return a.role === 'admin';
      case 'rank':
        return (row['rank'] as number) < r.below;
    }
  });
}

let server: TestServer;
let replica: MemoryReplica;
let current: SelectPermissions | undefined;
const authenticate: Authenticator = connect =>
  Promise.resolve({
    ok: true,
    authData: connect.auth === undefined ? {} : (JSON.parse(connect.auth) as Claims),
    tokenExpiresAt: null,
  });

beforeAll(async () => {
  replica = new MemoryReplica({users: {primaryKey: ['id']}});
  server = await startTestServer({
    dbUrl: await createTestDatabase('cell_property'),
    replica,
    extra: {
      authenticate,
      prepareQuery: (query, ctx) => current!.prepare(query, ctx),
      cells: {mask: (ast, ctx) => current!.mask(ast, ctx)},
    },
  });
});

afterAll(async () => {
  await server.stop();
});

const q = createBuilder(schema);
let run = 0;

test('no hidden column value ever reaches a client; every visible one does', async () => {
  await fc.assert(
    fc.asyncProperty(
      policyArb,
      policyArb,
      claimsArb,
      fc.array(shapeArb, {minLength: 1, maxLength: IDS.length}),
      fc.array(fc.tuple(fc.nat(IDS.length - 1), shapeArb), {maxLength: 4}),
      async (emailPolicy, salaryPolicy, claims, shapes, edits) => {
        const n = ++run;
        const cell: Record<string, {select: ReturnType<typeof toRule>[]}> = {};
        if (emailPolicy) cell['email'] = {select: emailPolicy.map(toRule)};
        if (salaryPolicy) cell['salary'] = {select: salaryPolicy.map(toRule)};
        const permissions: DefinedPermissions = await definePermissions<Claims, S>(schema, () => ({
          user: {row: {select: ANYONE_CAN}, cell},
        }));
        current = new SelectPermissions({permissions, claims: 'verified'});
        const policies: Record<string, Rule[] | undefined> = {
          e_mail: emailPolicy,
          salary: salaryPolicy,
        };
        // Every value of a restricted column, traced to the full row it belongs to.
        const sentFor = new Map<string, RowValue>();
        const model = new Map<string, RowValue>();
        const write = (id: string, shape: {shared: boolean; rank: number}, v: number) => {
          const row = {
            id: `${n}-${id}`,
            run: n,
            v,
            ...shape,
            e_mail: `E-${n}-${id}-${v}`,
            salary: `S-${n}-${id}-${v}`,
          };
          sentFor.set(row.e_mail, row);
          sentFor.set(row.salary, row);
          model.set(row.id, row);
          replica.put('users', row);
        };
        shapes.forEach((s, i) => write(IDS[i]!, s, 0));
        replica.commit();
        const runClaims = claims.sub ? {...claims, sub: `${n}-${claims.sub}`} : claims;

        const c = await TestClient.open(server.port);
        const state = new Map<string, RowValue>();
        const check = (rows: readonly {op: string; value?: RowValue}[]) => {
          for (const r of rows) {
            if (r.op !== 'put' || !r.value) continue;
            const value = r.value;
            state.set(value['id'] as string, value);
            for (const [column, policy] of Object.entries(policies)) {
              if (!Object.hasOwn(value, column)) continue;
              const full = sentFor.get(value[column] as string);
              expect(full?.['id']).toBe(value['id']);
              expect(visible(policy, full!, runClaims)).toBe(true);
            }
          }
        };
        try {
          c.connect({
            clientID: `c${n}`,
            clientGroupID: `g${n}`,
            auth: JSON.stringify(runClaims),
            desiredQueries: [
              {op: 'put', hash: 'h', ast: mapAST(q.user.where('run', n).ast, schema, 'server')},
            ],
          });
          check((await c.poke()).rows);
          let v = 1;
          for (const [i, shape] of edits) {
            const id = IDS[i]!;
            if (!model.has(`${n}-${id}`)) continue;
            write(id, shape, v++); // `v` changes too: each edit gives a poke
            replica.commit();
            check((await c.poke()).rows);
          }
          // The client ends with every row, each with exactly the columns the rules allow.
          const want = [...model.values()].map(row =>
            Object.fromEntries(
              Object.entries(row).filter(([k]) => visible(policies[k], row, runClaims)),
            ),
          );
          const byID = (a: RowValue, b: RowValue) =>
            (a['id'] as string).localeCompare(b['id'] as string);
          expect([...state.values()].sort(byID)).toEqual(want.sort(byID));
        } finally {
          await c.close();
        }
      },
    ),
    {numRuns: 100},
  );
}, 120_000);
