// Small, fast, non-cryptographic hashing that runs the same in browsers and Node.

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;

/** 64-bit FNV-1a over the UTF-16 code units of `s`, as 16 hex characters. */
export function hashString(s: string): string {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  for (let i = 0; i < s.length; i++) {
    lo = (lo ^ s.charCodeAt(i)) >>> 0;
    // multiply (hi, lo) by the FNV prime 0x100000001b3 in 32-bit halves
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    const newLo = loMul >>> 0;
    hi = (hi * 0x1b3 + lo * 0x100 + carry) >>> 0;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** JSON with object keys sorted, so equal values always serialise the same way. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map(v => (v === undefined ? 'null' : stableStringify(v))).join(',')}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter(k => obj[k] !== undefined)
    .sort();
  // Rows are flat objects: one native JSON.stringify with the sorted keys as the property
  // list gives the same text several times faster (a CVR step hashes every row it sends).
  if (keys.every(k => isPrimitive(obj[k]))) return JSON.stringify(obj, keys);
  return `{${keys.map(k => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return v === null || t === 'string' || t === 'number' || t === 'boolean';
}

/** A stable hash of any JSON-compatible value. */
export function hashOf(value: unknown): string {
  return hashString(stableStringify(value));
}
