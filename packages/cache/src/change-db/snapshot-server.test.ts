import {statSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import type {IncomingMessage} from 'node:http';
import {connect} from 'node:net';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {afterEach, describe, expect, test} from 'vitest';
import {
  capturingLogger,
  cleanups,
  contents,
  files,
  runCleanups,
  SECRET,
  servedReplica,
  tempDir,
} from '../../test/snapshot-fixture.ts';
import {downloadSnapshot, SnapshotError} from './snapshot-client.ts';
import {startSnapshotServer} from './snapshot-server.ts';

afterEach(runCleanups);

/** A GET whose response the test reads (or leaves paused) itself. */
function get(port: number, path: string, auth?: string, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method,
      headers: auth === undefined ? {} : {authorization: auth},
    });
    req.once('response', resolve).once('error', reject).end();
  });
}

async function body(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function refused(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('snapshot server and client', () => {
  test('a download has the replica contents and version, and leaves no copy behind', async () => {
    const {dir, replica, uri, log} = await servedReplica();
    const toFile = join(dir, 'follower.db.snapshot');
    const res = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger});
    expect(res.version).toBe(replica.version);
    expect(res.version).toBe('0000000000000003');
    expect(contents(toFile)).toEqual(contents(replica.file));
    expect(contents(toFile)['issue']).toHaveLength(299);
    const {size} = statSync(toFile);
    expect(res.bytes).toBe(size);
    // Only the replica's own files and the download are left in the folder.
    expect(files(dir).filter(f => !f.startsWith('replica.db'))).toEqual(['follower.db.snapshot']);
    expect(files(dir).filter(f => f.includes('serve'))).toEqual([]);
    expect(log.lines.some(l => l.includes('Served a replica snapshot'))).toBe(true);
    expect(log.lines.some(l => l.includes('Downloaded a replica snapshot'))).toBe(true);
    expect(log.lines.join('\n')).not.toContain(SECRET);
  });

  test('a later download sees later changes', async () => {
    const {dir, replica, uri, log} = await servedReplica();
    const toFile = join(dir, 'a.snapshot');
    await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger});
    const v = replica.apply([
      {table: 'issue', change: {type: 'add', row: {id: 'new', title: 'x', priority: 1}}},
    ]);
    const res = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger});
    expect(res.version).toBe(v);
    expect(contents(toFile)).toEqual(contents(replica.file));
  });

  test('a snapshot taken while the replica is being written is one consistent version', async () => {
    const {dir, replica, uri, log} = await servedReplica({mib: 16});
    // Each transaction adds a row `w<n>` and sets row `i0`'s priority to n: in a consistent
    // copy, i0's priority is the number of `w` rows, and the version is the one of that write.
    const versions = new Map<number, string>();
    let n = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        n++;
        versions.set(
          n,
          replica.apply([
            {table: 'issue', change: {type: 'add', row: {id: `w${n}`, title: 'w', priority: n}}},
            {
              table: 'issue',
              change: {type: 'edit', oldRow: {id: 'i0'}, row: {id: 'i0', title: 't', priority: n}},
            },
          ]),
        );
        await new Promise(r => setImmediate(r));
      }
    })();
    const toFile = join(dir, 'f.db');
    const res = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger});
    writing = false;
    await writer;
    const got = contents(toFile)['issue'] as {id: string; priority: number}[];
    const writes = got.filter(r => /^w\d+$/.test(r.id)).length;
    expect(got.find(r => r.id === 'i0')!.priority).toBe(writes);
    expect(writes).toBeGreaterThan(0);
    expect(res.version).toBe(versions.get(writes));
    // Writes went on after the copy was taken.
    expect(n).toBeGreaterThan(writes);
  });

  test('concurrent downloads each get a whole snapshot', async () => {
    const {dir, replica, uri, log} = await servedReplica();
    const results = await Promise.all(
      [1, 2, 3].map(i =>
        downloadSnapshot({uri, secret: SECRET, toFile: join(dir, `f${i}.db`), lc: log.logger}),
      ),
    );
    const expected = contents(replica.file);
    for (const [i, r] of results.entries()) {
      expect(r.version).toBe(replica.version);
      expect(contents(join(dir, `f${i + 1}.db`))).toEqual(expected);
    }
    expect(files(dir).filter(f => f.includes('serve'))).toEqual([]);
  });

  test('a missing or wrong secret gets 401 and the client names the fix', async () => {
    const {dir, server, uri, log} = await servedReplica();
    for (const auth of [undefined, 'Bearer wrong', `Basic ${SECRET}`, `Bearer ${SECRET}x`, '']) {
      const res = await get(server.port, '/replica-snapshot', auth);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect((await body(res)).toString()).toBe('unauthorized\n');
    }
    const toFile = join(dir, 'x.db');
    const err = await downloadSnapshot({uri, secret: 'not-it', toFile, lc: log.logger}).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).kind).toBe('unauthorized');
    expect((err as Error).message).toContain('ZERO_ADMIN_PASSWORD differs between nodes');
    expect((err as Error).message).not.toContain('not-it');
    expect(files(dir)).not.toContain('x.db');
    expect(log.lines.join('\n')).not.toContain('not-it');
    expect(log.lines.join('\n')).not.toContain(SECRET);
  });

  test('health on /, nothing else is served', async () => {
    const {server} = await servedReplica();
    const health = await get(server.port, '/');
    expect(health.statusCode).toBe(200);
    expect((await body(health)).toString()).toBe('ok\n');
    expect((await get(server.port, '/other', `Bearer ${SECRET}`)).statusCode).toBe(404);
    expect((await get(server.port, '/replica-snapshot/x', `Bearer ${SECRET}`)).statusCode).toBe(
      404,
    );
    const post = await get(server.port, '/replica-snapshot', `Bearer ${SECRET}`, 'POST');
    expect(post.statusCode).toBe(405);
  });

  test('a replica that does not exist yet, or has no state yet, gets 503 (not-ready)', async () => {
    const dir = tempDir();
    const log = capturingLogger();
    const replicaFile = join(dir, 'replica.db');
    const server = await startSnapshotServer({
      replicaFile,
      secret: SECRET,
      host: '127.0.0.1',
      port: 0,
      lc: log.logger,
    });
    cleanups.push(() => server.close());
    const uri = `http://127.0.0.1:${server.port}`;
    const toFile = join(dir, 'f.db');
    const missing = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger}).catch(
      (e: unknown) => e,
    );
    expect((missing as SnapshotError).kind).toBe('not-ready');
    new Database(replicaFile).exec('CREATE TABLE t (a)');
    const empty = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger}).catch(
      (e: unknown) => e,
    );
    expect((empty as SnapshotError).kind).toBe('not-ready');
    expect(files(dir)).toEqual(['replica.db']);
  });

  test('at most maxConcurrent copies: the next request gets 503 until one ends', async () => {
    const {dir, server, uri, log} = await servedReplica({maxConcurrent: 1, mib: 32});
    const held = await get(server.port, '/replica-snapshot', `Bearer ${SECRET}`);
    expect(held.statusCode).toBe(200);
    const toFile = join(dir, 'f.db');
    const busy = await downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger}).catch(
      (e: unknown) => e,
    );
    expect((busy as SnapshotError).kind).toBe('not-ready');
    await body(held);
    await expect.poll(() => files(dir).filter(f => f.includes('serve'))).toEqual([]);
    await expect(
      downloadSnapshot({uri, secret: SECRET, toFile, lc: log.logger}),
    ).resolves.toMatchObject({version: '0000000000000003'});
  });

  test('close cuts a transfer in progress, removes its copy and stops listening', async () => {
    const {dir, server} = await servedReplica({mib: 32});
    const held = await get(server.port, '/replica-snapshot', `Bearer ${SECRET}`);
    expect(held.statusCode).toBe(200);
    expect(files(dir).filter(f => f.includes('serve'))).toHaveLength(1);
    let cut: unknown;
    held.on('error', e => (cut = e));
    await server.close();
    // The client reads what its socket buffered, then sees the body end short.
    held.resume();
    await new Promise(r => held.once('close', r));
    expect(String(cut)).toMatch(/aborted/);
    expect(held.complete).toBe(false);
    expect(files(dir).filter(f => f.includes('serve'))).toEqual([]);
    expect(await refused(server.port)).toBe(true);
    await server.close(); // A second close is a no-op.
  });

  test('close with idle keep-alive connections returns', async () => {
    const {server} = await servedReplica();
    const agent = new http.Agent({keepAlive: true});
    const res = await new Promise<IncomingMessage>(resolve =>
      http.get({host: '127.0.0.1', port: server.port, path: '/', agent}, resolve),
    );
    await body(res);
    await server.close();
    agent.destroy();
    expect(await refused(server.port)).toBe(true);
  });

  test('a client that goes away mid-transfer leaves no copy behind', async () => {
    // Larger than what the sockets buffer, so that the transfer cannot end before the client
    // goes away.
    const {dir, server, log} = await servedReplica({mib: 32});
    const held = await get(server.port, '/replica-snapshot', `Bearer ${SECRET}`);
    held.destroy();
    await expect.poll(() => files(dir).filter(f => f.includes('serve'))).toEqual([]);
    await expect.poll(() => log.lines.some(l => l.includes('ended early'))).toBe(true);
  });

  test('copies left by a crashed server are removed at start', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'replica.db.snapshot-serve-abc123'), 'left over');
    writeFileSync(join(dir, 'other.db.snapshot-serve-abc123'), 'not ours');
    const server = await startSnapshotServer({
      replicaFile: join(dir, 'replica.db'),
      secret: SECRET,
      host: '127.0.0.1',
      port: 0,
      lc: capturingLogger().logger,
    });
    cleanups.push(() => server.close());
    expect(files(dir)).toEqual(['other.db.snapshot-serve-abc123']);
  });

  test('options are validated', async () => {
    const base = {replicaFile: 'r.db', secret: 's', host: '127.0.0.1', port: 0};
    const lc = capturingLogger().logger;
    await expect(startSnapshotServer({...base, lc, secret: ''})).rejects.toThrow(
      /ZERO_ADMIN_PASSWORD/,
    );
    await expect(startSnapshotServer({...base, lc, port: 70000})).rejects.toThrow(/port/);
    await expect(startSnapshotServer({...base, lc, replicaFile: ''})).rejects.toThrow(
      /replicaFile/,
    );
    await expect(startSnapshotServer({...base, lc, maxConcurrent: 0})).rejects.toThrow(
      /maxConcurrent/,
    );
  });
});
