// The status page at /admin: one HTML document with its style and script inline (no CDN, no
// request but to this server's own admin endpoints). It shows the statz figures, a chart of
// connections and replication lag over the last hour (/admin/history), and the client
// groups; a group's queries open below the table. Everything it shows is written with
// textContent: client group IDs and query names come from clients.

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#f7f8fa}
h1{font-size:1.3rem;margin:0 0 1rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.6rem}
.fig{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.5rem .7rem}
.fig b{display:block;font-size:1.3rem;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
#replicaVersion{font-size:.95rem;font-family:ui-monospace,monospace}
.fig span{color:#5a6372;font-size:.8rem}
svg{background:#fff;border:1px solid #dde1e8;border-radius:6px;width:100%;max-width:900px}
.conn{stroke:#2f6fdf;fill:none;stroke-width:1.5}.lag{stroke:#d9822b;fill:none;stroke-width:1.5}
circle.pt-conn{fill:#2f6fdf}circle.pt-lag{fill:#d9822b}
.legend span{margin-right:1rem}.legend .c{color:#2f6fdf}.legend .l{color:#d9822b}
table{border-collapse:collapse;background:#fff;min-width:40rem}
td,th{border:1px solid #dde1e8;padding:.25rem .5rem;text-align:left;font-variant-numeric:tabular-nums}
button{font:inherit;cursor:pointer}#error{color:#b3261e}
`;

const SCRIPT = `
const $ = id => document.getElementById(id);
const fmtBytes = n => n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB' : (n / 1024).toFixed(1) + ' KiB';
const get = async path => {
  const res = await fetch(path, {credentials: 'same-origin', cache: 'no-store'});
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
};
function cell(tr, text) { const td = document.createElement('td'); td.textContent = String(text); tr.append(td); return td; }
function setFigures(s) {
  $('connections').textContent = s.connections;
  $('clientGroups').textContent = s.clientGroups;
  $('clients').textContent = s.clients;
  $('queries').textContent = s.queries;
  $('replicaVersion').textContent = s.replica.version || '(copying)';
  $('lagMs').textContent = s.replica.lastCommitLagMs === null ? '–' : s.replica.lastCommitLagMs + ' ms';
  $('lagBytes').textContent = fmtBytes(s.replica.lagBytes);
  $('rss').textContent = fmtBytes(s.memory.rssBytes);
  $('heap').textContent = fmtBytes(s.memory.heapUsedBytes);
  const body = $('groups');
  body.replaceChildren();
  for (const g of s.groups) {
    const tr = document.createElement('tr');
    cell(tr, g.clientGroupID); cell(tr, g.clients); cell(tr, g.queries); cell(tr, g.rows);
    const td = document.createElement('td');
    const show = document.createElement('button');
    show.textContent = 'queries';
    show.addEventListener('click', () => void showGroup(g.clientGroupID));
    td.append(show);
    tr.append(td);
    body.append(tr);
  }
  $('truncated').hidden = !s.groupsTruncated;
}
async function showGroup(id) {
  const d = await get('/admin/groups/' + encodeURIComponent(id));
  $('groupTitle').textContent = 'Queries of ' + d.clientGroupID;
  const body = $('queryRows');
  body.replaceChildren();
  for (const q of d.queryList) {
    const tr = document.createElement('tr');
    cell(tr, q.hash); cell(tr, q.table ?? '–'); cell(tr, q.name ?? '–'); cell(tr, q.state);
    cell(tr, q.rows); cell(tr, q.hydrationMs === null ? '–' : q.hydrationMs + ' ms');
    body.append(tr);
  }
  $('group').hidden = false;
}
const NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }
function drawChart(h) {
  const chart = $('chart');
  chart.replaceChildren();
  const W = 900, H = 220, L = 40, R = 50, T = 10, B = 24;
  const now = Date.now(), from = now - 3600000;
  const x = t => L + ((t - from) / 3600000) * (W - L - R);
  const samples = h.samples.filter(s => s.t >= from);
  const maxC = Math.max(1, ...samples.map(s => s.connections));
  const lags = samples.filter(s => s.lagMs !== null);
  const maxL = Math.max(1, ...lags.map(s => s.lagMs));
  const yC = v => H - B - (v / maxC) * (H - T - B);
  const yL = v => H - B - (v / maxL) * (H - T - B);
  chart.append(svg('line', {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999'}));
  for (const [label, t] of [['-60 min', from], ['-30 min', now - 1800000], ['now', now]]) {
    const e = svg('text', {x: x(t), y: H - 6, 'font-size': 11, 'text-anchor': 'middle', fill: '#5a6372'});
    e.textContent = label; chart.append(e);
  }
  const axis = (text, xPos, anchor, color) => { const e = svg('text', {x: xPos, y: T + 10, 'font-size': 11, 'text-anchor': anchor, fill: color}); e.textContent = text; chart.append(e); };
  axis(String(maxC), L - 4, 'end', '#2f6fdf');
  axis(maxL.toFixed(1) + ' ms', W - R + 4, 'start', '#d9822b');
  const series = (points, cls) => {
    if (points.length > 1) chart.append(svg('polyline', {class: cls, points: points.map(p => p.join(',')).join(' ')}));
    for (const [px, py] of points) chart.append(svg('circle', {class: 'pt-' + cls, cx: px, cy: py, r: 2.5}));
  };
  series(samples.map(s => [x(s.t), yC(s.connections)]), 'conn');
  series(lags.map(s => [x(s.t), yL(s.lagMs)]), 'lag');
  const every = h.intervalMs >= 1000 ? Math.round(h.intervalMs / 1000) + ' s' : h.intervalMs + ' ms';
  $('samples').textContent = samples.length + ' samples, one every ' + every;
}
async function refresh() {
  try {
    const [s, h] = await Promise.all([get('/admin/statz'), get('/admin/history')]);
    setFigures(s); drawChart(h);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('error').textContent = '';
  } catch (e) { $('error').textContent = String(e.message || e); }
}
void refresh();
setInterval(() => void refresh(), 10000);
`;

const FIGURES: readonly [string, string][] = [
  ['connections', 'connections'],
  ['clientGroups', 'client groups'],
  ['clients', 'clients'],
  ['queries', 'queries'],
  ['replicaVersion', 'replica version'],
  ['lagMs', 'last commit → replica'],
  ['lagBytes', 'replica behind upstream'],
  ['rss', 'resident memory'],
  ['heap', 'JS heap used'],
];

/** The page, its inline script and style allowed by `nonce` (Content-Security-Policy). */
export function statusPage(nonce: string): string {
  const figs = FIGURES.map(
    ([id, label]) => `<div class="fig"><b id="${id}">…</b><span>${label}</span></div>`,
  ).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zero-cache status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<h1>zero-cache status <small id="updated"></small></h1>
<p id="error" role="alert"></p>
<div class="figs">${figs}</div>
<h2>Last hour</h2>
<div class="legend"><span class="c">● connections</span><span class="l">● replication lag (largest commit → replica per sample)</span><span id="samples"></span></div>
<svg id="chart" viewBox="0 0 900 220" role="img" aria-label="connections and replication lag over the last hour"></svg>
<h2>Client groups</h2>
<table><thead><tr><th>client group</th><th>clients</th><th>queries</th><th>rows</th><th></th></tr></thead>
<tbody id="groups"></tbody></table>
<p id="truncated" hidden>Only the first groups are listed.</p>
<section id="group" hidden><h2 id="groupTitle"></h2>
<table><thead><tr><th>hash</th><th>table</th><th>name</th><th>state</th><th>rows</th><th>last hydration</th></tr></thead>
<tbody id="queryRows"></tbody></table></section>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
}
