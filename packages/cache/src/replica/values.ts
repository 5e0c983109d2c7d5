// Conversions from Postgres text output to what the replica stores, and back to JSON.
// Stored forms: strings as TEXT; numbers as INTEGER/REAL (int8 beyond 2^53 as an exact
// 64-bit INTEGER bound from a bigint); booleans as 0/1; json, jsonb and arrays as JSON
// text; timestamps and dates as epoch milliseconds (UTC for types without a zone).
import {isArrayType, isTimeType, kindOfType} from './pg-types.ts';

export type SqliteValue = string | number | bigint | null;

/** Converts one non-null Postgres text value for storage. */
export type TextConverter = (text: string) => SqliteValue;

const identity: TextConverter = s => s;
const toNumber: TextConverter = s => Number(s);
const toBool: TextConverter = s => (s === 't' ? 1 : 0);

function toInt8(s: string): number | bigint {
  if (s.length < 16) return Number(s);
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

/** The converter for values streamed by pgoutput (Postgres text output, ISO/UTC session). */
export function streamConverter(pgType: string): TextConverter {
  if (isArrayType(pgType)) return s => pgArrayToJson(s, pgType.slice(1));
  if (isTimeType(pgType)) return parseTimestampMs;
  return scalarConverter(pgType);
}

/**
 * The converter for values read by the initial COPY. Time columns are selected as
 * `extract(epoch ...) * 1000` there (see `copySelectExpr`), so they arrive as numbers.
 */
export function copyConverter(pgType: string): TextConverter {
  if (isTimeType(pgType)) return toNumber;
  return streamConverter(pgType);
}

function scalarConverter(pgType: string): TextConverter {
  if (pgType === 'int8') return toInt8;
  switch (kindOfType(pgType)) {
    case 'number':
      return toNumber;
    case 'boolean':
      return toBool;
    default:
      return identity;
  }
}

/** The SELECT expression the initial copy uses for a column. */
export function copySelectExpr(quotedName: string, pgType: string): string {
  if (pgType === 'date') return `extract(epoch from ${quotedName}::timestamp) * 1000`;
  if (isTimeType(pgType)) return `extract(epoch from ${quotedName}) * 1000`;
  return quotedName;
}

const TS_RE =
  /^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?(?:([+-])(\d\d)(?::?(\d\d)(?::?(\d\d))?)?)?( BC)?$/;

/**
 * Parses Postgres ISO output of timestamp, timestamptz and date into epoch milliseconds
 * (fractions keep the microseconds). Values without an offset are read as UTC.
 */
export function parseTimestampMs(s: string): number {
  if (s === 'infinity') return Infinity;
  if (s === '-infinity') return -Infinity;
  const m = TS_RE.exec(s);
  if (!m) return NaN;
  let year = Number(m[1]);
  if (m[12]) year = 1 - year;
  const date = new Date(0);
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), 0);
  let ms = date.getTime();
  if (m[8]) {
    const off = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
    ms += m[8] === '+' ? -off : off;
  }
  const frac = m[7] ? m[7].padEnd(6, '0') : '';
  const micros = frac ? Number(frac) : 0;
  if (micros === 0) return ms;
  // Compose the decimal text so the result equals Number() of Postgres' own
  // `extract(epoch ...) * 1000` output used by the initial copy.
  const totalMicros = BigInt(ms) * 1000n + BigInt(micros);
  const neg = totalMicros < 0n;
  const abs = neg ? -totalMicros : totalMicros;
  const fracText = (abs % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return Number(`${neg ? '-' : ''}${abs / 1000n}${fracText ? `.${fracText}` : ''}`);
}

const NUMERIC_TEXT = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

/** Converts a Postgres array literal to JSON text, elements typed by `elemType`. */
export function pgArrayToJson(s: string, elemType: string): string {
  let i = 0;
  if (s[0] === '[') {
    // explicit bounds, e.g. `[0:2]={1,2,3}`
    i = s.indexOf('=') + 1;
  }
  const kind = kindOfType(elemType);
  const time = isTimeType(elemType);
  const elem = (raw: string, quoted: boolean): string => {
    if (!quoted && raw === 'NULL') return 'null';
    if (time) return numberJson(parseTimestampMs(raw));
    switch (kind) {
      case 'number':
        return NUMERIC_TEXT.test(raw) ? raw : 'null';
      case 'boolean':
        return raw === 't' ? 'true' : 'false';
      case 'json':
        return raw;
      default:
        return JSON.stringify(raw);
    }
  };
  let out = '';
  const n = s.length;
  while (i < n) {
    const c = s[i]!;
    if (c === '{') {
      out += '[';
      i++;
    } else if (c === '}') {
      out += ']';
      i++;
    } else if (c === ',') {
      out += ',';
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\') i++;
        v += s[i];
        i++;
      }
      i++;
      out += elem(v, true);
    } else {
      let j = i;
      while (j < n && s[j] !== ',' && s[j] !== '}') j++;
      out += elem(s.slice(i, j).trim(), false);
      i = j;
    }
  }
  return out;
}

function numberJson(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
