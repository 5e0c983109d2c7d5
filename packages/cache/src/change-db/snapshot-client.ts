// A view syncer's side of the snapshot endpoint (snapshot-server.ts): downloads a replica
// snapshot to a file, streaming it to disk, and accepts it only when its length and sha256
// match the headers and it opens as a replica at the version the server announced. On any
// failure the file is removed and a SnapshotError says what went wrong; retries are the
// caller's business.
import {createHash} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {open, rm} from 'node:fs/promises';
import http from 'node:http';
import type {IncomingMessage} from 'node:http';
import https from 'node:https';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import Database from 'better-sqlite3';
import type {Logger} from '@zync/shared';
import {readReplicationState} from '../replica/replica-schema.ts';
import {REPLICA_VERSION_RE} from '../replica/version.ts';
import {
  MIN_VERSION_PARAM,
  SHA256_HEADER,
  SNAPSHOT_PATH,
  VERSION_HEADER,
} from './snapshot-server.ts';

export type SnapshotErrorKind =
  | 'unreachable'
  | 'unauthorized'
  | 'not-ready'
  | 'http'
  | 'bad-response'
  | 'truncated'
  | 'checksum'
  | 'invalid-replica'
  | 'timeout'
  | 'aborted'
  | 'io';

/** The one error class of the snapshot client. Messages name no secret and no row data. */
export class SnapshotError extends Error {
  readonly kind: SnapshotErrorKind;
  constructor(kind: SnapshotErrorKind, message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'SnapshotError';
    this.kind = kind;
  }
}

export type DownloadOptions = {
  /** The snapshot server's base URL (ZERO_CHANGE_STREAMER_URI), http: or https:. */
  readonly uri: string;
  /** ZERO_ADMIN_PASSWORD, sent as `Authorization: Bearer`. */
  readonly secret: string;
  /** Where the snapshot goes (created or replaced; removed again on failure). */
  readonly toFile: string;
  readonly lc: Logger;
  readonly signal?: AbortSignal;
  /** How long the connection may stay silent (waiting for the copy, or mid-body). Default 5 min. */
  readonly idleTimeoutMs?: number;
  /**
   * The oldest replica version this snapshot may be at (`?min-version=`): the server waits
   * for its replica to reach it, and an older snapshot is refused as not ready.
   */
  readonly minVersion?: string | undefined;
};

export type DownloadResult = {readonly version: string; readonly bytes: number};

const SHA256_RE = /^[0-9a-f]{64}$/;

/** The snapshot URL for a base URL; throws a TypeError naming what is wrong with it. */
export function snapshotUrl(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TypeError(
      'ZERO_CHANGE_STREAMER_URI is not a URL: give the snapshot server as http://host:port',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('ZERO_CHANGE_STREAMER_URI must be an http: or https: URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      'ZERO_CHANGE_STREAMER_URI must not carry credentials: the secret is ZERO_ADMIN_PASSWORD',
    );
  }
  if (!url.pathname.endsWith(SNAPSHOT_PATH)) {
    url.pathname = url.pathname.replace(/\/+$/, '') + SNAPSHOT_PATH;
  }
  url.search = '';
  url.hash = '';
  return url;
}

function validate(o: DownloadOptions): URL {
  if (typeof o.secret !== 'string' || o.secret === '') {
    throw new TypeError('downloadSnapshot: a secret is required (set ZERO_ADMIN_PASSWORD)');
  }
  if (/[\r\n]/.test(o.secret)) {
    throw new TypeError('downloadSnapshot: ZERO_ADMIN_PASSWORD must be a single line');
  }
  if (typeof o.toFile !== 'string' || o.toFile === '') {
    throw new TypeError('downloadSnapshot: toFile must be a file path');
  }
  const t = o.idleTimeoutMs;
  if (t !== undefined && (!Number.isInteger(t) || t <= 0)) {
    throw new TypeError('downloadSnapshot: idleTimeoutMs must be a positive integer');
  }
  const min = o.minVersion;
  if (min !== undefined && (typeof min !== 'string' || !REPLICA_VERSION_RE.test(min))) {
    throw new TypeError('downloadSnapshot: minVersion must be a replica version (16 hex digits)');
  }
  const url = snapshotUrl(o.uri);
  if (min !== undefined) url.searchParams.set(MIN_VERSION_PARAM, min);
  return url;
}

export async function downloadSnapshot(o: DownloadOptions): Promise<DownloadResult> {
  const url = validate(o);
  const lc = o.lc.with({component: 'snapshot-client'});
  const where = url.host; // Host and port only: the message and the log never carry more.
  const started = performance.now();
  try {
    const res = await request(url, o.secret, o.idleTimeoutMs ?? 300_000, o.signal);
    const head = checkHeaders(res, where);
    if (o.minVersion !== undefined && head.version < o.minVersion) {
      res.destroy();
      throw new SnapshotError(
        'not-ready',
        `the snapshot server at ${where} sent version ${head.version}, older than ${o.minVersion}; retry later`,
      );
    }
    const bytes = await receive(res, o.toFile, head, where, o.signal);
    const receivedMs = Math.round(performance.now() - started);
    checkReplica(o.toFile, head.version);
    lc.info('Downloaded a replica snapshot', {
      from: where,
      version: head.version,
      bytes,
      receivedMs,
      verifyMs: Math.round(performance.now() - started) - receivedMs,
    });
    return {version: head.version, bytes};
  } catch (e) {
    await rm(o.toFile, {force: true}).catch(() => {});
    const err =
      e instanceof SnapshotError
        ? e
        : new SnapshotError('io', `writing the snapshot failed (${errorCode(e)})`, {cause: e});
    lc.warn('Replica snapshot download failed', {from: where, kind: err.kind});
    throw err;
  }
}

