// Pokes are the bulk of what zero-cache sends, and a row's JSON text is needed twice: to
// hash its contents (to tell whether it changed) and to send it. Rows are serialised once,
// when a step settles, and kept as text; a poke frame is then assembled from those texts
// by concatenation instead of re-serialising every row object.
import type {PokeBody, RowValue} from '@zync/protocol';

/** A row operation of a poke whose row contents are already JSON text. */
export type PatchRow =
  | {readonly op: 'put'; readonly table: string; readonly json: string}
  | {readonly op: 'del'; readonly table: string; readonly id: RowValue}
  | {readonly op: 'clear'};

/** Everything of a poke body but its rows. */
export type PokeMeta = Omit<PokeBody, 'rows'>;

const putPrefixes = new Map<string, string>();

function putPrefix(table: string): string {
  let p = putPrefixes.get(table);
  if (p === undefined) {
    p = `{"op":"put","table":${JSON.stringify(table)},"value":`;
    if (putPrefixes.size < 10_000) putPrefixes.set(table, p);
  }
  return p;
}

/**
 * The text of `['poke', body]` with `rows` as given: the same JSON value that
 * `JSON.stringify(['poke', {...meta, rows}])` would give with each `json` parsed in place.
 */
export function encodePokeFrame(meta: PokeMeta, rows: readonly PatchRow[]): string {
  const {pokeID, baseVersion, version, ...rest} = meta;
  const head = JSON.stringify({pokeID, baseVersion, version});
  const tail = JSON.stringify(rest);
  // head is `{...}`, tail is `{...}` (never empty: gotQueries is required).
  return `["poke",${head.slice(0, -1)},"rows":[${encodeRows(rows)}],${tail.slice(1)}]`;
}

/** The text of `['pokePart', {pokeID, rows}]`, given the rows' texts (rowText). */
export function encodePokePartFrame(pokeID: string, rowTexts: readonly string[]): string {
  return `["pokePart",{"pokeID":${JSON.stringify(pokeID)},"rows":[${rowTexts.join(',')}]}]`;
}

/** The JSON text of one row operation. */
export function rowText(r: PatchRow): string {
  return r.op === 'put' ? putPrefix(r.table) + r.json + '}' : JSON.stringify(r);
}

function encodeRows(rows: readonly PatchRow[]): string {
  const parts: string[] = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) parts[i] = rowText(rows[i] as PatchRow);
  return parts.join(',');
}

/**
 * A 53-bit hash of a row's JSON text (two 32-bit multiplicative lanes, mixed at the end).
 * Not cryptographic: it only tells whether a row changed since it was last sent.
 */
export function contentHash(json: string): number {
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  b = Math.imul(b ^ (b >>> 15), 0x2c1b3c6d);
  b = Math.imul(b ^ (b >>> 12), 0x297a2d39);
  b ^= b >>> 15;
  return (b & 0x1fffff) * 0x100000000 + (a >>> 0);
}
