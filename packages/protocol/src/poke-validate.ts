// A hand-written validator for `poke` bodies. valibot spends ~19 µs per row on a poke, which
// makes a 100k-row initial sync take seconds on the client; this does the same checks in a
// few plain loops. It accepts exactly what `v.safeParse(pokeBodySchema, x)` accepts (a
// fast-check property test pins that) and returns the same output: it reuses the freshly
// parsed input, except where valibot's output differs from its input (records given as
// arrays, or holding the keys `__proto__`, `constructor` or `prototype`, which valibot
// drops), where it writes valibot's copy back in place.
import {ProtocolError} from './error.ts';
import {queryErrorSchema, type PokeBody, type PokePartBody} from './poke.ts';

type Obj = Record<string, unknown>;
type Path = readonly (string | number)[];

const QUERY_ERROR_KINDS: readonly unknown[] = queryErrorSchema.entries.kind.options;

/** The frame type named in errors ('poke' or 'pokePart'); set per parse. */
let frameType = 'poke';

/**
 * The body is JSON.parse output (set per parse). JSON.parse makes no `undefined` and no
 * functions, so the per-value check of a `puts` op's values cannot fail and is skipped:
 * nothing is accepted that would not be, and a large poke spends most of its check there.
 */
let parsedJSON = false;

function fail(path: Path, expected: string): never {
  // Keys can come from the peer: shorten them, and never include a received value.
  const at = path.map(p => (typeof p === 'string' && p.length > 40 ? `${p.slice(0, 40)}…` : p));
  throw new ProtocolError(
    'InvalidMessage',
    `Invalid ${frameType} frame${at.length ? ` at ${at.join('.')}` : ''}: expected ${expected}`,
  );
}

function isObject(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null;
}

/**
 * Whether objects inherit enumerable keys (only on a polluted Object or Array prototype), so
 * that `for...in` must check `hasOwnProperty` as valibot's `record` does. Set per parse.
 */
let inheritsKeys = false;

function hasInheritedKeys(): boolean {
  for (const key in {}) if (key) return true;
  const array: unknown[] = [];
  // eslint-disable-next-line @typescript-eslint/no-for-in-array -- inherited keys are the point
  for (const key in array) if (key) return true;
  return false;
}

/** A key valibot's `record` skips (neither validated nor copied to the output). */
function isSkippedKey(obj: object, key: string): boolean {
  return (
    key === '__proto__' ||
    key === 'constructor' ||
    key === 'prototype' ||
    (inheritsKeys && !Object.prototype.hasOwnProperty.call(obj, key))
  );
}

/** valibot's output for a record: a fresh object of its own keys, minus the skipped ones. */
function copyRecord(rec: Obj): Obj {
  const out: Obj = {};
  for (const key in rec) if (!isSkippedKey(rec, key)) out[key] = rec[key];
  return out;
}

/**
 * Checks `v.record(v.string(), jsonValueSchema)`: any non-null object whose own entries are
 * neither undefined nor functions. Returns the value to use in the output.
 */
function checkRow(rec: unknown, i: number, valueKey: string): Obj {
  if (!isObject(rec)) fail(['rows', i, valueKey], 'Object');
  let copy = Array.isArray(rec);
  for (const key in rec) {
    if (isSkippedKey(rec, key)) {
      copy = true;
      continue;
    }
    const value = rec[key];
    if (value === undefined || typeof value === 'function') {
      fail(['rows', i, valueKey, key], 'a JSON value');
    }
  }
  return copy ? copyRecord(rec) : rec;
}

