// What select permissions add to hydrating a 10k-row query over a SQLite replica, as a
// ratio against the same query without rules. Usage: npm run bench -- permissions
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {AST} from '@zync/protocol';
import {
  ANYONE_CAN,
  createBuilder,
  createSchema,
  definePermissions,
  mapAST,
  number,
  string,
  table,
  type ExpressionBuilder,
} from '@zync/zql';
import {buildRowSet} from '@zync/zql/ivm';
import {Snapshotter} from '../sqlite-engine/snapshotter.ts';
import {TestReplica} from '../../test/sqlite-test-replica.ts';
import {SelectPermissions} from './select-permissions.ts';

const ROWS = 10_000;
const RUNS = 15;
const TARGET = 1.3;

const issue = table('issue')
  .columns({
    id: string(),
    ownerID: string().from('owner_id'),
    orgID: string().from('org_id'),
    rank: number(),
  })
  .primaryKey('id');
const schema = createSchema({tables: [issue]});
type S = typeof schema;
type Claims = {sub: string; orgs: string[]; role: string};
type EB = ExpressionBuilder<S, 'issue'>;

const dir = mkdtempSync(join(tmpdir(), 'zync-perm-bench-'));
const file = join(dir, 'replica.db');
const replica = new TestReplica(file, [
  {
    name: 'issue',
    columns: {id: 'text', owner_id: 'text', org_id: 'text', rank: 'int4'},
    primaryKey: ['id'],
  },
]);
const ins = replica.db.prepare(
  'INSERT INTO issue (id, owner_id, org_id, rank) VALUES (?, ?, ?, ?)',
);
replica.db.transaction(() => {
  for (let i = 0; i < ROWS; i++) {
    // Every row is allowed by the rules below (org o1 for all), so both sides return 10k.
    ins.run(`i${String(i).padStart(6, '0')}`, `u${i % 50}`, 'o1', i % 100);
  }
})();
const snapshotter = new Snapshotter(file);
const ctxSources = {getSource: (t: string) => snapshotter.getSource(t)};

const rules = await definePermissions<Claims, S>(schema, () => ({
  issue: {
    row: {
      select: [
        (a, {cmp}: EB) => cmp('ownerID', a.sub),
        (a, {cmp}: EB) => cmp('orgID', 'IN', a.orgs),
        (a, {cmpLit}: EB) => cmpLit(a.role, '=', 'admin'),
      ],
    },
  },
}));
const open = await definePermissions<Claims, S>(schema, () => ({
  issue: {row: {select: ANYONE_CAN}},
}));

const base: AST = mapAST(createBuilder(schema).issue.ast, schema, 'server');
const ctx = {
  clientID: 'c',
  clientGroupID: 'g',
  userID: 'u1',
  authData: {sub: 'u1', orgs: ['o1', 'o2'], role: 'member'},
  token: 't',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function hydrate(ast: AST): number {
  const r = buildRowSet(ast, ctxSources);
  const n = r.size;
  r.destroy();
  return n;
}

const warmSp = new SelectPermissions({permissions: rules, claims: 'verified'});
const variants: [string, () => number][] = [
  ['no permissions (baseline)', () => hydrate(base)],
  [
    'ANYONE_CAN (folds to no filter)',
    () => hydrate(new SelectPermissions({permissions: open, claims: 'verified'}).apply(base, ctx)),
  ],
  [
    '3 rules with claims, bound fresh each run',
    () => hydrate(new SelectPermissions({permissions: rules, claims: 'verified'}).apply(base, ctx)),
  ],
  ['3 rules with claims, bound once (cached per claims)', () => hydrate(warmSp.apply(base, ctx))],
];
const gc = (globalThis as {gc?: () => void}).gc;
// Interleaved rounds, so that drift (GC, caches, CPU clock) hits every variant alike.
const times = variants.map(() => [] as number[]);
const counts = variants.map(() => 0);
for (const [, run] of variants) run();
for (let round = 0; round < RUNS; round++) {
  for (const [i, [, run]] of variants.entries()) {
    gc?.();
    const t0 = performance.now();
    counts[i] = run();
    times[i]!.push(performance.now() - t0);
  }
}
const medians = times.map(median);
for (const [i, [name]] of variants.entries()) {
  console.log(
    `${name.padEnd(56)} rows=${String(counts[i]).padStart(6)}  median ${medians[i]!.toFixed(2).padStart(8)} ms`,
  );
}
for (const i of [1, 2, 3]) {
  const ratio = medians[i]! / medians[0]!;
  console.log(
    `ratio ${variants[i]![0].padEnd(52)} ${ratio.toFixed(2)}x (target ≤ ${TARGET}x) ${ratio <= TARGET ? 'ok' : 'MISSED'}`,
  );
}
const t0 = performance.now();
for (let i = 0; i < 1000; i++) warmSp.apply(base, ctx);
console.log(
  `prepare alone (cached bind + apply + name mapping): ${((performance.now() - t0) / 1000).toFixed(4)} ms`,
);

snapshotter.destroy();
replica.close();
rmSync(dir, {recursive: true, force: true});