function request(
  url: URL,
  secret: string,
  idleTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  const where = url.host;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SnapshotError('aborted', 'the snapshot download was aborted'));
      return;
    }
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, {
      headers: {authorization: `Bearer ${secret}`, accept: 'application/vnd.sqlite3'},
      ...(signal ? {signal} : {}),
    });
    req.setTimeout(idleTimeoutMs, () =>
      req.destroy(
        new SnapshotError(
          'timeout',
          `the snapshot server at ${where} sent nothing for ${idleTimeoutMs} ms`,
        ),
      ),
    );
    req.once('response', resolve);
    req.once('error', e => {
      if (e instanceof SnapshotError) reject(e);
      else if (signal?.aborted) {
        reject(new SnapshotError('aborted', 'the snapshot download was aborted', {cause: e}));
      } else {
        reject(
          new SnapshotError(
            'unreachable',
            `cannot reach the snapshot server at ${where} (${errorCode(e)}); check ZERO_CHANGE_STREAMER_URI and that the replication manager is up`,
            {cause: e},
          ),
        );
      }
    });
  });
}

type Head = {readonly length: number; readonly sha256: string; readonly version: string};

function checkHeaders(res: IncomingMessage, where: string): Head {
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.resume();
    if (status === 401) {
      throw new SnapshotError(
        'unauthorized',
        `the snapshot server at ${where} refused the secret: ZERO_ADMIN_PASSWORD differs between nodes`,
      );
    }
    if (status === 503) {
      throw new SnapshotError(
        'not-ready',
        `the snapshot server at ${where} has no snapshot to give yet (503); retry later`,
      );
    }
    throw new SnapshotError(
      'http',
      `the snapshot server at ${where} answered ${status}; check that ZERO_CHANGE_STREAMER_URI points at the replication manager's snapshot port`,
    );
  }
  const rawLength = res.headers['content-length'];
  const sha256 = res.headers[SHA256_HEADER];
  const version = res.headers[VERSION_HEADER];
  const bad = (what: string) => {
    res.destroy();
    return new SnapshotError(
      'bad-response',
      `the snapshot server at ${where} sent ${what}; is ZERO_CHANGE_STREAMER_URI the replication manager's snapshot port, and are both nodes on the same zync version?`,
    );
  };
  if (rawLength === undefined || !/^\d{1,15}$/.test(rawLength)) throw bad('no valid length');
  if (typeof sha256 !== 'string' || !SHA256_RE.test(sha256)) throw bad('no valid checksum');
  if (typeof version !== 'string' || !REPLICA_VERSION_RE.test(version))
    throw bad('no valid version');
  return {length: Number(rawLength), sha256, version};
}

async function receive(
  res: IncomingMessage,
  toFile: string,
  head: Head,
  where: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > head.length) {
        done(
          new SnapshotError('bad-response', `the snapshot from ${where} is longer than announced`),
        );
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  let cut = false;
  res.once('aborted', () => (cut = true));
  try {
    await pipeline(res, tap, createWriteStream(toFile), signal ? {signal} : {});
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    if (signal?.aborted) {
      throw new SnapshotError('aborted', 'the snapshot download was aborted', {cause: e});
    }
    if (cut || res.errored || (e as {code?: string}).code === 'ECONNRESET') {
      throw new SnapshotError(
        'truncated',
        `the connection to ${where} broke after ${bytes} of ${head.length} bytes`,
        {cause: e},
      );
    }
    throw e;
  }
  if (bytes !== head.length) {
    throw new SnapshotError(
      'truncated',
      `the snapshot from ${where} ended after ${bytes} of ${head.length} bytes`,
    );
  }
  if (hash.digest('hex') !== head.sha256) {
    throw new SnapshotError(
      'checksum',
      `the snapshot from ${where} does not match its sha256: it was corrupted on the way`,
    );
  }
  // The caller renames the file into place next: its contents must be on disk first.
  const fh = await open(toFile, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return bytes;
}

function checkReplica(file: string, version: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, {readonly: true, fileMustExist: true});
    const state = readReplicationState(db);
    if (!state) throw new Error('no replication state');
    if (state.version !== version) {
      throw new SnapshotError(
        'invalid-replica',
        'the snapshot is at another version than its header says; the server is misbehaving',
      );
    }
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(
      'invalid-replica',
      `the snapshot does not open as a replica (${errorCode(e)})`,
      {cause: e},
    );
  } finally {
    db?.close();
  }
}

function errorCode(e: unknown): string {
  if (e instanceof Error) return (e as {code?: string}).code ?? e.name;
  return 'unknown';
}
