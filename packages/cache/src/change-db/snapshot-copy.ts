// The snapshot server's copy step: `VACUUM INTO` a temporary file from a read connection,
// then the copy's sha256 and replica version. It runs in a worker thread, so a copy of a
// large replica (seconds) never stalls the event loop of the process that serves it (the
// replication manager, which also acknowledges the upstream slot).
//
// The worker's code is plain JavaScript given to the Worker as a string: it needs nothing
// but better-sqlite3 and node's own modules, and so runs the same from the TypeScript
// sources and from the compiled package, without an entry point of its own in the build.
import {createRequire} from 'node:module';
import {Worker} from 'node:worker_threads';

export type SnapshotCopy = {
  readonly bytes: number;
  readonly sha256: string;
  /** The copy's `_zync_replication_state.version`; undefined before the initial copy. */
  readonly version: string | undefined;
};

const WORKER_SOURCE = `
const {parentPort, workerData} = require('node:worker_threads');
const {createHash} = require('node:crypto');
const fs = require('node:fs');
const Database = require(workerData.sqlitePath);
try {
  const src = new Database(workerData.replicaFile, {readonly: true, fileMustExist: true});
  try {
    src.prepare('VACUUM INTO ?').run(workerData.tmpFile);
  } finally {
    src.close();
  }
  let version;
  const copy = new Database(workerData.tmpFile, {readonly: true, fileMustExist: true});
  try {
    const t = copy
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_zync_replication_state'")
      .get();
    const row = t ? copy.prepare('SELECT version FROM _zync_replication_state WHERE id = 0').get() : undefined;
    version = row ? row.version : undefined;
  } finally {
    copy.close();
  }
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(workerData.tmpFile, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  parentPort.postMessage({ok: true, bytes, sha256: hash.digest('hex'), version});
} catch (e) {
  parentPort.postMessage({ok: false, code: String((e && e.code) || ''), name: String((e && e.name) || 'Error')});
}
`;

type WorkerReply =
  | {ok: true; bytes: number; sha256: string; version: string | undefined}
  | {ok: false; code: string; name: string};

/** Thrown when the copy fails; carries SQLite's error code, never a path or row data. */
export class SnapshotCopyError extends Error {
  readonly code: string;
  constructor(code: string, name: string) {
    super(`copying the replica failed (${code || name})`);
    this.name = 'SnapshotCopyError';
    this.code = code;
  }
}

/** Writes a consistent copy of `replicaFile` to `tmpFile` (which must not exist). */
export function copyReplica(replicaFile: string, tmpFile: string): Promise<SnapshotCopy> {
  // Resolved here, not at import: the worker loads the same better-sqlite3 as this module.
  const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {sqlitePath, replicaFile, tmpFile},
    });
    let reply: WorkerReply | undefined;
    worker.once('message', (m: WorkerReply) => (reply = m));
    worker.once('error', e => reject(new SnapshotCopyError('', e.name)));
    worker.once('exit', () => {
      if (!reply) reject(new SnapshotCopyError('', 'WorkerExit'));
      else if (reply.ok)
        resolve({bytes: reply.bytes, sha256: reply.sha256, version: reply.version});
      else reject(new SnapshotCopyError(reply.code, reply.name));
    });
  });
}
