// Strings that Postgres cannot store. A `text` value or a `jsonb` string may not hold NUL
// (U+0000), and UTF-8 has no encoding for an unpaired UTF-16 surrogate: Postgres refuses
// both (or the driver silently swaps the surrogate for U+FFFD). Anything a client sends may
// end up stored (client group ids, queries, synced query args, mutations), so such strings
// are refused where frames enter the server, before they reach any shared write.

/** NUL, or a surrogate half without its partner. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** JSON escapes that may decode to NUL or a surrogate half (a cheap pre-check on frames). */
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

export type UnstorableProblem = 'nul' | 'lone-surrogate';

export type UnstorableString = {
  /** Where the string is, as dot-separated keys and indices. */
  readonly path: string;
  /** True when the bad string is an object key at `path` rather than a value. */
  readonly inKey: boolean;
  readonly problem: UnstorableProblem;
};

/** What is wrong with `s`, or undefined when Postgres can store it. */
export function unstorableProblem(s: string): UnstorableProblem | undefined {
  const m = UNSTORABLE.exec(s);
  if (!m) return undefined;
  return m[0] === '\u0000' ? 'nul' : 'lone-surrogate';
}

/**
 * The first string (value or object key) in a JSON value that Postgres cannot store, or
 * undefined. Iterative, so that deeply nested input cannot overflow the stack.
 */
export function findUnstorableString(value: unknown): UnstorableString | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = unstorableProblem(v);
      if (problem) return {path, inKey: false, problem};
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], join(path, String(i))]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const problem = unstorableProblem(k);
        if (problem) return {path, inKey: true, problem};
        stack.push([x, join(path, k)]);
      }
    }
  }
  return undefined;
}

/** True when JSON text might decode to a string Postgres cannot store (false: it cannot). */
export function mayHoldUnstorableString(jsonText: string): boolean {
  return SUSPECT_ESCAPE.test(jsonText) || UNSTORABLE.test(jsonText);
}

/** A message naming the problem and the fix, without the string itself. */
export function describeUnstorable(u: UnstorableString, where: string): string {
  const at = u.path ? ` at ${u.path.length > 120 ? `${cut(u.path, 120)}…` : u.path}` : '';
  const what = u.inKey ? 'an object key' : 'a string';
  const why =
    u.problem === 'nul'
      ? 'contains a NUL character (\\u0000), which cannot be stored; remove it'
      : 'contains an unpaired UTF-16 surrogate, which is not valid Unicode and cannot be stored; send well-formed strings';
  return `${where}${at}: ${what} ${why}`;
}

function join(path: string, key: string): string {
  const k = key.length > 40 ? `${cut(key, 40)}…` : key;
  return path ? `${path}.${k}` : k;
}

/** The first `n` code units, without splitting a surrogate pair. */
function cut(s: string, n: number): string {
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}
