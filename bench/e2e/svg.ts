// Minimal SVG charts for docs/performance.md: grouped bars with min–max whiskers and a
// target line, and line charts with whiskers. No dependencies; plain strings.
import type {Figure} from './stats.ts';
import {fmt} from './stats.ts';

const W = 640;
const H = 320;
const M = {top: 36, right: 20, bottom: 56, left: 64};
const COLORS = ['#3b6fb6', '#d9822b', '#4a9a5b', '#a14a9a', '#888888'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(title: string, unit: string, yMax: number, body: string[]): string {
  const ih = H - M.top - M.bottom;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = M.top + ih - (ih * i) / 4;
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  out.push(
    `<text x="14" y="${M.top + ih / 2}" transform="rotate(-90 14 ${M.top + ih / 2})" text-anchor="middle">${esc(unit)}</text>`,
    ...body,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ih}" stroke="#444"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ih}" y2="${M.top + ih}" stroke="#444"/>`,
    '</svg>',
  );
  return out.join('\n');
}

export type Bar = {label: string; values: {series: string; f: Figure}[]; target?: number};

/** Grouped bars (median) with min–max whiskers; a dashed red line marks each group's target. */
export function barChart(title: string, unit: string, groups: readonly Bar[]): string {
  const series = [...new Set(groups.flatMap(g => g.values.map(v => v.series)))];
  const yMax = niceMax(
    Math.max(...groups.flatMap(g => [...g.values.map(v => v.f.max), g.target ?? 0])) * 1.05,
  );
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const gw = iw / groups.length;
  const bw = Math.min(60, (gw * 0.8) / series.length);
  const y = (v: number) => M.top + ih - (ih * v) / yMax;
  const body: string[] = [];
  groups.forEach((g, gi) => {
    const x0 = M.left + gi * gw + (gw - bw * series.length) / 2;
    g.values.forEach(v => {
      const si = series.indexOf(v.series);
      const x = x0 + si * bw;
      body.push(
        `<rect x="${x + 2}" y="${y(v.f.median)}" width="${bw - 4}" height="${y(0) - y(v.f.median)}" fill="${COLORS[si % COLORS.length]}"/>`,
        `<line x1="${x + bw / 2}" x2="${x + bw / 2}" y1="${y(v.f.min)}" y2="${y(v.f.max)}" stroke="#222"/>`,
        `<line x1="${x + bw / 2 - 4}" x2="${x + bw / 2 + 4}" y1="${y(v.f.min)}" y2="${y(v.f.min)}" stroke="#222"/>`,
        `<line x1="${x + bw / 2 - 4}" x2="${x + bw / 2 + 4}" y1="${y(v.f.max)}" y2="${y(v.f.max)}" stroke="#222"/>`,
        `<text x="${x + bw / 2}" y="${y(v.f.max) - 4}" text-anchor="middle" font-size="10">${fmt(v.f.median)}</text>`,
      );
    });
    if (g.target !== undefined) {
      body.push(
        `<line x1="${M.left + gi * gw + 4}" x2="${M.left + (gi + 1) * gw - 4}" y1="${y(g.target)}" y2="${y(g.target)}" stroke="#c0392b" stroke-dasharray="5 3"/>`,
        `<text x="${M.left + (gi + 1) * gw - 4}" y="${y(g.target) - 3}" text-anchor="end" fill="#c0392b" font-size="10">target ${fmt(g.target)}</text>`,
      );
    }
    body.push(
      `<text x="${M.left + gi * gw + gw / 2}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  series.forEach((s, si) => {
    const lx = M.left + si * 150;
    body.push(
      `<rect x="${lx}" y="${H - 22}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/>`,
      `<text x="${lx + 14}" y="${H - 13}">${esc(s)}</text>`,
    );
  });
  return frame(title, unit, yMax, body);
}

export type Line = {series: string; points: {x: number; f: Figure}[]};

/** Line chart over a logarithmic x axis (client counts), medians joined, min–max whiskers. */
export function lineChart(
  title: string,
  unit: string,
  xLabel: string,
  lines: readonly Line[],
): string {
  const xs = [...new Set(lines.flatMap(l => l.points.map(p => p.x)))].sort((a, b) => a - b);
  const yMax = niceMax(Math.max(...lines.flatMap(l => l.points.map(p => p.f.max))) * 1.05);
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const lo = Math.log10(xs[0]!);
  const hi = Math.log10(xs[xs.length - 1]!);
  const x = (v: number) => M.left + 20 + ((iw - 40) * (Math.log10(v) - lo)) / (hi - lo || 1);
  const y = (v: number) => M.top + ih - (ih * v) / yMax;
  const body: string[] = [];
  for (const v of xs) {
    body.push(
      `<text x="${x(v)}" y="${H - M.bottom + 16}" text-anchor="middle">${v}</text>`,
      `<line x1="${x(v)}" x2="${x(v)}" y1="${M.top + ih}" y2="${M.top + ih + 4}" stroke="#444"/>`,
    );
  }
  body.push(
    `<text x="${M.left + iw / 2}" y="${H - M.bottom + 32}" text-anchor="middle">${esc(xLabel)}</text>`,
  );
  lines.forEach((l, li) => {
    const c = COLORS[li % COLORS.length]!;
    body.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${l.points.map(p => `${x(p.x)},${y(p.f.median)}`).join(' ')}"/>`,
    );
    for (const p of l.points) {
      body.push(
        `<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.f.min)}" y2="${y(p.f.max)}" stroke="${c}"/>`,
        `<circle cx="${x(p.x)}" cy="${y(p.f.median)}" r="3" fill="${c}"/>`,
        `<text x="${x(p.x) + 5}" y="${y(p.f.median) - 5}" font-size="10">${fmt(p.f.median)}</text>`,
      );
    }
    const lx = M.left + li * 180;
    body.push(
      `<rect x="${lx}" y="${H - 14}" width="10" height="10" fill="${c}"/>`,
      `<text x="${lx + 14}" y="${H - 5}">${esc(l.series)}</text>`,
    );
  });
  return frame(title, unit, yMax, body);
}
