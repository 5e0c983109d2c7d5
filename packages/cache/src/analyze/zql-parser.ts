// Reads a ZQL builder chain as an operator types it (`issue.where("status", "open")
// .related("comments", q => q.limit(3))`) into a small syntax tree, without running any of
// it: a tokenizer and a recursive-descent parser for the subset of JavaScript such a chain
// uses (literals, arrays, objects, member access, calls and expression-bodied arrows).
// zql-interpreter.ts gives the tree meaning against the real query builder.
import {AnalyzeError} from './analyze-error.ts';

export type Expr =
  | {
      readonly kind: 'literal';
      readonly value: string | number | boolean | null;
      readonly at: number;
    }
  | {readonly kind: 'array'; readonly items: readonly Expr[]; readonly at: number}
  | {
      readonly kind: 'object';
      readonly entries: readonly (readonly [string, Expr])[];
      readonly at: number;
    }
  | {readonly kind: 'name'; readonly name: string; readonly at: number}
  | {readonly kind: 'member'; readonly object: Expr; readonly name: string; readonly at: number}
  | {
      readonly kind: 'call';
      readonly callee: Expr;
      readonly args: readonly Expr[];
      readonly at: number;
    }
  | {readonly kind: 'arrow'; readonly params: Params; readonly body: Expr; readonly at: number};

/** `q => …`, `(q) => …`, `({cmp, or}) => …` or `() => …`. */
export type Params =
  | {readonly kind: 'none'}
  | {readonly kind: 'name'; readonly name: string}
  | {readonly kind: 'destructure'; readonly names: readonly string[]};

type Token =
  | {readonly kind: 'name'; readonly text: string; readonly at: number}
  | {readonly kind: 'string'; readonly value: string; readonly at: number}
  | {readonly kind: 'number'; readonly value: number; readonly at: number}
  | {readonly kind: 'punct'; readonly text: string; readonly at: number}
  | {readonly kind: 'end'; readonly at: number};

/** Longest query text accepted, and deepest nesting: a typed query is far below both. */
export const MAX_QUERY_TEXT = 100_000;
const MAX_DEPTH = 64;

const PUNCT = ['=>', '.', ',', '(', ')', '[', ']', '{', '}', ':', '-'];
const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  '0': '\0',
};

// Sticky: matched in place, without copying the rest of the text for each token.
const NAME = /[A-Za-z_$][\w$]*/y;
const NUMBER = /0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;

function match(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(text)?.[0];
}

/** Where a problem is, for messages: 1-based character position. */
function at(pos: number): string {
  return `(at character ${pos + 1})`;
}

function fail(message: string, pos: number): never {
  throw new AnalyzeError('input', `--query: ${message} ${at(pos)}`);
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = match(NAME, text, i)!;
      out.push({kind: 'name', text: m, at: i});
      i += m.length;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = match(NUMBER, text, i)!;
      if (/[\w$]/.test(text[i + m.length] ?? '')) fail('malformed number', i);
      out.push({kind: 'number', value: Number(m), at: i});
      i += m.length;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const [value, end] = readString(text, i);
      out.push({kind: 'string', value, at: i});
      i = end;
      continue;
    }
    const p = PUNCT.find(s => text.startsWith(s, i));
    if (!p) fail(`unexpected character ${JSON.stringify(c)}`, i);
    out.push({kind: 'punct', text: p, at: i});
    i += p.length;
  }
  out.push({kind: 'end', at: text.length});
  return out;
}

/** A quoted string starting at `start`: its value and the index after its closing quote. */
function readString(text: string, start: number): [string, number] {
  const quote = text[start]!;
  let value = '';
  let i = start + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined || (c === '\n' && quote !== '`')) fail('unterminated string', start);
    i++;
    if (c === quote) return [value, i];
    if (quote === '`' && c === '$' && text[i] === '{') {
      fail('template strings with ${…} are not supported: write the value itself', i - 1);
    }
    if (c !== '\\') {
      value += c;
      continue;
    }
    const e = text[i];
    if (e === undefined) fail('unterminated string', start);
    i++;
    if (e === 'u') {
      const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(text.slice(i, i + 8));
      if (!m) fail('malformed \\u escape', i - 2);
      const code = parseInt(m[1] ?? m[2]!, 16);
      if (code > 0x10ffff) fail('malformed \\u escape', i - 2);
      value += String.fromCodePoint(code);
      i += m[0].length;
    } else if (e === 'x') {
      const m = /^[0-9a-fA-F]{2}/.exec(text.slice(i, i + 2));
      if (!m) fail('malformed \\x escape', i - 2);
      value += String.fromCharCode(parseInt(m[0], 16));
      i += 2;
    } else if (e === '\n') {
      // a line continuation adds nothing
    } else {
      value += ESCAPES[e] ?? e;
    }
  }
}

