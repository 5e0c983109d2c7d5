// LIKE / ILIKE matching without regular expressions. A pattern such as `%a%a%a…%b` sent by
// any client made the old RegExp translation backtrack exponentially and freeze the
// process; this matcher is the greedy two-pointer wildcard algorithm, which on a mismatch
// only returns to the most recent `%`, so it runs in O(value × pattern) at worst.
//
// Semantics (shared by the client, zero-cache's pipeline and permission rules):
// `%` matches any run of characters (also none), `_` exactly one code point, `\` makes the
// next character literal (a trailing `\` is a literal backslash). LIKE compares code points
// exactly; ILIKE compares them after simple Unicode case folding (see `foldCodePoint`).

/** `%` in a parsed pattern (code points are never negative). */
export const LIKE_ANY = -1;
/** `_` in a parsed pattern. */
export const LIKE_ONE = -2;
const ANY = LIKE_ANY;
const ONE = LIKE_ONE;

export type LikeMatcher = (value: string) => boolean;

const foldCache = new Map<number, number>();

/**
 * The code point `cp` folds to for ILIKE: its lower case form after upper-casing, so that
 * e.g. `ſ`, `S` and `s` or `K` (Kelvin sign), `K` and `k` all meet. A character whose case
 * mapping is not a single code point (e.g. `ß` → `SS`) folds to itself.
 */
export function foldCodePoint(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  const cached = foldCache.get(cp);
  if (cached !== undefined) return cached;
  const ch = String.fromCodePoint(cp);
  const folded = single(ch.toUpperCase().toLowerCase()) ?? single(ch.toLowerCase()) ?? cp;
  if (foldCache.size >= 4096) foldCache.clear();
  foldCache.set(cp, folded);
  return folded;
}

function single(s: string): number | undefined {
  const cp = s.codePointAt(0);
  if (cp === undefined) return undefined;
  return s.length === (cp > 0xffff ? 2 : 1) ? cp : undefined;
}

/**
 * Parses a pattern into literal code points, LIKE_ANY (`%`) and LIKE_ONE (`_`); consecutive
 * `%` collapse into one. With `caseInsensitive` the literals are folded (`foldCodePoint`).
 * The SQL compiler (zql/src/sql) builds its LIKE / GLOB patterns from this same parse.
 */
export function parseLikePattern(pattern: string, caseInsensitive: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < pattern.length;) {
    let cp = pattern.codePointAt(i) as number;
    i += cp > 0xffff ? 2 : 1;
    if (cp === 0x5c /* \ */ && i < pattern.length) {
      cp = pattern.codePointAt(i) as number;
      i += cp > 0xffff ? 2 : 1;
    } else if (cp === 0x25 /* % */) {
      if (out[out.length - 1] !== ANY) out.push(ANY);
      continue;
    } else if (cp === 0x5f /* _ */) {
      out.push(ONE);
      continue;
    }
    out.push(caseInsensitive ? foldCodePoint(cp) : cp);
  }
  return out;
}

function compile(pattern: string, caseInsensitive: boolean): Int32Array {
  return Int32Array.from(parseLikePattern(pattern, caseInsensitive));
}

function match(tokens: Int32Array, value: string, caseInsensitive: boolean): boolean {
  const m = tokens.length;
  const n = value.length;
  let p = 0;
  let s = 0;
  // Where the last `%` was seen, and the value position it is currently assumed to end at.
  let starP = -1;
  let starS = 0;
  while (s < n) {
    const t = p < m ? (tokens[p] as number) : 0;
    if (p < m && t === ANY) {
      starP = p++;
      starS = s;
      continue;
    }
    const cp = value.codePointAt(s) as number;
    const width = cp > 0xffff ? 2 : 1;
    if (p < m && (t === ONE || t === (caseInsensitive ? foldCodePoint(cp) : cp))) {
      p++;
      s += width;
      continue;
    }
    if (starP < 0) return false;
    // Let the last `%` swallow one more code point and retry the rest of the pattern.
    p = starP + 1;
    starS += (value.codePointAt(starS) as number) > 0xffff ? 2 : 1;
    s = starS;
  }
  while (p < m && tokens[p] === ANY) p++;
  return p === m;
}

const cache = new Map<string, LikeMatcher>();
const CACHE_MAX = 1000;

/** A matcher for one pattern; matchers are cached by pattern. */
export function likeMatcher(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const key = (caseInsensitive ? 'i' : 's') + pattern;
  let matcher = cache.get(key);
  if (matcher) return matcher;
  const tokens = compile(pattern, caseInsensitive);
  matcher = value => match(tokens, value, caseInsensitive);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, matcher);
  return matcher;
}

/** Whether `value` LIKE (or, with `caseInsensitive`, ILIKE) `pattern`. */
export function likeMatches(value: string, pattern: string, caseInsensitive: boolean): boolean {
  return likeMatcher(pattern, caseInsensitive)(value);
}
