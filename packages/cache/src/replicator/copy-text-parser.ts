// A streaming parser for COPY ... TO STDOUT text format: one row per line, fields split by
// tabs, `\N` for null, backslash escapes inside fields. Rows are handed on one at a time,
// so a table is never held in memory.
import {StringDecoder} from 'node:string_decoder';
import type {SqliteValue, TextConverter} from '../replica/values.ts';

export class CopyTextParser {
  readonly #decoder = new StringDecoder('utf8');
  readonly #convert: readonly TextConverter[];
  readonly #onRow: (row: SqliteValue[]) => void;
  #rest = '';

  constructor(convert: readonly TextConverter[], onRow: (row: SqliteValue[]) => void) {
    this.#convert = convert;
    this.#onRow = onRow;
  }

  push(chunk: Buffer): void {
    const text = this.#rest + this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.#line(text, start, nl);
      start = nl + 1;
    }
    this.#rest = start === text.length ? '' : text.slice(start);
  }

  end(): void {
    const text = this.#rest + this.#decoder.end();
    this.#rest = '';
    if (text.length > 0) {
      this.#line(text, 0, text.length);
    }
  }

  #line(text: string, start: number, end: number): void {
    const convert = this.#convert;
    const n = convert.length;
    const row: SqliteValue[] = new Array<SqliteValue>(n);
    let pos = start;
    for (let i = 0; i < n; i++) {
      let tab = i === n - 1 ? end : text.indexOf('\t', pos);
      if (tab < 0 || tab > end) tab = end;
      if (tab - pos === 2 && text.charCodeAt(pos) === 92 && text.charCodeAt(pos + 1) === 78) {
        row[i] = null; // \N
      } else {
        let field = text.slice(pos, tab);
        if (field.indexOf('\\') >= 0) field = unescapeCopy(field);
        row[i] = convert[i]!(field);
      }
      pos = tab + 1;
    }
    this.#onRow(row);
  }
}

const SIMPLE: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Undoes COPY text escaping (`\\`, `\n`, `\t`, octal `\123`, hex `\x41`, ...). */
export function unescapeCopy(s: string): string {
  let out = '';
  let i = 0;
  const n = s.length;
  while (i < n) {
    const bs = s.indexOf('\\', i);
    if (bs < 0 || bs === n - 1) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, bs);
    const c = s[bs + 1]!;
    const simple = SIMPLE[c];
    if (simple !== undefined) {
      out += simple;
      i = bs + 2;
    } else if (c >= '0' && c <= '7') {
      let j = bs + 1;
      while (j < n && j < bs + 4 && s[j]! >= '0' && s[j]! <= '7') j++;
      out += String.fromCharCode(parseInt(s.slice(bs + 1, j), 8));
      i = j;
    } else if (c === 'x' && /[0-9a-fA-F]/.test(s[bs + 2] ?? '')) {
      let j = bs + 2;
      while (j < n && j < bs + 4 && /[0-9a-fA-F]/.test(s[j]!)) j++;
      out += String.fromCharCode(parseInt(s.slice(bs + 2, j), 16));
      i = j;
    } else {
      out += c;
      i = bs + 2;
    }
  }
  return out;
}
