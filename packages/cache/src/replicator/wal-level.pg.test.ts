// A cluster without wal_level=logical: start-up stops with an explanation of the fix.
import {expect, test} from 'vitest';
import {startEmbeddedPostgres} from '../../../../scripts/embedded-postgres.ts';
import {freePort} from '../../../../test/free-port.ts';
import {ReplicatorError} from './replicator-error.ts';
import {Replicator} from './replicator.ts';
import {captureLogger, tempReplicaFile} from '../../test/replicator-helpers.ts';

test('wal_level other than logical is refused with the fix', async () => {
  const server = await startEmbeddedPostgres({
    port: await freePort(),
    flags: ['-c', 'wal_level=replica', '-c', 'listen_addresses=127.0.0.1'],
  });
  try {
    const r = new Replicator({
      upstreamUrl: server.url(),
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
  }
});
