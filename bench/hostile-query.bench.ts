// While one hostile client hydrates the worst query the default budget allows, how long is
// the event loop held, and how much do other clients' write-to-view latencies rise?
// In process, over a SQLite replica: 20 victim groups each hold a query on `issue`; a write
// lands every 10 ms and each victim's driver advances to it (what the view syncer does on
// a replica change). Measured first alone, then while the hostile query hydrates again and
// again. Usage: npm run bench -- hostile-query
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {monitorEventLoopDelay} from 'node:perf_hooks';
import {setTimeout as sleep} from 'node:timers/promises';
import type {AST, Condition, CorrelatedSubquery} from '@zync/protocol';
import {EngineQueryDriver} from '../packages/cache/src/view-syncer/engine-query-driver.ts';
import {
  checkQueryBudget,
  DEFAULT_QUERY_BUDGET,
} from '../packages/cache/src/view-syncer/query-budget.ts';
import {Snapshotter} from '../packages/cache/src/sqlite-engine/snapshotter.ts';
import {TestReplica} from '../packages/cache/test/sqlite-test-replica.ts';

const ISSUES = 1_000;
const COMMENTS = 4_000;
const VICTIMS = 20;
const PHASE_MS = 3_000;

const dir = mkdtempSync(join(tmpdir(), 'zync-hostile-bench-'));
const file = join(dir, 'replica.db');
const replica = new TestReplica(file, [
  {name: 'issue', columns: {id: 'text', owner: 'text', n: 'int4'}, primaryKey: ['id']},
  {name: 'comment', columns: {id: 'text', issue_id: 'text', n: 'int4'}, primaryKey: ['id']},
]);
replica.db.transaction(() => {
  const i = replica.db.prepare(`INSERT INTO issue (id, owner, n) VALUES (?, ?, ?)`);
  for (let k = 0; k < ISSUES; k++) i.run(`i${k}`, `u${k % 50}`, k);
  const c = replica.db.prepare(`INSERT INTO comment (id, issue_id, n) VALUES (?, ?, ?)`);
  for (let k = 0; k < COMMENTS; k++) c.run(`c${k}`, `i${(k * 7919) % ISSUES}`, k);
})();
replica.db.exec(`CREATE INDEX comment_issue ON comment (issue_id)`);
replica.db.exec(`ANALYZE`);

// MAX_ROWS overrides the hydration row budget (ZERO_QUERY_MAX_HYDRATION_ROWS).
const maxHydrationRows = process.env.MAX_ROWS ? Number(process.env.MAX_ROWS) : undefined;
const open = () =>
  new EngineQueryDriver(batcher => new Snapshotter(file, {batcher}), {maxHydrationRows});

/** Exists chains issue→comment→issue… as deep as allowed, OR-ed until the node budget. */
function worstAllowedQuery(b = DEFAULT_QUERY_BUDGET): AST {
  const chain = (table: 'issue' | 'comment', depth: number, seed: number): AST => {
    if (depth === 0) return {kind: 'query', table};
    const related: CorrelatedSubquery =
      table === 'issue'
        ? {
            kind: 'correlated',
            correlation: {parentField: ['id'], childField: ['issue_id']},
            subquery: chain('comment', depth - 1, seed),
          }
        : {
            kind: 'correlated',
            correlation: {parentField: ['issue_id'], childField: ['id']},
            subquery: chain('issue', depth - 1, seed),
          };
    const where: Condition = {
      kind: 'and',
      conditions: [
        {kind: 'exists', op: 'EXISTS', related},
        {
          kind: 'simple',
          op: '!=',
          left: {kind: 'column', name: 'n'},
          right: {kind: 'literal', value: -1 - seed},
        },
      ],
    };
    return {kind: 'query', table, where};
  };
  const branches: Condition[] = [];
  for (let seed = 0; ; seed++) {
    const next: AST = {
      kind: 'query',
      table: 'issue',
      where: {kind: 'or', conditions: [...branches, chain('issue', b.maxQueryDepth, seed).where!]},
    };
    if (checkQueryBudget(next, b)) break;
    branches.push(chain('issue', b.maxQueryDepth, seed).where!);
  }
  return {kind: 'query', table: 'issue', where: {kind: 'or', conditions: branches}};
}