/** Checks `v.record(v.string(), v.pipe(v.number(), v.integer(), v.minValue(0)))`. */
function checkLastMutationIDs(rec: unknown): Obj {
  const path = 'lastMutationIDChanges';
  if (!isObject(rec)) fail([path], 'Object');
  let copy = Array.isArray(rec);
  for (const key in rec) {
    if (isSkippedKey(rec, key)) {
      copy = true;
      continue;
    }
    const value = rec[key];
    if (typeof value !== 'number' || Number.isNaN(value)) fail([path, key], 'number');
    if (!Number.isInteger(value)) fail([path, key], 'an integer');
    if (!(value >= 0)) fail([path, key], '>=0');
  }
  return copy ? copyRecord(rec) : rec;
}

function requireKey(obj: Obj, key: string, path: () => Path): unknown {
  if (!(key in obj)) fail([...path(), key], `key "${key}"`);
  return obj[key];
}

function requireString(obj: Obj, key: string, path: () => Path): void {
  if (typeof requireKey(obj, key, path) !== 'string') fail([...path(), key], 'string');
}

function rejectUnknownKey(key: string, path: () => Path): never {
  fail([...path(), key], 'no such key');
}

function checkRowOp(row: unknown, i: number): void {
  if (!isObject(row)) fail(['rows', i], 'Object');
  const op = 'op' in row ? row.op : undefined;
  if (op === 'put' || op === 'del') {
    const valueKey = op === 'put' ? 'value' : 'id';
    if (!('table' in row)) fail(['rows', i, 'table'], 'key "table"');
    if (typeof row.table !== 'string') fail(['rows', i, 'table'], 'string');
    if (!(valueKey in row)) fail(['rows', i, valueKey], `key "${valueKey}"`);
    const value = row[valueKey];
    const checked = checkRow(value, i, valueKey);
    for (const key in row) {
      if (key !== 'op' && key !== 'table' && key !== valueKey)
        fail(['rows', i, key], 'no such key');
    }
    if (checked !== value) row[valueKey] = checked;
  } else if (op === 'puts') {
    checkPuts(row, i);
  } else if (op === 'clear') {
    for (const key in row) if (key !== 'op') fail(['rows', i, key], 'no such key');
  } else {
    fail(['rows', i, 'op'], '"put"|"puts"|"del"|"clear"');
  }
}

function checkPuts(row: Obj, i: number): void {
  const path = (): Path => ['rows', i];
  requireString(row, 'table', path);
  const columns = requireKey(row, 'columns', path);
  if (!Array.isArray(columns)) fail(['rows', i, 'columns'], 'Array');
  for (let c = 0; c < columns.length; c++) {
    if (typeof columns[c] !== 'string') fail(['rows', i, 'columns', c], 'string');
  }
  const values = requireKey(row, 'values', path);
  if (!Array.isArray(values)) fail(['rows', i, 'values'], 'Array');
  for (let r = 0; r < values.length; r++) {
    const vs: unknown = values[r];
    if (!Array.isArray(vs)) fail(['rows', i, 'values', r], 'Array');
    if (parsedJSON) continue;
    for (let c = 0; c < vs.length; c++) {
      const value: unknown = vs[c];
      if (value === undefined || typeof value === 'function') {
        fail(['rows', i, 'values', r, c], 'a JSON value');
      }
    }
  }
  for (const key in row) {
    if (key !== 'op' && key !== 'table' && key !== 'columns' && key !== 'values') {
      rejectUnknownKey(key, path);
    }
  }
  if (new Set(columns).size !== columns.length) {
    fail(['rows', i, 'columns'], 'column names without duplicates');
  }
  for (let r = 0; r < values.length; r++) {
    if ((values[r] as unknown[]).length !== columns.length) {
      fail(['rows', i, 'values', r], 'one value per column');
    }
  }
}

function checkGotQuery(q: unknown, i: number): void {
  const path = (): Path => ['gotQueries', i];
  if (!isObject(q)) fail(path(), 'Object');
  const op = 'op' in q ? q.op : undefined;
  if (op === 'put' || op === 'del') {
    requireString(q, 'hash', path);
    for (const key in q) if (key !== 'op' && key !== 'hash') rejectUnknownKey(key, path);
  } else if (op === 'clear') {
    for (const key in q) if (key !== 'op') rejectUnknownKey(key, path);
  } else {
    fail([...path(), 'op'], '"put"|"del"|"clear"');
  }
}

