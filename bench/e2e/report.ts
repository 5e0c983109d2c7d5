// Turns the results into bench/results/e2e.json, a markdown summary with the targets, and
// the SVG charts that docs/performance.md embeds.
import {mkdirSync, readFileSync, writeFileSync, existsSync} from 'node:fs';
import {join} from 'node:path';
import type {FanOut, InitialSync, Mutations, SweepPoint, WriteLatency} from './scenarios.ts';
import type {Figure} from './stats.ts';
import {fmt, show} from './stats.ts';
import {barChart, lineChart} from './svg.ts';

export type Results = {
  meta?: Record<string, string | number>;
  copy?: {rows: number; copyRowsPerSec: Figure; endToEndRowsPerSec: Figure};
  initialSync?: InitialSync;
  writeLatency?: WriteLatency;
  fanOut?: FanOut;
  mutations?: Mutations;
  memory?: {
    idleMiB: Figure;
    after100kMiB?: Figure;
    with50MiB?: Figure;
    afterChurnMiB?: Figure;
    afterChurn5sMiB?: Figure;
    churnBaseMiB?: Figure;
    churnRows?: number;
  };
  sweep?: SweepPoint[];
  coldStart?: {ms: Figure};
};

/** Results of scenarios that did not run this time are kept from the previous file. */
export function merge(file: string, fresh: Results): Results {
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : {};
  const memory = fresh.memory ? {...old.memory, ...fresh.memory} : old.memory;
  return {...old, ...fresh, ...(memory ? {memory} : {})};
}

/** Zero 1.9 on this machine class (from the brief), for the charts. */
const ZERO_SYNC_MS: Record<number, number> = {10_000: 824, 100_000: 4320};
const SYNC_TARGET_MS: Record<number, number> = {10_000: 150, 100_000: 800};

function point(v: number): Figure {
  return {median: v, min: v, max: v, runs: [v]};
}

type Target = {what: string; f: Figure | undefined; unit: string; op: '<=' | '>='; limit: number};

function targets(r: Results): Target[] {
  const s = (rows: number) => r.initialSync?.find(x => x.rows === rows)?.ms;
  const idle = (r.memory?.churnBaseMiB ?? r.memory?.idleMiB)?.median ?? 0;
  return [
    {what: 'initial sync 10k rows', f: s(10_000), unit: 'ms', op: '<=', limit: 150},
    {what: 'initial sync 100k rows', f: s(100_000), unit: 'ms', op: '<=', limit: 800},
    {what: 'write latency p50', f: r.writeLatency?.p50, unit: 'ms', op: '<=', limit: 4},
    {what: 'write latency p90', f: r.writeLatency?.p90, unit: 'ms', op: '<=', limit: 8},
    {what: 'fan-out 50 x 1k complete', f: r.fanOut?.syncMs, unit: 'ms', op: '<=', limit: 800},
    {
      what: 'fan-out write visible to all 50',
      f: r.fanOut?.writeAllMs,
      unit: 'ms',
      op: '<=',
      limit: 10,
    },
    {what: 'server RSS with 50 clients', f: r.fanOut?.rssMiB, unit: 'MiB', op: '<=', limit: 350},
    {
      what: 'CRUD mutation round trip p50',
      f: r.mutations?.crudP50,
      unit: 'ms',
      op: '<=',
      limit: 10,
    },
    {
      what: 'custom mutation round trip p50',
      f: r.mutations?.customP50,
      unit: 'ms',
      op: '<=',
      limit: 10,
    },
    {what: 'local mutation -> view p50', f: r.mutations?.localP50, unit: 'ms', op: '<=', limit: 1},
    {
      what: 'sustained CRUD, 10 clients',
      f: r.mutations?.throughputPerSec,
      unit: 'mut/s',
      op: '>=',
      limit: 2000,
    },
    {what: 'server RSS idle', f: r.memory?.idleMiB, unit: 'MiB', op: '<=', limit: 120},
    {
      what: 'server RSS after a 100k sync',
      f: r.memory?.after100kMiB,
      unit: 'MiB',
      op: '<=',
      limit: 350,
    },
    {
      what: 'server RSS 40 s after 7 x 100k clients left (idle + 10%)',
      f: r.memory?.afterChurnMiB,
      unit: 'MiB',
      op: '<=',
      limit: idle * 1.1,
    },
    {what: 'cold start with a replica', f: r.coldStart?.ms, unit: 'ms', op: '<=', limit: 1000},
    {
      what: 'initial copy rate (COPY into SQLite)',
      f: r.copy?.copyRowsPerSec,
      unit: 'rows/s',
      op: '>=',
      limit: 300_000,
    },
  ];
}

