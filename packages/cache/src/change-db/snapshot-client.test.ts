import {existsSync} from 'node:fs';
import http from 'node:http';
import type {IncomingHttpHeaders} from 'node:http';
import {join} from 'node:path';
import {afterEach, describe, expect, test} from 'vitest';
import {freePort} from '../../../../test/free-port.ts';
import {
  capturingLogger,
  cleanups,
  files,
  listenLocal,
  runCleanups,
  SECRET,
  servedReplica,
  tempDir,
} from '../../test/snapshot-fixture.ts';
import {
  downloadSnapshot,
  SnapshotError,
  snapshotUrl,
  type DownloadOptions,
} from './snapshot-client.ts';

afterEach(runCleanups);

type Tamper = (
  head: IncomingHttpHeaders,
  body: Buffer,
) => {head: IncomingHttpHeaders; body: Buffer};

/**
 * A real snapshot server behind a proxy that changes each answer with `tamper` (or, with
 * `cut`, sends the real headers and half the body, then breaks the connection).
 */
async function tamperedServer(tamper: Tamper | 'cut') {
  const {dir, replica, log, server: real} = await servedReplica({mib: tamper === 'cut' ? 2 : 0});
  const proxy = http.createServer((req, res) => {
    http.get(
      {host: '127.0.0.1', port: real.port, path: req.url, headers: req.headers},
      upstream => {
        const chunks: Buffer[] = [];
        upstream.on('data', (c: Buffer) => chunks.push(c));
        upstream.on('end', () => {
          const whole = Buffer.concat(chunks);
          if (tamper === 'cut') {
            res.writeHead(upstream.statusCode ?? 500, upstream.headers);
            res.write(whole.subarray(0, whole.length >> 1), () => res.destroy());
            return;
          }
          const {head, body} = tamper(upstream.headers, whole);
          res.writeHead(upstream.statusCode ?? 500, head).end(body);
        });
      },
    );
  });
  const port = await listenLocal(proxy);
  proxy.on('connection', s => cleanups.push(() => void s.destroy()));
  return {dir, replica, log, uri: `http://127.0.0.1:${port}`, toFile: join(dir, 'f.db')};
}

async function failure(p: Promise<unknown>): Promise<SnapshotError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SnapshotError);
  return e as SnapshotError;
}

/** The failure of a download from `uri`, into a fresh folder unless `toFile` is given. */
function failedDownload(uri: string, o: Partial<DownloadOptions> = {}): Promise<SnapshotError> {
  return failure(
    downloadSnapshot({
      uri,
      secret: SECRET,
      lc: capturingLogger().logger,
      ...o,
      toFile: o.toFile ?? join(tempDir(), 'f.db'),
    }),
  );
}

