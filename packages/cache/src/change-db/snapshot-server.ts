// The replication manager's snapshot endpoint (docs/scale-out.md): `GET /replica-snapshot`
// with `Authorization: Bearer <ZERO_ADMIN_PASSWORD>` answers with a consistent copy of the
// replica file, made by `VACUUM INTO` a temporary file next to the replica and streamed from
// disk. `GET /` answers 200 for health checks; nothing else is served.
//
// Headers of a snapshot: `content-length`, `x-zync-sha256` (hex digest of the body) and
// `x-zync-replica-version` (the copy's own `_zync_replication_state.version`). Each request
// gets its own copy; at most `maxConcurrent` copies exist at once, more requests get 503
// with `retry-after`. The temporary file is removed when its response ends, however it ends.
//
// `?min-version=<version>` asks for a copy at that version or later: a follower that read a
// `reset` entry needs the replica that includes it, and the manager stores an entry in the
// change log just before its replica commits it. The request waits (holding one of the
// `maxConcurrent` places) until the replica reaches the version, then copies; if it does
// not within `minVersionWaitMs`, it gets 503.
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {readdir, rm} from 'node:fs/promises';
import {createServer} from 'node:http';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {basename, dirname, join, resolve} from 'node:path';
import {pipeline} from 'node:stream/promises';
import {setTimeout as delay} from 'node:timers/promises';
import Database from 'better-sqlite3';
import type {Logger} from '@zync/shared';
import {readReplicationState} from '../replica/replica-schema.ts';
import {REPLICA_VERSION_RE} from '../replica/version.ts';
import {copyReplica, SnapshotCopyError} from './snapshot-copy.ts';

export const SNAPSHOT_PATH = '/replica-snapshot';
export const MIN_VERSION_PARAM = 'min-version';
export const VERSION_HEADER = 'x-zync-replica-version';
export const SHA256_HEADER = 'x-zync-sha256';

export type SnapshotServerOptions = {
  /** The replica file to serve copies of (it need not exist yet: requests get 503 until then). */
  readonly replicaFile: string;
  /** The bearer token requests must carry (ZERO_ADMIN_PASSWORD). */
  readonly secret: string;
  readonly host: string;
  /** 0 picks a free port; the server reports the one it bound. */
  readonly port: number;
  readonly lc: Logger;
  /** Copies that may exist at once (each is as large as the replica). Default 4. */
  readonly maxConcurrent?: number;
  /** How long a request with `min-version` waits for the replica to reach it. Default 10 s. */
  readonly minVersionWaitMs?: number;
};

export type SnapshotServer = {
  readonly port: number;
  /** Stops listening, cuts transfers in progress, waits for their copies to be removed. */
  close(): Promise<void>;
};

const TMP_MARK = '.snapshot-serve-';

const COMMON_HEADERS = {'cache-control': 'no-store', 'x-content-type-options': 'nosniff'};

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function validate(o: SnapshotServerOptions): void {
  if (typeof o.replicaFile !== 'string' || o.replicaFile === '') {
    throw new TypeError('startSnapshotServer: replicaFile must be the path of the replica file');
  }
  if (typeof o.secret !== 'string' || o.secret === '') {
    throw new TypeError(
      'startSnapshotServer: a secret is required (set ZERO_ADMIN_PASSWORD); snapshots are never served without one',
    );
  }
  if (typeof o.host !== 'string' || o.host === '') {
    throw new TypeError('startSnapshotServer: host must be an address to listen on');
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new TypeError('startSnapshotServer: port must be an integer from 0 to 65535');
  }
  const max = o.maxConcurrent;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new TypeError('startSnapshotServer: maxConcurrent must be a positive integer');
  }
  const wait = o.minVersionWaitMs;
  if (wait !== undefined && (!Number.isInteger(wait) || wait < 0)) {
    throw new TypeError('startSnapshotServer: minVersionWaitMs must be a non-negative integer');
  }
}

/** How often a request with `min-version` reads the replica's version while it waits. */
const VERSION_POLL_MS = 20;

/**
 * Reads the replica's version as it changes, on one read-only connection (each read sees the
 * latest commit); undefined while the replica has none (no file yet, no initial copy).
 */