export function summary(r: Results): string {
  const lines = ['| scenario | median (min–max) | target | met |', '| --- | --- | --- | --- |'];
  for (const t of targets(r)) {
    if (!t.f) continue;
    const met = t.op === '<=' ? t.f.median <= t.limit : t.f.median >= t.limit;
    lines.push(
      `| ${t.what} | ${show(t.f, t.unit)} | ${t.op} ${fmt(t.limit)} | ${met ? 'yes' : '**no**'} |`,
    );
  }
  if (r.sweep) {
    lines.push(
      '',
      '| clients | all complete | idle CPU (% core) | server RSS | RSS per client | write visible to all | server CPU per write |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const p of r.sweep) {
      lines.push(
        `| ${p.clients} | ${show(p.connectMs, 'ms')} | ${show(p.idleCpuPct, '%')} | ${show(p.rssMiB, 'MiB')} | ${show(p.rssPerClientKiB, 'KiB')} | ${show(p.writeAllMs, 'ms')} | ${show(p.writeCpuMsPerWrite, 'ms')} |`,
      );
    }
  }
  return lines.join('\n');
}

export function writeReport(dir: string, svgDir: string, r: Results): void {
  mkdirSync(dir, {recursive: true});
  mkdirSync(svgDir, {recursive: true});
  writeFileSync(join(dir, 'e2e.json'), `${JSON.stringify(r, null, 2)}\n`);
  const meta = Object.entries(r.meta ?? {})
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
  writeFileSync(
    join(dir, 'e2e.md'),
    `# End-to-end benchmark results\n\nGenerated by \`npm run bench -- e2e\`. Figures: median (min–max) over runs.\n\n${meta}\n\n${summary(r)}\n`,
  );
  const svg = (name: string, body: string) => writeFileSync(join(svgDir, name), `${body}\n`);
  if (r.initialSync) {
    svg(
      'initial-sync.svg',
      barChart(
        'Initial sync: new client until the all-rows query is complete',
        'ms',
        r.initialSync.map(x => {
          const zero = ZERO_SYNC_MS[x.rows];
          const target = SYNC_TARGET_MS[x.rows];
          return {
            label: `${x.rows.toLocaleString('en')} rows`,
            values: [
              {series: 'zync', f: x.ms},
              ...(zero === undefined ? [] : [{series: 'Zero 1.9 (reference)', f: point(zero)}]),
            ],
            ...(target === undefined ? {} : {target}),
          };
        }),
      ),
    );
  }
  const lat: {label: string; values: {series: string; f: Figure}[]; target?: number}[] = [];
  if (r.writeLatency) {
    lat.push(
      {
        label: 'write p50',
        values: [
          {series: 'zync', f: r.writeLatency.p50},
          {series: 'Zero 1.9 (reference)', f: point(13.3)},
        ],
        target: 4,
      },
      {
        label: 'write p90',
        values: [
          {series: 'zync', f: r.writeLatency.p90},
          {series: 'Zero 1.9 (reference)', f: point(17.5)},
        ],
        target: 8,
      },
      {label: 'write p99', values: [{series: 'zync', f: r.writeLatency.p99}]},
    );
  }
  if (r.mutations) {
    lat.push(
      {label: 'CRUD mutation', values: [{series: 'zync', f: r.mutations.crudP50}], target: 10},
      {
        label: 'custom mutation',
        values: [
          {series: 'zync', f: r.mutations.customP50},
          {series: 'Zero 1.9 (reference)', f: point(7.65)},
        ],
        target: 10,
      },
      {label: 'local mutation', values: [{series: 'zync', f: r.mutations.localP50}], target: 1},
    );
  }
  if (r.fanOut) {
    lat.push({
      label: 'write to 50',
      values: [{series: 'zync', f: r.fanOut.writeAllMs}],
      target: 10,
    });
  }
  if (lat.length)
    svg('latency.svg', barChart('Latencies (median of runs, whiskers min–max)', 'ms', lat));
  const mem = r.memory;
  if (mem) {
    const groups: {label: string; f: Figure | undefined; target?: number}[] = [
      {label: 'idle', f: mem.idleMiB, target: 120},
      {label: 'after 100k sync', f: mem.after100kMiB, target: 350},
      {label: '50 clients', f: mem.with50MiB, target: 350},
      {label: '7 x 100k, +5 s', f: mem.afterChurn5sMiB},
      {
        label: '7 x 100k, +40 s',
        f: mem.afterChurnMiB,
        target: (mem.churnBaseMiB ?? mem.idleMiB).median * 1.1,
      },
    ];
    svg(
      'memory.svg',
      barChart(
        'zero-cache RSS',
        'MiB',
        groups.flatMap(g =>
          g.f
            ? [
                {
                  label: g.label,
                  values: [{series: 'RSS', f: g.f}],
                  ...(g.target === undefined ? {} : {target: g.target}),
                },
              ]
            : [],
        ),
      ),
    );
  }
  if (r.sweep) {
    const pts = (k: keyof SweepPoint) => r.sweep!.map(p => ({x: p.clients, f: p[k] as Figure}));
    svg(
      'sweep-latency.svg',
      lineChart('Write visible to all clients vs clients', 'ms', 'connected clients', [
        {series: 'commit -> all views', points: pts('writeAllMs')},
      ]),
    );
    svg(
      'sweep-resources.svg',
      lineChart('zero-cache resources vs clients', 'MiB / % of a core', 'connected clients', [
        {series: 'RSS (MiB)', points: pts('rssMiB')},
        {series: 'idle CPU (% of a core)', points: pts('idleCpuPct')},
      ]),
    );
  }
}
