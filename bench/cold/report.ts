// The cold benchmark's figures: a table for the console and docs, the JSON in
// bench/results/cold.json, and a timeline chart of the phases (SVG).
import type {Figure} from '../e2e/stats.ts';
import {figure, fmt, show} from '../e2e/stats.ts';
import type {Run} from './runners.ts';
import {PHASES} from './timed-socket.ts';

export type Scenario = {
  name: string;
  rows: number;
  phases: Record<(typeof PHASES)[number], Figure>;
  wallMs: Figure;
  /** Node clients: the process's CPU time until the view was complete. */
  cpuMs?: Figure | undefined;
  /** Node clients on Linux: the main thread's CPU time until then. */
  mainCpuMs?: Figure | undefined;
  parts: number;
  /** The target for `complete`, if any. */
  target?: number | undefined;
};

export function summarize(name: string, rows: number, runs: readonly Run[], target?: number) {
  const phases = {} as Scenario['phases'];
  for (const p of PHASES) phases[p] = figure(runs.map(r => r.phases[p]));
  const s: Scenario = {
    name,
    rows,
    phases,
    wallMs: figure(runs.map(r => r.wallMs)),
    cpuMs: runs.every(r => r.phases.cpuMs !== undefined)
      ? figure(runs.map(r => r.phases.cpuMs!))
      : undefined,
    mainCpuMs: runs.every(r => r.phases.mainCpuMs !== undefined)
      ? figure(runs.map(r => r.phases.mainCpuMs!))
      : undefined,
    parts: runs[0]?.phases.parts ?? 0,
    target,
  };
  return s;
}

const LABELS: Record<(typeof PHASES)[number], string> = {
  loaded: 'code loaded',
  created: 'Zero created',
  open: 'socket open',
  firstPart: 'first part',
  lastPart: 'last part',
  poke: 'poke',
  applied: 'applied',
  complete: 'view complete',
};

/** A markdown table: one row per scenario, medians of each phase, complete with min–max. */
export function table(scenarios: readonly Scenario[]): string {
  const head = [
    'scenario',
    'rows',
    ...PHASES.map(p => LABELS[p]),
    'client CPU',
    'main thread CPU',
    'target',
  ];
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i < 2 ? '---' : '--:')).join(' | ')} |`,
  ];
  for (const s of scenarios) {
    const cells = PHASES.map(p =>
      p === 'complete' ? show(s.phases[p], 'ms') : fmt(s.phases[p].median),
    );
    const target = s.target === undefined ? '–' : `≤ ${fmt(s.target)} ms`;
    const cpu = s.cpuMs ? fmt(s.cpuMs.median) : '–';
    const main = s.mainCpuMs ? fmt(s.mainCpuMs.median) : '–';
    const row = [s.name, s.rows.toLocaleString('en'), ...cells, cpu, main, target];
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}

const SEG_COLORS = ['#bbbbbb', '#9aa7b8', '#3b6fb6', '#7fa7dd', '#d9822b', '#4a9a5b', '#a14a9a'];

/**
 * Horizontal timeline per scenario: consecutive segments between the medians of the
 * phases, from t0 (process start or navigation) to the view being complete.
 */
export function phaseChart(title: string, scenarios: readonly Scenario[]): string {
  const W = 760;
  const left = 200;
  const right = 30;
  const rowH = 26;
  const top = 40;
  const H = top + scenarios.length * rowH + 70;
  const max = Math.max(...scenarios.map(s => s.phases.complete.max));
  const step = [50, 100, 200, 250, 500, 1000, 2000].find(v => max / v <= 8) ?? 5000;
  const xMax = Math.ceil(max / step) * step;
  const x = (v: number) => left + ((W - left - right) * v) / xMax;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${title}</text>`,
  ];
  const bottom = top + scenarios.length * rowH;
  for (let v = 0; v <= xMax; v += step) {
    out.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${top - 4}" y2="${bottom}" stroke="#e4e4e4"/>`,
      `<text x="${x(v)}" y="${bottom + 14}" text-anchor="middle">${fmt(v)}</text>`,
    );
  }
  out.push(
    `<text x="${(left + W - right) / 2}" y="${bottom + 30}" text-anchor="middle">ms from process start / navigation (medians; whisker: min–max of view complete)</text>`,
  );
  scenarios.forEach((s, i) => {
    const y = top + i * rowH;
    out.push(
      `<text x="${left - 6}" y="${y + 15}" text-anchor="end">${s.name}, ${s.rows / 1000}k</text>`,
    );
    let prev = 0;
    PHASES.forEach((p, k) => {
      if (k === 0) return;
      const at = Math.max(prev, s.phases[p].median);
      out.push(
        `<rect x="${x(prev)}" y="${y + 4}" width="${Math.max(0, x(at) - x(prev))}" height="${rowH - 8}" fill="${SEG_COLORS[k - 1]}"/>`,
      );
      prev = at;
    });
    const c = s.phases.complete;
    out.push(
      `<line x1="${x(c.min)}" x2="${x(c.max)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#222"/>`,
      `<text x="${x(c.max) + 4}" y="${y + 15}" font-size="10">${fmt(c.median)}</text>`,
    );
    if (s.target !== undefined) {
      out.push(
        `<line x1="${x(s.target)}" x2="${x(s.target)}" y1="${y + 1}" y2="${y + rowH - 1}" stroke="#c0392b" stroke-dasharray="3 2"/>`,
      );
    }
  });
  PHASES.slice(1).forEach((p, k) => {
    const lx = 20 + k * 104;
    out.push(
      `<rect x="${lx}" y="${H - 22}" width="10" height="10" fill="${SEG_COLORS[k]}"/>`,
      `<text x="${lx + 14}" y="${H - 13}">…${LABELS[p]}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Phases as a compact line for the console. */
export function line(s: Scenario): string {
  const parts = PHASES.map(p => `${p} ${fmt(s.phases[p].median)}`).join(', ');
  const cpu =
    (s.cpuMs ? `; client CPU ${show(s.cpuMs, 'ms')}` : '') +
    (s.mainCpuMs ? `, main thread ${show(s.mainCpuMs, 'ms')}` : '');
  return `${s.name} ${s.rows.toLocaleString('en')} rows: complete ${show(s.phases.complete, 'ms')} [${parts}; ${s.parts} parts]; parent saw ${show(s.wallMs, 'ms')}${cpu}`;
}
