// The row operations of one upstream transaction, as the replication-manager stores them in
// the Postgres change log and followers replay them on their replicas. Encoded with
// `v8.serialize`, which keeps bigint values exact.
import {deserialize, serialize} from 'node:v8';
import type {SqliteValue} from '../replica/values.ts';

export type RowOp =
  | {
      readonly op: 'set';
      readonly table: string;
      readonly columns: readonly string[];
      readonly values: readonly SqliteValue[];
    }
  | {
      readonly op: 'del';
      readonly table: string;
      /** The table's primary-key columns. */
      readonly columns: readonly string[];
      readonly values: readonly SqliteValue[];
    }
  | {readonly op: 'truncate'; readonly table: string};

/** Where the replication-manager writes each transaction before its replica commits it. */
export interface ChangeLogSink {
  /**
   * Stores the transaction `version` (idempotently: a version stored before is left as is).
   * `reset`: the transaction changed the replica's shape; followers take a fresh snapshot.
   */
  append(version: string, ops: readonly RowOp[], reset: boolean): Promise<void>;
  /** The manager's replica committed `version` (the trim point never passes it). */
  committed(version: string): void;
}

export function encodeRowOps(ops: readonly RowOp[]): Buffer {
  return serialize(ops);
}

/** Thrown for bytes that are not an encoded `RowOp[]`. */
export class RowOpsError extends Error {
  override readonly name = 'RowOpsError';
}

/** Decodes and checks an encoded `RowOp[]`; throws RowOpsError naming what is wrong. */
export function decodeRowOps(bytes: Uint8Array): RowOp[] {
  let decoded: unknown;
  try {
    decoded = deserialize(bytes);
  } catch (e) {
    throw new RowOpsError(
      'change-log entry is not a serialized list of row operations (written by another version of zero-cache?)',
      {cause: e},
    );
  }
  if (!Array.isArray(decoded)) throw bad(-1, 'is not a list');
  decoded.forEach((o: unknown, i) => checkOp(o, i));
  return decoded as RowOp[];
}

function checkOp(o: unknown, i: number): void {
  if (typeof o !== 'object' || o === null) throw bad(i, 'is not an object');
  const r = o as Record<string, unknown>;
  if (typeof r['table'] !== 'string' || r['table'] === '') throw bad(i, 'has no table name');
  switch (r['op']) {
    case 'truncate':
      return;
    case 'set':
    case 'del': {
      const cols = r['columns'];
      const vals = r['values'];
      if (!Array.isArray(cols) || cols.length === 0 || !cols.every(c => typeof c === 'string')) {
        throw bad(i, 'has no list of column names');
      }
      if (!Array.isArray(vals) || vals.length !== cols.length) {
        throw bad(i, 'does not have one value per column');
      }
      if (!vals.every(isSqliteValue)) throw bad(i, 'has a value of an unsupported type');
      return;
    }
    default:
      throw bad(i, "has an op other than 'set', 'del' or 'truncate'");
  }
}

function isSqliteValue(v: unknown): v is SqliteValue {
  return v === null || ['string', 'number', 'bigint'].includes(typeof v);
}

function bad(i: number, what: string): RowOpsError {
  const where = i < 0 ? 'the decoded value' : `row operation ${i}`;
  return new RowOpsError(
    `change-log entry is malformed: ${where} ${what} (written by another version of zero-cache?)`,
  );
}