describe('snapshot client', () => {
  test('a body changed on the way fails the checksum and the file is removed', async () => {
    const s = await tamperedServer((head, body) => {
      const copy = Buffer.from(body);
      copy[copy.length >> 1] = copy[copy.length >> 1]! ^ 0xff;
      return {head, body: copy};
    });
    const e = await failedDownload(s.uri, {toFile: s.toFile, lc: s.log.logger});
    expect(e.kind).toBe('checksum');
    expect(e.message).toMatch(/does not match its sha256/);
    expect(existsSync(s.toFile)).toBe(false);
    expect(s.log.lines.join('\n')).not.toContain(SECRET);
  });

  test('a body cut short is reported as truncated', async () => {
    const s = await tamperedServer('cut');
    const e = await failedDownload(s.uri, {toFile: s.toFile, lc: s.log.logger});
    expect(e.kind).toBe('truncated');
    expect(existsSync(s.toFile)).toBe(false);
  });

  test('a body shorter than its length header is reported as truncated', async () => {
    const s = await tamperedServer((head, body) => {
      const short = body.subarray(0, body.length - 10);
      // The announced length stays; the connection closes after the short body.
      return {head: {...head, connection: 'close'}, body: short};
    });
    const e = await failedDownload(s.uri, {toFile: s.toFile, lc: s.log.logger});
    expect(e.kind).toBe('truncated');
  });

  test('a version header that is not the snapshot’s own is refused', async () => {
    const s = await tamperedServer((head, body) => ({
      head: {...head, 'x-zync-replica-version': '00000000000000ff'},
      body,
    }));
    const e = await failedDownload(s.uri, {toFile: s.toFile, lc: s.log.logger});
    expect(e.kind).toBe('invalid-replica');
    expect(existsSync(s.toFile)).toBe(false);
  });

  test('a body that is not SQLite (with a matching checksum) is refused', async () => {
    const junk = Buffer.alloc(8192, 7);
    const {createHash} = await import('node:crypto');
    const s = await tamperedServer(head => ({
      head: {
        ...head,
        'content-length': String(junk.length),
        'x-zync-sha256': createHash('sha256').update(junk).digest('hex'),
      },
      body: junk,
    }));
    const e = await failedDownload(s.uri, {toFile: s.toFile, lc: s.log.logger});
    expect(e.kind).toBe('invalid-replica');
    expect(e.message).toContain('SQLITE_NOTADB');
  });

  test('missing or malformed headers are refused before the body is written', async () => {
    for (const drop of ['x-zync-sha256', 'x-zync-replica-version']) {
      const s = await tamperedServer((head, body) => {
        const h = {...head};
        delete h[drop];
        return {head: h, body};
      });
      const e = await failedDownload(s.uri, {toFile: s.toFile, lc: s.log.logger});
      expect(e.kind).toBe('bad-response');
      expect(files(s.dir)).not.toContain('f.db');
    }
  });

  test('an unreachable server is named by host and port only', async () => {
    const port = await freePort();
    const e = await failedDownload(`http://127.0.0.1:${port}/`);
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(e.message).toContain('ZERO_CHANGE_STREAMER_URI');
  });

  test('a non-snapshot server answering 404 is reported with the fix', async () => {
    const srv = http.createServer((_req, res) => res.writeHead(404).end());
    const port = await listenLocal(srv);
    const e = await failedDownload(`http://127.0.0.1:${port}`);
    expect(e.kind).toBe('http');
    expect(e.message).toContain('404');
  });

  test('a server that never answers ends in a timeout', async () => {
    const silent = http.createServer(() => {}); // Takes the request, never answers.
    const port = await listenLocal(silent);
    const e = await failedDownload(`http://127.0.0.1:${port}`, {idleTimeoutMs: 100});
    expect(e.kind).toBe('timeout');
    expect(e.message).toContain('sent nothing for 100 ms');
  });

  test('an aborted download stops and removes the file', async () => {
    const s = await tamperedServer((head, body) => ({head, body}));
    const ac = new AbortController();
    ac.abort();
    const e = await failedDownload(s.uri, {
      toFile: s.toFile,
      lc: s.log.logger,
      signal: ac.signal,
    });
    expect(e.kind).toBe('aborted');
    expect(existsSync(s.toFile)).toBe(false);
  });

  test('the URI and the options are validated', async () => {
    expect(snapshotUrl('http://m:4849').href).toBe('http://m:4849/replica-snapshot');
    expect(snapshotUrl('http://m:4849/base/').href).toBe('http://m:4849/base/replica-snapshot');
    expect(snapshotUrl('https://m/replica-snapshot?x=1').href).toBe('https://m/replica-snapshot');
    expect(() => snapshotUrl('m:4849')).toThrow(/http: or https:/);
    expect(() => snapshotUrl('not a url')).toThrow(/not a URL/);
    expect(() => snapshotUrl('http://u:pw@m:4849')).toThrow(/must not carry credentials/);
    const lc = capturingLogger().logger;
    const base = {uri: 'http://127.0.0.1:1', toFile: 'f.db', lc};
    await expect(downloadSnapshot({...base, secret: ''})).rejects.toThrow(/ZERO_ADMIN_PASSWORD/);
    await expect(downloadSnapshot({...base, secret: 'a\nb'})).rejects.toThrow(/single line/);
    await expect(downloadSnapshot({...base, secret: 's', idleTimeoutMs: 0})).rejects.toThrow(
      /idleTimeoutMs/,
    );
  });
});
