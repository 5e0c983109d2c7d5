// zero-cache's start-up as a real process (through the bin): a taken port, a failing
// service, and running without permissions in production and in development.
import {existsSync} from 'node:fs';
import {createServer} from 'node:net';
import type {AddressInfo, Server} from 'node:net';
import {afterAll, expect, test} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {killAll, serves, startBin, startOnFreePort} from '../../../../test/zero-cache-process.ts';
import {pgClient, tempReplicaFile, uniqueAppId} from '../../test/replicator-helpers.ts';

afterAll(killAll);

async function upstreamWithRows(): Promise<string> {
  const url = await createTestDatabase('startup');
  const c = await pgClient(url);
  await c.query(`CREATE TABLE item (id int PRIMARY KEY, label text NOT NULL)`);
  await c.query(`INSERT INTO item SELECT i, 'x' FROM generate_series(1, 1000) i`);
  await c.end();
  return url;
}

async function slotExists(url: string, appId: string): Promise<boolean> {
  const c = await pgClient(url);
  try {
    const {rowCount} = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
      `zync_${appId}_slot`,
    ]);
    return (rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

/** Holds a port the OS picks (no other process can hold it meanwhile). */
function holdAPort(): Promise<{server: Server; port: number}> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({server, port: (server.address() as AddressInfo).port}),
    );
  });
}

test('a taken port: exits at once, before any initial copy, with one line naming ZERO_PORT', async () => {
  const url = await upstreamWithRows();
  const {server: holder, port} = await holdAPort();
  try {
    const replicaFile = tempReplicaFile();
    const appId = uniqueAppId();
    const run = startBin({
      ZERO_UPSTREAM_DB: url,
      ZERO_REPLICA_FILE: replicaFile,
      ZERO_APP_ID: appId,
      ZERO_HOST: '127.0.0.1',
      ZERO_PORT: String(port),
      ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS: 'true',
    });
    const code = await run.exit;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = run.stderr().trimEnd().split('\n');
    const about = lines.filter(l => l.includes('ZERO_PORT'));
    expect(about).toEqual([
      `zero-cache: cannot listen on port ${port} on 127.0.0.1: the port is already in use by ` +
        'another process; set ZERO_PORT to a free port or stop the other process',
    ]);
    expect(run.stderr()).not.toMatch(/^\s+at /m);
    expect(run.stderr()).not.toMatch(/EADDRINUSE|initial copy|copied table/);
    // nothing was replicated: no replica file, no slot
    expect(existsSync(replicaFile)).toBe(false);
    expect(await slotExists(url, appId)).toBe(false);
  } finally {
    await new Promise(r => holder.close(r));
  }
});

test('a service that fails stops every other service and the process exits non-zero', async () => {
  const url = await upstreamWithRows();
  const {run} = await startOnFreePort(
    {
      ZERO_UPSTREAM_DB: url,
      // the sync server cannot create its CVR tables: nothing listens on port 1
      ZERO_CVR_DB: 'postgres://cvr:n0t-shown@127.0.0.1:1/cvr',
      ZERO_REPLICA_FILE: tempReplicaFile(),
      ZERO_APP_ID: uniqueAppId(),
      ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS: 'true',
    },
    r => r.closed(),
  );
  // The replicator was running; it is stopped too, or the process would not exit.
  expect(await run.exit).toBe(1);
  expect(run.stderr()).toContain('zero-cache failed');
  expect(run.stderr()).not.toContain('n0t-shown');
});

test('NODE_ENV=production without permissions refuses to start and says how to fix it', async () => {
  const url = await upstreamWithRows();
  const replicaFile = tempReplicaFile();
  const {run} = await startOnFreePort(
    {
      NODE_ENV: 'production',
      ZERO_ADMIN_PASSWORD: 'an-admin-password',
      ZERO_UPSTREAM_DB: url,
      ZERO_REPLICA_FILE: replicaFile,
      ZERO_APP_ID: uniqueAppId(),
    },
    r => r.closed(),
  );
  expect(await run.exit).toBe(2);
  expect(run.stderr().trimEnd().split('\n')).toEqual([
    'zero-cache: refusing to start with NODE_ENV=production and no permissions ' +
      '(ZERO_SCHEMA_PATH is not set): every client could read and write every row. Set ' +
      'ZERO_SCHEMA_PATH to a schema file that exports `permissions`, or set ' +
      'ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS=true to allow everything on purpose',
  ]);
  expect(existsSync(replicaFile)).toBe(false);
});

test('NODE_ENV=production with ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS=true starts, saying so', async () => {
  const url = await upstreamWithRows();
  const {run} = await startOnFreePort(
    {
      NODE_ENV: 'production',
      ZERO_ADMIN_PASSWORD: 'an-admin-password',
      ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS: 'true',
      ZERO_UPSTREAM_DB: url,
      ZERO_REPLICA_FILE: tempReplicaFile(),
      ZERO_APP_ID: uniqueAppId(),
    },
    (_run, port) => serves(port),
  );
  expect(run.stderr()).toMatch(
    /WARN +No permissions \(ZERO_SCHEMA_PATH is not set\): every client may read and write every row, as ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS=true allows/,
  );
  expect(run.stderr()).not.toContain('NO PERMISSIONS');
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
});

test('in development, no permissions prints a warning block at start, whatever the log level', async () => {
  const url = await upstreamWithRows();
  const {run} = await startOnFreePort(
    {
      ZERO_UPSTREAM_DB: url,
      ZERO_REPLICA_FILE: tempReplicaFile(),
      ZERO_APP_ID: uniqueAppId(),
      ZERO_LOG_LEVEL: 'error',
    },
    (_run, port) => serves(port),
  );
  const block = run
    .stderr()
    .split('\n')
    .filter(l => / WARN +!!/.test(l));
  expect(block.length).toBeGreaterThanOrEqual(6);
  expect(block.join('\n')).toContain('!! NO PERMISSIONS: ZERO_SCHEMA_PATH is not set.');
  expect(block.join('\n')).toContain('ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS=true');
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
});
