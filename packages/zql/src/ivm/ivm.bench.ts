// IVM micro-benchmarks. Run: npm run bench -- ivm
import type {AST} from '@zync/protocol';
import {Batcher} from './batcher.ts';
import {buildPipeline, buildRowSet, materialize} from './build-pipeline.ts';
import type {Row} from './data.ts';
import {MemorySource} from './memory-source.ts';
import type {Change} from './operator.ts';

let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const randInt = (n: number) => Math.floor(rand() * n);

function report(name: string, count: number, ms: number, unit: string): void {
  console.log(
    `${name.padEnd(62)} ${String(Math.round((count / ms) * 1000)).padStart(9)} ${unit}/s  (${count} in ${ms.toFixed(0)} ms)`,
  );
}

// (a) 10k issues + 30k comments, related('comments'), limit(100) by a non-PK column.
function benchA(): void {
  const batcher = new Batcher();
  const issues: Row[] = [];
  const comments: Row[] = [];
  for (let i = 0; i < 10_000; i++) {
    issues.push({id: i, title: `issue ${i}`, modified: randInt(1_000_000), ownerId: randInt(100)});
    for (let c = 0; c < 3; c++) {
      comments.push({id: i * 3 + c, issueId: i, body: `comment ${c}`, created: randInt(1_000_000)});
    }
  }
  const issueSource = new MemorySource('issue', ['id'], issues, {batcher});
  const commentSource = new MemorySource('comment', ['id'], comments, {batcher});
  const ast: AST = {
    kind: 'query',
    table: 'issue',
    orderBy: [['modified', 'desc']],
    limit: 100,
    related: [
      {
        kind: 'correlated',
        correlation: {parentField: ['id'], childField: ['issueId']},
        subquery: {
          kind: 'query',
          table: 'comment',
          alias: 'comments',
          orderBy: [['created', 'asc']],
        },
      },
    ],
  };
  const sources: Record<string, MemorySource> = {issue: issueSource, comment: commentSource};
  const view = materialize(ast, {getSource: n => sources[n]}, {batcher});
  let notified = 0;
  view.addListener(() => notified++);
  const cur = {issues: [...issues], comments: [...comments]};
  const N = 10_000;
  const round = (base: number) => {
    for (let k = base; k < base + N; k++) {
      if (k % 2 === 0) {
        const i = randInt(cur.issues.length);
        const old = cur.issues[i] as Row;
        // Half the issue edits move the row (modified), half only retitle it.
        const row = k % 4 === 0 ? {...old, modified: randInt(1_000_000)} : {...old, title: `t${k}`};
        cur.issues[i] = row;
        issueSource.edit(old, row);
      } else {
        // Bias comment edits towards issues in the window so that some reach the view.
        const inWindow = k % 10 === 1 && Array.isArray(view.data) && view.data.length > 0;
        const i = inWindow
          ? (((view.data as readonly Row[])[randInt(100)]?.id as number) ?? 0) * 3
          : randInt(cur.comments.length);
        const old = cur.comments[i] as Row;
        const row = {...old, body: `b${k}`};
        cur.comments[i] = row;
        commentSource.edit(old, row);
      }
    }
  };
  // One warm-up round (JIT), then three measured rounds of 10k edits each.
  round(0);
  const times: number[] = [];
  for (let r = 1; r <= 3; r++) {
    const t0 = performance.now();
    round(r * N);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  report(
    '(a) 10k issues+30k comments, related+limit(100): edits (median)',
    N,
    times[1] as number,
    'changes',
  );
  report('(a) same, best of 3', N, times[0] as number, 'changes');
  console.log(`    view notified ${notified} times`);
  view.destroy();
}

// (b) limit() maintenance with the window boundary 100k rows deep.
function benchB(): void {
  const rows: Row[] = [];
  for (let i = 0; i < 200_000; i++) rows.push({id: i, rank: randInt(10_000_000)});
  const source = new MemorySource('t', ['id'], rows);
  const ast: AST = {kind: 'query', table: 't', orderBy: [['rank', 'asc']], limit: 100_000};
  const input = buildPipeline(ast, {getSource: () => source});
  let pushed = 0;
  input.setOutput({push: (_c: Change) => void pushed++});
  let n = 0;
  for (const _ of input.fetch({})) n++;
  const cur = [...rows];
  const N = 50_000;
  const t0 = performance.now();
  for (let k = 0; k < N; k++) {
    const i = randInt(cur.length);
    const old = cur[i] as Row;
    const row = {...old, rank: randInt(10_000_000)};
    cur[i] = row;
    source.edit(old, row);
  }
  const ms = performance.now() - t0;
  report(`(b) limit(100k) over 200k rows, random rank edits (pipeline)`, N, ms, 'updates');
  console.log(`    window ${n} rows, ${pushed} changes emitted`);
  input.destroy();
}

// (b2) the same through the outputs: the server's row set, and an ArrayView (batches of 100).
function benchB2(): void {
  for (const kind of ['row set', 'ArrayView, batches of 100'] as const) {
    const rows: Row[] = [];
    for (let i = 0; i < 200_000; i++) rows.push({id: i, rank: randInt(10_000_000)});
    const batcher = new Batcher();
    const source = new MemorySource('t', ['id'], rows, {batcher});
    const ast: AST = {kind: 'query', table: 't', orderBy: [['rank', 'asc']], limit: 100_000};
    const ctx = {getSource: () => source};
    const out =
      kind === 'row set' ? buildRowSet(ast, ctx, {batcher}) : materialize(ast, ctx, {batcher});
    const cur = [...rows];
    const N = 20_000;
    const t0 = performance.now();
    for (let b = 0; b < N; b += 100) {
      batcher.run(() => {
        for (let k = b; k < b + 100; k++) {
          const i = randInt(cur.length);
          const old = cur[i] as Row;
          const row = {...old, rank: randInt(10_000_000)};
          cur[i] = row;
          source.edit(old, row);
        }
      });
    }
    const ms = performance.now() - t0;
    report(`(b2) limit(100k) over 200k rows, rank edits (${kind})`, N, ms, 'updates');
    out.destroy();
  }
}

// (c) hydration of 100k rows.
function benchC(): void {
  const rows: Row[] = [];
  for (let i = 0; i < 100_000; i++) rows.push({id: i, rank: randInt(10_000_000), title: `r${i}`});
  for (const limit of [100, undefined]) {
    const source = new MemorySource('t', ['id'], rows);
    const ast: AST = {
      kind: 'query',
      table: 't',
      orderBy: [['rank', 'desc']],
      ...(limit ? {limit} : {}),
    };
    // First hydrate builds the secondary index; measure it and a second hydrate apart.
    for (const label of ['cold (builds index)', 'warm']) {
      const t0 = performance.now();
      const view = materialize(ast, {getSource: () => source});
      const ms = performance.now() - t0;
      const len = (view.data as readonly Row[]).length;
      console.log(
        `(c) hydrate 100k, orderBy+${limit ? `limit(${limit})` : 'no limit'}, ${label}: ${ms.toFixed(1)} ms (${len} rows)`,
      );
      view.destroy();
    }
  }
}

benchA();
benchB();
benchB2();
benchC();