function checkQueryError(e: unknown, i: number): void {
  const path = (): Path => ['queryErrors', i];
  if (!isObject(e)) fail(path(), 'Object');
  requireString(e, 'hash', path);
  if (!QUERY_ERROR_KINDS.includes(requireKey(e, 'kind', path))) {
    fail([...path(), 'kind'], QUERY_ERROR_KINDS.map(k => JSON.stringify(k)).join('|'));
  }
  requireString(e, 'message', path);
  if ('details' in e && typeof e.details === 'function')
    fail([...path(), 'details'], 'a JSON value');
  for (const key in e) {
    if (key !== 'hash' && key !== 'kind' && key !== 'message' && key !== 'details') {
      rejectUnknownKey(key, path);
    }
  }
}

/** Starts the check of a frame body of `type`: an object with a string `pokeID`. */
function startBody(type: string, body: unknown, fromJSON: boolean): asserts body is Obj {
  frameType = type;
  parsedJSON = fromJSON;
  inheritsKeys = hasInheritedKeys();
  if (!isObject(body)) fail([], 'Object');
  requireString(body, 'pokeID', () => []);
}

/** Checks `body.rows`: an array of row operations. */
function checkRows(body: Obj): void {
  const rows = requireKey(body, 'rows', () => []);
  if (!Array.isArray(rows)) fail(['rows'], 'Array');
  for (let i = 0; i < rows.length; i++) checkRowOp(rows[i], i);
}

const POKE_KEYS = new Set([
  'pokeID',
  'baseVersion',
  'version',
  'rows',
  'gotQueries',
  'lastMutationIDChanges',
  'queryErrors',
]);

/**
 * Validates a `poke` body exactly as `pokeBodySchema` does. Throws a
 * ProtocolError('InvalidMessage') naming the path and the expectation. May normalize the
 * input in place (see the top of this file) and returns it. `fromJSON`: the body is
 * JSON.parse output (without a reviver), which lets checks that cannot fail on it be
 * skipped.
 */
export function parsePokeBody(body: unknown, fromJSON = false): PokeBody {
  const top = (): Path => [];
  startBody('poke', body, fromJSON);
  const base = requireKey(body, 'baseVersion', top);
  if (base !== null && typeof base !== 'string') fail(['baseVersion'], '(string | null)');
  requireString(body, 'version', top);

  checkRows(body);

  const got = requireKey(body, 'gotQueries', top);
  if (!Array.isArray(got)) fail(['gotQueries'], 'Array');
  for (let i = 0; i < got.length; i++) checkGotQuery(got[i], i);

  const lmids = requireKey(body, 'lastMutationIDChanges', top);
  const checkedLmids = checkLastMutationIDs(lmids);

  const errors = 'queryErrors' in body ? body.queryErrors : undefined;
  if (errors !== undefined) {
    if (!Array.isArray(errors)) fail(['queryErrors'], 'Array');
    for (let i = 0; i < errors.length; i++) checkQueryError(errors[i], i);
  }

  for (const key in body) if (!POKE_KEYS.has(key)) rejectUnknownKey(key, top);
  if (checkedLmids !== lmids) body.lastMutationIDChanges = checkedLmids;
  return body as PokeBody;
}

/** Validates a `pokePart` body exactly as `pokePartBodySchema` does (see parsePokeBody). */
export function parsePokePartBody(body: unknown, fromJSON = false): PokePartBody {
  const top = (): Path => [];
  startBody('pokePart', body, fromJSON);
  checkRows(body);
  for (const key in body) if (key !== 'pokeID' && key !== 'rows') rejectUnknownKey(key, top);
  return body as PokePartBody;
}
