// Decodes pgoutput (protocol version 1) messages. Values stay as Postgres text so that
// the replica's own converters decide how to store them; unchanged TOASTed values are
// marked with UNCHANGED_TOAST.
import type {Client} from 'pg';

export const UNCHANGED_TOAST = Symbol('unchanged-toast');
export type TupleValue = string | null | typeof UNCHANGED_TOAST;

export interface RelationColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly isKey: boolean;
}

export interface Relation {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly replicaIdentity: string;
  readonly columns: readonly RelationColumn[];
}

export type PgOutputMessage =
  | {tag: 'begin'; commitLsn: bigint}
  | {tag: 'commit'; commitLsn: bigint; endLsn: bigint; commitTimeMs: number}
  | {tag: 'relation'; relation: Relation}
  | {tag: 'type'; oid: number; schema: string; name: string}
  | {tag: 'insert'; relation: Relation; row: TupleValue[]}
  | {tag: 'update'; relation: Relation; old: TupleValue[] | null; row: TupleValue[]}
  | {tag: 'delete'; relation: Relation; old: TupleValue[]}
  | {tag: 'truncate'; relations: Relation[]}
  | {tag: 'other'};

/** 2000-01-01T00:00:00Z in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;

class Reader {
  p = 0;
  constructor(readonly b: Buffer) {}
  u8(): number {
    return this.b[this.p++]!;
  }
  i16(): number {
    const v = this.b.readInt16BE(this.p);
    this.p += 2;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32BE(this.p);
    this.p += 4;
    return v;
  }
  u64(): bigint {
    const v = this.b.readBigUInt64BE(this.p);
    this.p += 8;
    return v;
  }
  cstr(): string {
    const end = this.b.indexOf(0, this.p);
    const s = this.b.toString('utf8', this.p, end);
    this.p = end + 1;
    return s;
  }
}

export interface PgOutputOptions {
  readonly publication: string;
  /** Called for every decoded message, in stream order, before it is queued. */
  readonly onDecoded?: () => void;
}

/** A pgoutput plugin for pg-logical-replication's service (it duck-types plugins). */
export class PgOutputDecoder {
  readonly #relations = new Map<number, Relation>();
  readonly typeNames = new Map<number, string>();
  readonly options: PgOutputOptions;

  constructor(options: PgOutputOptions) {
    this.options = options;
  }

  get name(): string {
    return 'pgoutput';
  }

  start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    const pub = this.options.publication.replace(/'/g, "''");
    return client.query(
      `START_REPLICATION SLOT "${slotName}" LOGICAL ${lastLsn} (proto_version '1', publication_names '${pub}')`,
    );
  }

  parse(buf: Buffer): PgOutputMessage {
    this.options.onDecoded?.();
    const r = new Reader(buf);
    const tag = r.u8();
    switch (tag) {
      case 0x42: {
        // B: final LSN, commit time, xid
        const commitLsn = r.u64();
        return {tag: 'begin', commitLsn};
      }
      case 0x43: {
        r.u8();
        const commitLsn = r.u64();
        const endLsn = r.u64();
        // Microseconds since 2000-01-01 UTC (Postgres' epoch).
        const commitTimeMs = Number(r.u64() / 1000n) + PG_EPOCH_MS;
        return {tag: 'commit', commitLsn, endLsn, commitTimeMs};
      }
      case 0x52: {
        const oid = r.i32() >>> 0;
        const schema = r.cstr();
        const name = r.cstr();
        const replicaIdentity = String.fromCharCode(r.u8());
        const n = r.i16();
        const columns: RelationColumn[] = [];
        for (let i = 0; i < n; i++) {
          const flags = r.u8();
          const colName = r.cstr();
          const typeOid = r.i32() >>> 0;
          r.i32(); // type modifier
          columns.push({name: colName, typeOid, isKey: (flags & 1) === 1});
        }
        const relation: Relation = {oid, schema, name, replicaIdentity, columns};
        this.#relations.set(oid, relation);
        return {tag: 'relation', relation};
      }
      case 0x59: {
        const oid = r.i32() >>> 0;
        const schema = r.cstr();
        const name = r.cstr();
        this.typeNames.set(oid, name);
        return {tag: 'type', oid, schema, name};
      }
      case 0x49: {
        const relation = this.#relation(r.i32());
        r.u8(); // 'N'
        return {tag: 'insert', relation, row: readTuple(r)};
      }
      case 0x55: {
        const relation = this.#relation(r.i32());
        let kind = r.u8();
        let old: TupleValue[] | null = null;
        if (kind === 0x4b || kind === 0x4f) {
          old = readTuple(r);
          kind = r.u8();
        }
        return {tag: 'update', relation, old, row: readTuple(r)};
      }
      case 0x44: {
        const relation = this.#relation(r.i32());
        r.u8(); // 'K' or 'O'
        return {tag: 'delete', relation, old: readTuple(r)};
      }
      case 0x54: {
        const n = r.i32();
        r.u8(); // options
        const relations: Relation[] = [];
        for (let i = 0; i < n; i++) relations.push(this.#relation(r.i32()));
        return {tag: 'truncate', relations};
      }
      default:
        return {tag: 'other'};
    }
  }

  #relation(oid: number): Relation {
    const rel = this.#relations.get(oid >>> 0);
    if (!rel) throw new Error(`pgoutput: change for unknown relation ${oid >>> 0}`);
    return rel;
  }
}

function readTuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const out: TupleValue[] = new Array<TupleValue>(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    if (kind === 0x74 || kind === 0x62) {
      const len = r.i32();
      out[i] = r.b.toString('utf8', r.p, r.p + len);
      r.p += len;
    } else if (kind === 0x75) {
      out[i] = UNCHANGED_TOAST;
    } else {
      out[i] = null;
    }
  }
  return out;
}
