// Gives a parsed ZQL chain (zql-parser.ts) its meaning by calling the real query builder
// of @zync/zql: the root names a table of the schema, and only the builder's own methods
// (and the expression builder's, inside `where(eb => …)`) can be called. Nothing else is
// reachable: no globals, no property of any other object, no code of the input runs.
import type {AST} from '@zync/protocol';
import {createBuilder, ExpressionBuilder, type AnyQuery, type Schema} from '@zync/zql';
import {AnalyzeError} from './analyze-error.ts';
import type {Expr, Params} from './zql-parser.ts';
import {parseZQL} from './zql-parser.ts';

const QUERY_METHODS = new Set([
  'where',
  'whereExists',
  'related',
  'orderBy',
  'limit',
  'start',
  'one',
]);
const EB_METHODS = new Set(['cmp', 'cmpLit', 'and', 'or', 'not', 'exists']);

/** A value while interpreting: data, a query, an expression builder, or something callable. */
type Value =
  | string
  | number
  | boolean
  | null
  | readonly Value[]
  | {readonly [k: string]: Value}
  | AnyQuery
  | ExpressionBuilder<Schema, string>
  | Callable;

class Callable {
  readonly label: string;
  readonly call: (args: readonly unknown[]) => unknown;

  constructor(label: string, call: (args: readonly unknown[]) => unknown) {
    this.label = label;
    this.call = call;
  }
}

type Env = ReadonlyMap<string, Value>;

function fail(message: string, at: number): never {
  throw new AnalyzeError('input', `--query: ${message} (at character ${at + 1})`);
}

function isQuery(v: unknown): v is AnyQuery {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Callable) &&
    !(v instanceof ExpressionBuilder) &&
    typeof (v as {where?: unknown}).where === 'function' &&
    'ast' in v
  );
}

class Interpreter {
  readonly #schema: Schema;
  readonly #roots: Readonly<Record<string, AnyQuery>>;

  constructor(schema: Schema) {
    this.#schema = schema;
    this.#roots = createBuilder(schema);
  }

  eval(e: Expr, env: Env): Value {
    switch (e.kind) {
      case 'literal':
        return e.value;
      case 'array':
        return e.items.map(x => this.eval(x, env));
      case 'object': {
        const out: Record<string, Value> = {};
        for (const [k, x] of e.entries) {
          Object.defineProperty(out, k, {value: this.eval(x, env), enumerable: true});
        }
        return out;
      }
      case 'name':
        return this.#name(e.name, env, e.at);
      case 'member':
        return this.#member(this.eval(e.object, env), e.name, e.at);
      case 'call': {
        const callee = this.eval(e.callee, env);
        if (!(callee instanceof Callable)) {
          return fail(`${describe(callee)} cannot be called`, e.at);
        }
        // A callback goes to the builder as a plain function (the builder tests for one).
        const args = e.args.map(a => {
          const v = this.eval(a, env);
          return v instanceof Callable ? (...xs: unknown[]) => v.call(xs) : v;
        });
        try {
          return callee.call(args) as Value;
        } catch (err) {
          if (err instanceof AnalyzeError) throw err;
          const message = err instanceof Error ? err.message : String(err);
          // The builder's messages mostly name their method already.
          const named = message.startsWith(callee.label) ? message : `${callee.label}: ${message}`;
          return fail(named, e.at);
        }
      }
      case 'arrow':
        return this.#arrow(e.params, e.body, env, e.at);
    }
  }

  #name(name: string, env: Env, at: number): Value {
    const bound = env.get(name);
    if (bound !== undefined) return bound;
    if (Object.hasOwn(this.#schema.tables, name)) return this.#roots[name]!;
    const tables = Object.keys(this.#schema.tables).join(', ');
    return fail(
      `unknown table "${name}"; a query starts with a table of the schema (${tables})`,
      at,
    );
  }

  #member(object: Value, name: string, at: number): Value {
    if (isQuery(object)) {
      if (!QUERY_METHODS.has(name)) {
        return fail(`"${name}" is not a query method; use ${[...QUERY_METHODS].join(', ')}`, at);
      }
      const method = (object as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
      return new Callable(`${name}()`, args => method(...args));
    }
    if (object instanceof ExpressionBuilder) {
      if (!EB_METHODS.has(name)) {
        return fail(
          `"${name}" is not an expression builder function; use ${[...EB_METHODS].join(', ')}`,
          at,
        );
      }
      const fn = (object as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
      return new Callable(`${name}()`, args => fn(...args));
    }
    return fail(`${describe(object)} has no member "${name}"`, at);
  }

  #arrow(params: Params, body: Expr, env: Env, at: number): Callable {
    return new Callable('callback', args => {
      const inner = new Map(env);
      const arg = args[0];
      if (params.kind === 'name') {
        inner.set(params.name, arg as Value);
      } else if (params.kind === 'destructure') {
        if (!(arg instanceof ExpressionBuilder)) {
          fail('only the expression builder of where(({cmp, …}) => …) can be destructured', at);
        }
        for (const name of params.names) {
          inner.set(name, this.#member(arg, name, at));
        }
      }
      return this.eval(body, inner);
    });
  }
}

function describe(v: unknown): string {
  if (v instanceof Callable) return v.label;
  if (isQuery(v)) return 'a query';
  if (v instanceof ExpressionBuilder) return 'the expression builder';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `the ${typeof v} ${JSON.stringify(v)}`;
}

/** The AST (client names) of the ZQL builder text `text` over `schema`. */
export function zqlToAST(text: string, schema: Schema): AST {
  const tree = parseZQL(text);
  const value = new Interpreter(schema).eval(tree, new Map());
  if (!isQuery(value)) {
    throw new AnalyzeError(
      'input',
      `--query: the text must be a query (e.g. issue.where("id", "1")), not ${describe(value)}`,
    );
  }
  return value.ast;
}