class VersionReader {
  readonly #file: string;
  #db: Database.Database | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  read(): string | undefined {
    try {
      this.#db ??= new Database(this.#file, {readonly: true, fileMustExist: true});
      return readReplicationState(this.#db)?.version;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}

/** True when the header is exactly `Bearer <secret>`; compared in constant time. */
function bearerCheck(secret: string): (header: string | undefined) => boolean {
  const expected = digest(secret);
  return header => {
    const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    // A missing token is compared too, so that every refusal takes the same path.
    const ok = timingSafeEqual(digest(m?.[1] ?? ''), expected);
    return ok && m !== null;
  };
}

function text(res: ServerResponse, status: number, body: string, extra = {}): void {
  res
    .writeHead(status, {
      ...COMMON_HEADERS,
      ...extra,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
}

/** Removes copies that a crashed server left next to the replica. */
async function removeLeftovers(replicaFile: string, lc: Logger): Promise<void> {
  const prefix = basename(replicaFile) + TMP_MARK;
  let entries: string[];
  try {
    entries = await readdir(dirname(replicaFile));
  } catch {
    return; // The folder does not exist yet: nothing was left there.
  }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    await rm(join(dirname(replicaFile), e), {force: true});
    lc.info('Removed a snapshot copy left by an earlier run', {file: e});
  }
}

export async function startSnapshotServer(o: SnapshotServerOptions): Promise<SnapshotServer> {
  validate(o);
  const lc = o.lc.with({component: 'snapshot-server'});
  const replicaFile = resolve(o.replicaFile);
  const maxConcurrent = o.maxConcurrent ?? 4;
  const minVersionWaitMs = o.minVersionWaitMs ?? 10_000;
  const allowed = bearerCheck(o.secret);
  const inFlight = new Set<Promise<void>>();
  let copies = 0;
  let closing = false;

  await removeLeftovers(replicaFile, lc);

  /** Whether the replica reaches `min` within the wait (false also when the server closes). */
  async function reaches(min: string, res: ServerResponse): Promise<boolean> {
    const deadline = performance.now() + minVersionWaitMs;
    const reader = new VersionReader(replicaFile);
    try {
      for (let first = true; ; first = false) {
        const version = reader.read();
        if (version !== undefined && version >= min) return true;
        if (closing || res.destroyed || performance.now() >= deadline) return false;
        if (first) lc.debug('Waiting for the replica to reach a snapshot request', {min, version});
        await delay(VERSION_POLL_MS);
      }
    } finally {
      reader.close();
    }
  }

  async function serveSnapshot(res: ServerResponse, minVersion: string | undefined): Promise<void> {
    const tmpFile = `${replicaFile}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    const started = performance.now();
    copies++;
    try {
      if (minVersion !== undefined && !(await reaches(minVersion, res))) {
        if (!closing && !res.destroyed) {
          lc.info('The replica did not reach the version a snapshot request asked for', {
            minVersion,
            waitedMs: Math.round(performance.now() - started),
          });
          text(res, 503, `the replica has not reached version ${minVersion} yet; retry later\n`, {
            'retry-after': '1',
          });
        }
        return;
      }
      const copy = await copyReplica(replicaFile, tmpFile);
      const copyMs = Math.round(performance.now() - started);
      if (copy.version === undefined) {
        // Removed before answering, so no copy outlives the request it served.
        await removeCopy(tmpFile);
        text(res, 503, 'the replica has not finished its initial copy yet; retry later\n', {
          'retry-after': '5',
        });
        return;
      }
      if (closing || res.destroyed) return;
      res.writeHead(200, {
        ...COMMON_HEADERS,
        'content-type': 'application/vnd.sqlite3',
        'content-length': copy.bytes,
        [VERSION_HEADER]: copy.version,
        [SHA256_HEADER]: copy.sha256,
      });
      await pipeline(createReadStream(tmpFile), res);
      lc.info('Served a replica snapshot', {
        version: copy.version,
        bytes: copy.bytes,
        copyMs,
        totalMs: Math.round(performance.now() - started),
      });
    } catch (e) {
      if (e instanceof SnapshotCopyError) {
        const missing = e.code === 'SQLITE_CANTOPEN';
        lc.warn(missing ? 'No replica file to copy yet' : 'Copying the replica failed', {
          code: e.code,
        });
        await removeCopy(tmpFile);
        if (!res.headersSent) {
          if (missing) {
            text(res, 503, 'the replica does not exist yet; retry later\n', {'retry-after': '5'});
          } else {
            text(res, 500, 'copying the replica failed; see the server log\n');
          }
        }
        return;
      }
      // The transfer was cut (the client went away, or the server is closing).
      lc.info('A replica snapshot transfer ended early', {error: errorName(e)});
      res.destroy();
    } finally {
      copies--;
      await removeCopy(tmpFile);
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://snapshot-server');
    } catch {
      return text(res, 400, 'bad request target\n');
    }
    const path = url.pathname;
    if (path === '/') {
      if (req.method === 'GET' || req.method === 'HEAD') return text(res, 200, 'ok\n');
      return text(res, 405, 'method not allowed\n', {allow: 'GET, HEAD'});
    }
    if (path !== SNAPSHOT_PATH) return text(res, 404, 'not found\n');
    if (req.method !== 'GET') return text(res, 405, 'method not allowed\n', {allow: 'GET'});
    if (!allowed(req.headers.authorization)) {
      lc.warn('Refused a snapshot request without the right bearer token', {
        remote: req.socket.remoteAddress ?? '',
      });
      return text(res, 401, 'unauthorized\n', {'www-authenticate': 'Bearer'});
    }
    const minVersion = url.searchParams.get(MIN_VERSION_PARAM) ?? undefined;
    if (minVersion !== undefined && !REPLICA_VERSION_RE.test(minVersion)) {
      return text(res, 400, `${MIN_VERSION_PARAM} must be a replica version: 16 hex digits\n`);
    }
    if (closing) return text(res, 503, 'shutting down\n', {'retry-after': '5'});
    if (copies >= maxConcurrent) {
      lc.warn('Too many snapshot copies at once; asked the client to retry', {maxConcurrent});
      return text(res, 503, 'too many snapshots in progress; retry later\n', {
        'retry-after': '5',
      });
    }
    const p = serveSnapshot(res, minVersion).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  const server = createServer(handle);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  lc.info('Snapshot server listening', {host: o.host, port});

  return {
    port,
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>(r => server.close(() => r()));
      server.closeAllConnections();
      await Promise.all([closed, ...inFlight]);
      lc.info('Snapshot server closed');
    },
  };
}

async function removeCopy(tmpFile: string): Promise<void> {
  await Promise.all(
    ['', '-journal', '-wal', '-shm'].map(s => rm(tmpFile + s, {force: true}).catch(() => {})),
  );
}

function errorName(e: unknown): string {
  return e instanceof Error ? ((e as {code?: string}).code ?? e.name) || 'Error' : 'unknown';
}
