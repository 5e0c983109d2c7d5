// The flags and environment of the analyze-query command, parsed and checked at once: every
// problem is an AnalyzeError('input') naming the flag and the fix. Settings it shares with
// zero-cache come from the same variables, parsed by zero-cache's own config table.
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import type {LogLevel, ReadonlyJSONValue} from '@zync/shared';
import {ConfigError} from '../config/config-error.ts';
import {parseSettings} from '../config/parse-config.ts';
import type {QueryBudget} from '../view-syncer/query-budget.ts';
import {AnalyzeError} from './analyze-error.ts';
import type {AnalyzeInput, SyncedQueriesEndpoint} from './analyze-query.ts';

export type CliOptions = {
  readonly help: boolean;
  readonly json: boolean;
  readonly input: AnalyzeInput;
  readonly schemaPath: string;
  readonly replicaFile: string;
  readonly applyPermissions: boolean;
  readonly authData: Readonly<Record<string, ReadonlyJSONValue>>;
  readonly userID: string;
  readonly token: string | undefined;
  readonly budget: QueryBudget;
  readonly maxHydrationRows: number;
  readonly syncedQueries: SyncedQueriesEndpoint | undefined;
  /** ZERO_LEGACY_API (undefined: the schema file decides). */
  readonly legacyApi: boolean | undefined;
  readonly logLevel: LogLevel;
};

const VALUE_FLAGS = [
  'query',
  'ast',
  'query-name',
  'query-args',
  'schema-path',
  'replica-file',
  'auth-data',
  'user-id',
  'auth-token-file',
  'apply-permissions',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
const FLAG_ALIASES: Readonly<Record<string, ValueFlag>> = {schema: 'schema-path'};
const SWITCHES = ['json', 'help'] as const;

export const USAGE = `Usage: analyze-query (--query <zql> | --ast <json> | --query-name <name> [--query-args <json>]) [options]

Runs one query over zero-cache's replica with zero-cache's engine and prints the SQLite
statements it issued with their plans (EXPLAIN QUERY PLAN), the rows read per table, the
synced rows, the time, and the indexes the query lacks (with the CREATE INDEX to run upstream).

The query, one of:
  --query <zql>             ZQL builder text, e.g. 'issue.where("status", "open").limit(10)'
  --ast <json>              a query AST in server names, as clients send it
  --query-name <name>       a synced query, resolved by the app's API server (ZERO_QUERY_URL)
  --query-args <json>       its args: a JSON array (default [])

Options:
  --schema-path <file>      the app's schema file (default: $ZERO_SCHEMA_PATH, else schema.ts)
  --replica-file <file>     the replica (default: $ZERO_REPLICA_FILE, else zero-replica.db)
  --auth-data <json>        the claims the select permissions see (default {}: anonymous)
  --apply-permissions <b>   true (default): as zero-cache runs a client's query; false: unfiltered
  --user-id <id>            the userID a synced query is resolved for (default: auth data's sub, else anon)
  --auth-token-file <file>  a file holding the token to forward to the API server
  --json                    print the report as JSON
  --help                    this text

Environment shared with zero-cache: ZERO_SCHEMA_PATH, ZERO_REPLICA_FILE, ZERO_APP_ID,
ZERO_LEGACY_API, ZERO_LOG_LEVEL, ZERO_QUERY_URL (alias of ZERO_GET_QUERIES_URL) and its
API key, ZERO_QUERY_MAX_* limits and ZERO_QUERY_MAX_HYDRATION_ROWS.
Exit code 0 when the query ran, 1 (with one line on stderr) when it could not.`;

type Env = Readonly<Record<string, string | undefined>>;

function bad(message: string): never {
  throw new AnalyzeError('input', message);
}

function readArgv(argv: readonly string[]): {
  values: Map<ValueFlag, string>;
  switches: Set<string>;
} {
  const values = new Map<ValueFlag, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      switches.add('help');
      continue;
    }
    const m = /^--([a-z-]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) bad(`unexpected argument ${JSON.stringify(arg)}; flags start with -- (see --help)`);
    const given = m[1]!;
    if ((SWITCHES as readonly string[]).includes(given)) {
      if (m[2] !== undefined) bad(`--${given} takes no value`);
      switches.add(given);
      continue;
    }
    const name = FLAG_ALIASES[given] ?? (given as ValueFlag);
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) {
      bad(`unknown flag --${given} (see --help)`);
    }
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) bad(`--${given} needs a value`);
    }
    if (values.has(name)) bad(`--${name} is given twice`);
    values.set(name, value);
  }
  return {values, switches};
}

function jsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return bad(`--${flag} must be JSON (${(e as Error).message})`);
  }
}

function input(values: ReadonlyMap<ValueFlag, string>): AnalyzeInput {
  const given = (['query', 'ast', 'query-name'] as const).filter(f => values.has(f));
  if (given.length !== 1) {
    bad(
      given.length === 0
        ? 'give the query to analyze: --query <zql>, --ast <json> or --query-name <name>'
        : `give one query only, not ${given.map(f => `--${f}`).join(' and ')}`,
    );
  }
  if (values.has('query-args') && !values.has('query-name')) {
    bad('--query-args goes with --query-name');
  }
  const query = values.get('query');
  if (query !== undefined) return {kind: 'zql', text: query};
  const ast = values.get('ast');
  if (ast !== undefined) return {kind: 'ast', json: ast};
  const name = values.get('query-name')!;
  if (name.trim() === '') bad('--query-name must not be empty');
  const args = jsonFlag('query-args', values.get('query-args') ?? '[]');
  if (!Array.isArray(args)) bad('--query-args must be a JSON array, e.g. ["open", 10]');
  return {kind: 'synced', name, args: args as ReadonlyJSONValue[]};
}

function authData(text: string | undefined): Readonly<Record<string, ReadonlyJSONValue>> {
  if (text === undefined) return {};
  const v = jsonFlag('auth-data', text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    bad('--auth-data must be a JSON object of claims, e.g. {"sub": "u1"}');
  }
  return v as Record<string, ReadonlyJSONValue>;
}

function bool(flag: string, text: string | undefined, dflt: boolean): boolean {
  if (text === undefined) return dflt;
  if (text === 'true') return true;
  if (text === 'false') return false;
  return bad(`--${flag} must be true or false`);
}

function token(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return bad(`--auth-token-file: cannot read ${file} (${(e as NodeJS.ErrnoException).code})`);
  }
  const t = text.trim();
  if (t === '') bad(`--auth-token-file: ${file} is empty`);
  return t;
}

/** Parses argv (without node and the script) and the environment. */
export function parseCliOptions(argv: readonly string[], env: Env): CliOptions {
  const {values, switches} = readArgv(argv);
  const help = switches.has('help');
  let settings;
  try {
    settings = parseSettings(env, [
      'replicaFile',
      'schemaPath',
      'appId',
      'legacyApi',
      'logLevel',
      'getQueriesUrl',
      'getQueriesApiKey',
      'queryMaxDepth',
      'queryMaxNodes',
      'queryMaxInListLength',
      'queryMaxStringLength',
      'queryMaxHydrationRows',
      'maxQueriesPerClientGroup',
    ]);
  } catch (e) {
    if (e instanceof ConfigError) bad(e.message);
    throw e;
  }
  const claims = authData(values.get('auth-data'));
  const sub = claims['sub'];
  return {
    help,
    json: switches.has('json'),
    input: help ? {kind: 'zql', text: ''} : input(values),
    schemaPath: values.get('schema-path') ?? settings.schemaPath ?? 'schema.ts',
    replicaFile: resolve(values.get('replica-file') ?? settings.replicaFile),
    applyPermissions: bool('apply-permissions', values.get('apply-permissions'), true),
    authData: claims,
    userID: values.get('user-id') ?? (typeof sub === 'string' && sub !== '' ? sub : 'anon'),
    token: token(values.get('auth-token-file')),
    budget: {
      maxQueryDepth: settings.queryMaxDepth,
      maxQueryNodes: settings.queryMaxNodes,
      maxInListLength: settings.queryMaxInListLength,
      maxQueryStringLength: settings.queryMaxStringLength,
      maxQueriesPerGroup: settings.maxQueriesPerClientGroup,
    },
    maxHydrationRows: settings.queryMaxHydrationRows,
    syncedQueries:
      settings.getQueriesUrl === undefined
        ? undefined
        : {url: settings.getQueriesUrl, apiKey: settings.getQueriesApiKey, appID: settings.appId},
    legacyApi: settings.legacyApi,
    // Quiet unless asked: the report (or one error line) is the output.
    logLevel: env['ZERO_LOG_LEVEL'] ? settings.logLevel : 'error',
  };
}
