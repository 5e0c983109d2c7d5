// `?min-version=`: a follower that read a `reset` entry asks for a snapshot that includes it.
import {createServer, request} from 'node:http';
import {join} from 'node:path';
import {afterEach, expect, test, vi} from 'vitest';
import {
  files,
  listenLocal,
  runCleanups,
  SECRET,
  servedReplica,
} from '../../test/snapshot-fixture.ts';
import {downloadSnapshot, SnapshotError} from './snapshot-client.ts';

afterEach(runCleanups);

const addIssue = (id: string) => [
  {table: 'issue', change: {type: 'add' as const, row: {id, title: id, priority: 1}}},
];

test('a request for a version the replica has not reached waits, then gets a copy at it', async () => {
  const {dir, replica, uri, log} = await servedReplica();
  expect(replica.version).toBe('0000000000000003');
  const toFile = join(dir, 'f.db');
  const download = downloadSnapshot({
    uri,
    secret: SECRET,
    toFile,
    lc: log.logger,
    minVersion: '0000000000000004',
  });
  await vi.waitFor(() =>
    expect(log.lines.some(l => l.includes('Waiting for the replica to reach'))).toBe(true),
  );
  replica.apply(addIssue('late'));
  expect((await download).version).toBe('0000000000000004');
  expect(files(dir).filter(f => f.includes('snapshot-serve'))).toEqual([]);
});

test('a version already reached is served at once', async () => {
  const {dir, uri, log} = await servedReplica();
  const toFile = join(dir, 'f.db');
  const minVersion = '0000000000000002';
  const res = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger, minVersion});
  expect(res.version).toBe('0000000000000003');
  expect(log.lines.join('\n')).not.toContain('Waiting for the replica');
});

test('a version not reached in time gets 503: not ready, and no copy is left', async () => {
  const {dir, uri, log} = await servedReplica({minVersionWaitMs: 0});
  const toFile = join(dir, 'f.db');
  const minVersion = '0000000000000009';
  const err = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger, minVersion})
    .then(() => undefined)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SnapshotError);
  expect((err as SnapshotError).kind).toBe('not-ready');
  expect(files(dir).filter(f => f.includes('snapshot-serve') || f === 'f.db')).toEqual([]);
});

test('a malformed min-version is refused by the server (400) and by the client', async () => {
  const {server, dir, uri, log} = await servedReplica();
  const status = await new Promise<number | undefined>((resolve, reject) => {
    request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/replica-snapshot?min-version=not-a-version',
        headers: {authorization: `Bearer ${SECRET}`},
      },
      res => {
        res.resume();
        resolve(res.statusCode);
      },
    )
      .once('error', reject)
      .end();
  });
  expect(status).toBe(400);
  const toFile = join(dir, 'f.db');
  await expect(
    downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger, minVersion: '4'}),
  ).rejects.toThrow(/minVersion must be a replica version/);
});

test('a server that ignores min-version: the older snapshot is refused as not ready', async () => {
  const {dir, server, log} = await servedReplica();
  // An older manager: it serves the snapshot of the day whatever the query says.
  const old = createServer((req, res) => {
    const upstream = request(
      {host: '127.0.0.1', port: server.port, path: '/replica-snapshot', headers: req.headers},
      up => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.once('error', () => res.destroy()).end();
  });
  const port = await listenLocal(old);
  const toFile = join(dir, 'f.db');
  const err = await downloadSnapshot({
    uri: `http://127.0.0.1:${port}`,
    secret: SECRET,
    toFile,
    lc: log.logger,
    minVersion: '0000000000000004',
  })
    .then(() => undefined)
    .catch((e: unknown) => e);
  expect((err as SnapshotError).kind).toBe('not-ready');
  expect((err as Error).message).toContain('0000000000000003');
  expect(files(dir)).not.toContain('f.db');
});
