// LIKE / ILIKE patterns (the engine's syntax, parsed by ivm/like.ts) rewritten for each
// database: SQLite's case-sensitive GLOB, Postgres's LIKE (whose escape rules differ at a
// trailing `\`).
import {LIKE_ANY, LIKE_ONE} from '../ivm/like.ts';

/** SQLite refuses LIKE / GLOB patterns longer than this many bytes (its default limit). */
export const MAX_GLOB_BYTES = 50_000;

/** A parsed pattern as a GLOB pattern: `*`, `?`, and `[c]` for a literal `*`, `?` or `[`. */
export function tokensToGlob(tokens: readonly number[]): string {
  let out = '';
  for (const t of tokens) {
    if (t === LIKE_ANY) out += '*';
    else if (t === LIKE_ONE) out += '?';
    else {
      const ch = String.fromCodePoint(t);
      out += ch === '*' || ch === '?' || ch === '[' ? `[${ch}]` : ch;
    }
  }
  return out;
}

/** A parsed pattern as a Postgres LIKE pattern with the default escape `\`. */
export function tokensToPgLike(tokens: readonly number[]): string {
  let out = '';
  for (const t of tokens) {
    if (t === LIKE_ANY) out += '%';
    else if (t === LIKE_ONE) out += '_';
    else {
      const ch = String.fromCodePoint(t);
      out += ch === '%' || ch === '_' || ch === '\\' ? `\\${ch}` : ch;
    }
  }
  return out;
}

/** UTF-8 length of a string (no Buffer: this module also runs outside Node). */
export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}