class Parser {
  readonly #tokens: Token[];
  #i = 0;
  #depth = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  get #tok(): Token {
    return this.#tokens[this.#i]!;
  }

  #isPunct(text: string, offset = 0): boolean {
    const t = this.#tokens[this.#i + offset];
    return t?.kind === 'punct' && t.text === text;
  }

  #expect(text: string, what: string): void {
    if (!this.#isPunct(text))
      fail(`expected "${text}" ${what}, found ${describe(this.#tok)}`, this.#tok.at);
    this.#i++;
  }

  #name(what: string): string {
    const t = this.#tok;
    if (t.kind !== 'name') fail(`expected ${what}, found ${describe(t)}`, t.at);
    this.#i++;
    return t.text;
  }

  parseAll(): Expr {
    const e = this.expr();
    const t = this.#tok;
    if (t.kind !== 'end') {
      fail(`unexpected ${describe(t)} after the end of the query`, t.at);
    }
    return e;
  }

  expr(): Expr {
    if (++this.#depth > MAX_DEPTH) fail('the query is nested too deeply', this.#tok.at);
    try {
      const arrow = this.#arrow();
      if (arrow) return arrow;
      let e = this.#primary();
      for (;;) {
        if (this.#isPunct('.')) {
          const dot = this.#tok.at;
          this.#i++;
          e = {kind: 'member', object: e, name: this.#name('a method name after "."'), at: dot};
        } else if (this.#isPunct('(')) {
          const open = this.#tok.at;
          this.#i++;
          e = {kind: 'call', callee: e, args: this.#list(')', 'to close the arguments'), at: open};
        } else {
          return e;
        }
      }
    } finally {
      this.#depth--;
    }
  }

  /** Items up to `close`, comma-separated, a trailing comma allowed. */
  #list(close: string, what: string): Expr[] {
    const items: Expr[] = [];
    while (!this.#isPunct(close)) {
      items.push(this.expr());
      if (!this.#isPunct(',')) break;
      this.#i++;
    }
    this.#expect(close, what);
    return items;
  }

  #arrow(): Expr | undefined {
    const start = this.#tok.at;
    if (this.#tok.kind === 'name' && this.#isPunct('=>', 1)) {
      const name = this.#name('a parameter');
      this.#i++;
      return {kind: 'arrow', params: {kind: 'name', name}, body: this.#body(), at: start};
    }
    if (!this.#isPunct('(')) return undefined;
    let params: Params;
    if (this.#isPunct(')', 1) && this.#isPunct('=>', 2)) {
      params = {kind: 'none'};
      this.#i += 3;
    } else if (this.#tokens[this.#i + 1]?.kind === 'name' && this.#isPunct(')', 2)) {
      if (!this.#isPunct('=>', 3)) return undefined;
      this.#i++;
      params = {kind: 'name', name: this.#name('a parameter')};
      this.#i += 2;
    } else if (this.#isPunct('{', 1)) {
      this.#i += 2;
      const names: string[] = [];
      while (!this.#isPunct('}')) {
        names.push(this.#name('a name to destructure, such as cmp'));
        if (!this.#isPunct(',')) break;
        this.#i++;
      }
      this.#expect('}', 'to close the destructured parameter');
      this.#expect(')', 'after the destructured parameter');
      this.#expect('=>', 'after the parameter list');
      params = {kind: 'destructure', names};
    } else {
      return undefined;
    }
    return {kind: 'arrow', params, body: this.#body(), at: start};
  }

  #body(): Expr {
    if (this.#isPunct('{')) {
      fail('an arrow function must have an expression body (no { return … })', this.#tok.at);
    }
    return this.expr();
  }

  #primary(): Expr {
    const t = this.#tok;
    switch (t.kind) {
      case 'string':
      case 'number':
        this.#i++;
        return {kind: 'literal', value: t.value, at: t.at};
      case 'name':
        this.#i++;
        if (t.text === 'true' || t.text === 'false') {
          return {kind: 'literal', value: t.text === 'true', at: t.at};
        }
        if (t.text === 'null') return {kind: 'literal', value: null, at: t.at};
        return {kind: 'name', name: t.text, at: t.at};
      case 'punct':
        if (t.text === '-') {
          this.#i++;
          const n = this.#tok;
          if (n.kind !== 'number') fail('"-" must be followed by a number', t.at);
          this.#i++;
          return {kind: 'literal', value: -n.value, at: t.at};
        }
        if (t.text === '(') {
          this.#i++;
          const e = this.expr();
          this.#expect(')', 'to close the parenthesis');
          return e;
        }
        if (t.text === '[') {
          this.#i++;
          return {kind: 'array', items: this.#list(']', 'to close the array'), at: t.at};
        }
        if (t.text === '{') {
          this.#i++;
          return this.#object(t.at);
        }
        return fail(`unexpected ${describe(t)}`, t.at);
      case 'end':
        return fail('the query ends too early', t.at);
    }
  }

  #object(start: number): Expr {
    const entries: [string, Expr][] = [];
    while (!this.#isPunct('}')) {
      const k = this.#tok;
      let key: string;
      if (k.kind === 'name') key = k.text;
      else if (k.kind === 'string') key = k.value;
      else if (k.kind === 'number') key = String(k.value);
      else fail(`expected a property name, found ${describe(k)}`, k.at);
      this.#i++;
      this.#expect(':', `after the property name ${JSON.stringify(key)}`);
      entries.push([key, this.expr()]);
      if (!this.#isPunct(',')) break;
      this.#i++;
    }
    this.#expect('}', 'to close the object');
    return {kind: 'object', entries, at: start};
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'name':
      return `"${t.text}"`;
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'punct':
      return `"${t.text}"`;
    case 'end':
      return 'the end of the query';
  }
}

/** Parses ZQL builder text; throws AnalyzeError('input') naming the problem and where. */
export function parseZQL(text: string): Expr {
  if (text.length > MAX_QUERY_TEXT) {
    throw new AnalyzeError(
      'input',
      `--query: the text is ${text.length} characters long; the most accepted is ${MAX_QUERY_TEXT}`,
    );
  }
  if (text.trim() === '') {
    throw new AnalyzeError('input', '--query: the query is empty; write e.g. issue.limit(10)');
  }
  return new Parser(tokenize(text)).parseAll();
}