const victims = Array.from({length: VICTIMS}, (_, v) => {
  const d = open();
  const ast: AST = {
    kind: 'query',
    table: 'issue',
    where: {
      kind: 'simple',
      op: '=',
      left: {kind: 'column', name: 'owner'},
      right: {kind: 'literal', value: `u${v}`},
    },
    orderBy: [['id', 'asc']],
  };
  return {d, ast};
});
for (const v of victims) await v.d.addQuery('q', v.ast);

function p(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? 0;
}

/** Writes every 10 ms for PHASE_MS; each victim advances on its own turn, as groups do. */
async function phase(name: string, hostile: boolean): Promise<void> {
  const latencies: number[] = [];
  const hist = monitorEventLoopDelay({resolution: 1});
  let running = true;
  let hydrations = 0;
  let refused = 0;
  let refusal = '';
  let longestHydration = 0;
  const worst = worstAllowedQuery();
  const attacker = hostile
    ? (async () => {
        const d = open();
        while (running) {
          const t0 = performance.now();
          try {
            await d.addQuery('worst', worst);
            hydrations++;
          } catch (e) {
            refused++;
            refusal = e instanceof Error ? e.message : String(e);
          }
          longestHydration = Math.max(longestHydration, performance.now() - t0);
          d.removeQuery('worst');
          await new Promise(r => setImmediate(r));
        }
        d.destroy();
      })()
    : Promise.resolve();
  hist.enable();
  const end = performance.now() + PHASE_MS;
  let k = 0;
  while (performance.now() < end) {
    const id = `i${(k++ * 31) % ISSUES}`;
    replica.apply([
      {
        table: 'issue',
        change: {
          type: 'edit',
          oldRow: {id},
          row: {id, owner: `u${k % 50}`, n: k},
        },
      },
    ]);
    const wrote = performance.now();
    for (const v of victims) {
      setImmediate(() => {
        void Promise.resolve(v.d.advance()).then(() => latencies.push(performance.now() - wrote));
      });
    }
    await sleep(10);
  }
  running = false;
  await attacker;
  hist.disable();
  console.log(
    `${name.padEnd(28)} write-to-view p50 ${p(latencies, 0.5).toFixed(1)} ms, p99 ${p(latencies, 0.99).toFixed(1)} ms; ` +
      `longest event-loop stall ${(hist.max / 1e6).toFixed(1)} ms` +
      (hostile
        ? `; worst query: ${hydrations} hydrations, ${refused} refused, longest ${longestHydration.toFixed(1)} ms`
        : ''),
  );
  if (refusal) console.log(`  refused with: ${refusal}`);
}

if (process.env.PROBE) {
  for (const depth of [1, 2, 3, 4, 5, 6]) {
    const d = open();
    const t0 = performance.now();
    const rows = [
      ...(await d.addQuery(
        'x',
        worstAllowedQuery({
          ...DEFAULT_QUERY_BUDGET,
          maxQueryDepth: depth,
          maxQueryNodes: 4 * depth + 6,
        }),
      )),
    ].length;
    console.log(`depth ${depth}: ${(performance.now() - t0).toFixed(1)} ms, ${rows} rows`);
    d.destroy();
  }
  process.exit(0);
}
const worst = worstAllowedQuery();
console.log(
  `worst allowed query: depth ${DEFAULT_QUERY_BUDGET.maxQueryDepth}, ` +
    `${worst.where?.kind === 'or' ? worst.where.conditions.length : 0} OR-ed exists chains ` +
    `(node budget ${DEFAULT_QUERY_BUDGET.maxQueryNodes}); ${ISSUES} issues, ${COMMENTS} comments, ${VICTIMS} victim groups`,
);
await phase('victims alone', false);
await phase('victims + hostile client', true);
for (const v of victims) v.d.destroy();
rmSync(dir, {recursive: true, force: true});
