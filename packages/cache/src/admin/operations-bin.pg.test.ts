// The operations settings as a real zero-cache process (the bin) sees them: production
// without an admin password, JSON log lines, and the OTLP export, whose OpenTelemetry SDK is
// loaded only when an endpoint is set (a module-resolution hook records what is loaded).
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {afterAll, expect, test, vi} from 'vitest';
import {sourceBinArgs} from '../../../../scripts/source-bin.ts';
import {freePort} from '../../../../test/free-port.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {pgClient, tempReplicaFile, uniqueAppId} from '../../test/replicator-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'zync-ops-bin-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, {recursive: true, force: true});
});

// Records every `@opentelemetry/*` module the process resolves through `import`.
writeFileSync(
  join(dir, 'probe-hooks.mjs'),
  `import {appendFileSync} from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) appendFileSync(process.env.PROBE_FILE, specifier + '\\n');
  return next(specifier, context);
}`,
);
writeFileSync(
  join(dir, 'probe.mjs'),
  `import {register} from 'node:module';
register(${JSON.stringify(pathToFileURL(join(dir, 'probe-hooks.mjs')).href)});`,
);

type Run = {child: ChildProcess; stderr: () => string; exit: Promise<number | null>};

function startBin(env: Record<string, string>): Run {
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(join(dir, 'probe.mjs')).href, ...sourceBinArgs('zero-cache')],
    {env: {PATH: process.env['PATH'] ?? '', ...env}, stdio: ['ignore', 'pipe', 'pipe']},
  );
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.resume();
  const exit = new Promise<number | null>(res => child.once('close', code => res(code)));
  return {child, stderr: () => err, exit};
}

async function upstream(): Promise<string> {
  const url = await createTestDatabase('ops_bin');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE item (id int PRIMARY KEY)`);
  await c.end();
  return url;
}

const baseEnv = async (url: string, probe: string) => ({
  ZERO_UPSTREAM_DB: url,
  ZERO_REPLICA_FILE: tempReplicaFile(),
  ZERO_APP_ID: uniqueAppId(),
  ZERO_HOST: '127.0.0.1',
  ZERO_PORT: String(await freePort()),
  ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS: 'true',
  PROBE_FILE: probe,
});

const loaded = (probe: string) => {
  try {
    return readFileSync(probe, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test('NODE_ENV=production without ZERO_ADMIN_PASSWORD: one line, exit 2, in either format', async () => {
  const url = await upstream();
  for (const format of ['text', 'json']) {
    const run = startBin({
      ...(await baseEnv(url, join(dir, `prod-${format}.txt`))),
      NODE_ENV: 'production',
      ZERO_LOG_FORMAT: format,
    });
    expect(await run.exit).toBe(2);
    const lines = run.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const message =
      'zero-cache: ZERO_ADMIN_PASSWORD is required with NODE_ENV=production: it protects ' +
      '/metrics and the admin endpoints; set it to a long random secret (see docs/operations.md)';
    if (format === 'text') expect(lines[0]).toBe(message);
    else expect(JSON.parse(lines[0]!)).toMatchObject({level: 'error', msg: message});
  }
});

test('ZERO_LOG_FORMAT=json: every line the process writes is a JSON object; no OTLP code loads', async () => {
  const url = await upstream();
  const probe = join(dir, 'json.txt');
  const env = await baseEnv(url, probe);
  const run = startBin({...env, ZERO_LOG_FORMAT: 'json', ZERO_ADMIN_PASSWORD: 'pw'});
  await vi.waitFor(() => expect(run.stderr()).toContain('"msg":"zero-cache ready"'), {
    timeout: 60_000,
    interval: 50,
  });
  const res = await fetch(`http://127.0.0.1:${env.ZERO_PORT}/metrics`, {
    headers: {authorization: 'Bearer pw'},
  });
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('zero_cache_connections 0');
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
  const lines = run.stderr().trimEnd().split('\n');
  // The warning block about running without permissions is JSON too.
  expect(lines.length).toBeGreaterThan(5);
  for (const line of lines) {
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(o).slice(0, 4)).toEqual(['time', 'level', 'msg', 'component']);
  }
  expect(lines.map(l => (JSON.parse(l) as {msg: string}).msg)).toContain('stopped');
  expect(loaded(probe).filter(s => !s.startsWith('@opentelemetry/api'))).toEqual([]);
});

test('with OTEL_EXPORTER_OTLP_ENDPOINT the process pushes its metrics to the collector', async () => {
  const bodies: string[] = [];
  const collector = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      bodies.push(`${req.url} ${b}`);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>(r => collector.listen(0, '127.0.0.1', r));
  try {
    const url = await upstream();
    const probe = join(dir, 'otlp.txt');
    const run = startBin({
      ...(await baseEnv(url, probe)),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      OTEL_METRIC_EXPORT_INTERVAL: '200',
    });
    // Stopped only once started: a stop during the initial copy is a failed start.
    await vi.waitFor(() => expect(run.stderr()).toContain('zero-cache ready'), {
      timeout: 60_000,
      interval: 50,
    });
    await vi.waitFor(
      () => expect(bodies.some(b => b.includes('"name":"zero_cache_connections"'))).toBe(true),
      {timeout: 60_000, interval: 50},
    );
    expect(bodies[0]).toMatch(/^\/v1\/metrics /);
    expect(loaded(probe)).toContain('@opentelemetry/sdk-metrics');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  } finally {
    collector.closeAllConnections();
    await new Promise(r => collector.close(r));
  }
});
