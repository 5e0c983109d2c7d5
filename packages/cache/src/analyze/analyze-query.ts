// Query analysis for operators: how zero-cache's replica answers one query. The query is
// prepared as zero-cache prepares a client's (synced queries resolved by the app's API
// server, the query budget, the select permissions bound to the given auth data), run by
// the same engine over the same SQLite sources, and reported with the statements SQLite
// ran, their plans, the rows read and synced, the time, and the indexes it lacks.
import {shardNames} from '@zync/pg';
import {ProtocolError, astSchema, type AST} from '@zync/protocol';
import type {Logger, ReadonlyJSONValue} from '@zync/shared';
import {customQueryHash, mapAST, type DefinedPermissions, type Schema} from '@zync/zql';
import * as v from 'valibot';
import {PermissionsError} from '../permissions/permissions-error.ts';
import {SelectPermissions} from '../permissions/select-permissions.ts';
import {GetQueriesClient} from '../queries/get-queries-client.ts';
import type {QueryContext} from '../view-syncer/group-client.ts';
import {checkQueryBudget, type QueryBudget} from '../view-syncer/query-budget.ts';
import {AnalyzeError} from './analyze-error.ts';
import {missingIndexes, tableAccess, type MissingIndex, type TableAccess} from './plan-advice.ts';
import {runOnReplica, type PlanStep} from './replica-run.ts';
import {zqlToAST} from './zql-interpreter.ts';

export type AnalyzeInput =
  /** ZQL builder text: `issue.where("status", "open").limit(10)`. */
  | {readonly kind: 'zql'; readonly text: string}
  /** A query AST as JSON, in server names (as clients send it and zero-cache logs it). */
  | {readonly kind: 'ast'; readonly json: string}
  /** A synced query: its name and args, resolved by the app's API server. */
  | {
      readonly kind: 'synced';
      readonly name: string;
      readonly args: readonly ReadonlyJSONValue[];
    };

export type SyncedQueriesEndpoint = {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly appID: string;
  readonly timeoutMs?: number | undefined;
};

export type AnalyzeQueryOptions = {
  readonly replicaFile: string;
  readonly schema: Schema;
  /** The schema file's permissions; undefined when it exports none. */
  readonly permissions: DefinedPermissions | undefined;
  /** Bind the select permissions to `authData`, as zero-cache does (default on). */
  readonly applyPermissions: boolean;
  /** The claims the permissions see (`{}`: an anonymous connection). */
  readonly authData: Readonly<Record<string, ReadonlyJSONValue>>;
  /** The userID a synced query is resolved for. */
  readonly userID: string;
  /** The token forwarded to the API server for a synced query. Never printed. */
  readonly token: string | undefined;
  readonly input: AnalyzeInput;
  readonly budget: QueryBudget;
  readonly maxHydrationRows: number;
  /** ZERO_QUERY_URL and friends; needed for a synced query. */
  readonly syncedQueries: SyncedQueriesEndpoint | undefined;
  /** Raw queries are accepted from clients (the schema's enableLegacyQueries, ZERO_LEGACY_API). */
  readonly legacyQueries: boolean;
  readonly logger: Logger;
};

export type StatementReport = {
  readonly table: string;
  readonly sql: string;
  readonly executions: number;
  readonly rowsRead: number;
  readonly access: TableAccess;
  readonly plan: readonly PlanStep[];
};

export type AnalyzeReport = {
  readonly query: {
    readonly source: AnalyzeInput['kind'];
    readonly text?: string | undefined;
    readonly name?: string | undefined;
    readonly args?: readonly ReadonlyJSONValue[] | undefined;
    /** The query as zero-cache receives it (server names), before permissions. */
    readonly ast: AST;
    /** What the engine ran: with the select permissions when they were applied. */
    readonly preparedAST: AST;
  };
  readonly replica: {readonly file: string; readonly version: string};
  readonly permissions: {
    readonly applied: boolean;
    readonly authData: Readonly<Record<string, ReadonlyJSONValue>>;
  };
  readonly notes: readonly string[];
  readonly syncedRows: number;
  readonly syncedRowsByTable: Readonly<Record<string, number>>;
  /** Rows SQLite returned to the engine. */
  readonly rowsRead: number;
  readonly rowsReadByTable: Readonly<Record<string, number>>;
  /** Rows in each table the query read: what a scan of it goes through. */
  readonly tableRows: Readonly<Record<string, number>>;
  /** Time to hydrate the query, in milliseconds. */
  readonly hydrateMs: number;
  /** Time to prepare it (the API server's answer for a synced query included). */
  readonly prepareMs: number;
  /** The two together: what answering the query took. */
  readonly totalMs: number;
  readonly statements: readonly StatementReport[];
  readonly missingIndexes: readonly MissingIndex[];
  /** Set when the hydration went over ZERO_QUERY_MAX_HYDRATION_ROWS (zero-cache refuses it). */
  readonly refused?: string | undefined;
};

const CONTEXT_ID = 'analyze-query';

export async function analyzeQuery(o: AnalyzeQueryOptions): Promise<AnalyzeReport> {
  const notes: string[] = [];
  const started = performance.now();
  const ast = await resolveAST(o);
  if (o.input.kind !== 'synced' && !o.legacyQueries) {
    notes.push(
      'This app turns raw queries off (enableLegacyQueries: false or ZERO_LEGACY_API=false): ' +
        'zero-cache refuses this query from clients; it is analyzed anyway.',
    );
  }
  const over = checkQueryBudget(ast, o.budget);
  if (over) throw new AnalyzeError('refused', `zero-cache would refuse the query: ${over}`);
  const applied = o.applyPermissions && o.permissions !== undefined;
  if (!o.applyPermissions) notes.push('Permissions were not applied (--apply-permissions=false).');
  else if (!o.permissions) {
    notes.push('The schema file exports no permissions: zero-cache reads every row unfiltered.');
  }
  const preparedAST = applied ? withPermissions(o, ast) : ast;
  const prepareMs = performance.now() - started;

  const run = await runOnReplica({
    replicaFile: o.replicaFile,
    ast: preparedAST,
    maxHydrationRows: o.maxHydrationRows,
  });
  const rowsReadByTable: Record<string, number> = {};
  let rowsRead = 0;
  for (const s of run.statements) {
    rowsReadByTable[s.table] = (rowsReadByTable[s.table] ?? 0) + s.rowsRead;
    rowsRead += s.rowsRead;
  }
  let syncedRows = 0;
  for (const n of run.syncedRows.values()) syncedRows += n;
  return {
    query: {
      source: o.input.kind,
      ...(o.input.kind === 'zql' ? {text: o.input.text} : {}),
      ...(o.input.kind === 'synced' ? {name: o.input.name, args: o.input.args} : {}),
      ast,
      preparedAST,
    },
    replica: {file: o.replicaFile, version: run.version},
    permissions: {applied, authData: o.authData},
    notes,
    syncedRows,
    syncedRowsByTable: Object.fromEntries(run.syncedRows),
    rowsRead,
    rowsReadByTable,
    tableRows: Object.fromEntries(run.tableRows),
    hydrateMs: run.hydrateMs,
    prepareMs,
    totalMs: prepareMs + run.hydrateMs,
    statements: run.statements.map(s => ({
      table: s.table,
      sql: s.sql,
      executions: s.executions,
      rowsRead: s.rowsRead,
      access: tableAccess(s.plan),
      plan: s.plan,
    })),
    missingIndexes: missingIndexes(run.statements, run),
    ...(run.refused === undefined ? {} : {refused: run.refused}),
  };
}

function context(o: AnalyzeQueryOptions): QueryContext {
  return {
    clientID: CONTEXT_ID,
    clientGroupID: CONTEXT_ID,
    userID: o.userID,
    authData: o.authData,
    token: o.token,
  };
}

function withPermissions(o: AnalyzeQueryOptions, ast: AST): AST {
  // The auth data given is taken as verified claims, as zero-cache with a ZERO_AUTH_* key.
  const select = new SelectPermissions({
    permissions: o.permissions,
    claims: 'verified',
    logger: o.logger,
  });
  try {
    return select.apply(ast, context(o));
  } catch (e) {
    if (e instanceof PermissionsError) {
      throw new AnalyzeError('refused', `zero-cache would refuse the query: ${e.message}`);
    }
    throw e;
  }
}

/** The query in server names, as zero-cache receives it. */
async function resolveAST(o: AnalyzeQueryOptions): Promise<AST> {
  const input = o.input;
  switch (input.kind) {
    case 'zql':
      return toServerNames(zqlToAST(input.text, o.schema), o.schema, '--query');
    case 'ast':
      return checkNames(parseAST(input.json), o.schema);
    case 'synced':
      return checkNames(await transform(o, input.name, input.args), o.schema, input.name);
  }
}

function toServerNames(ast: AST, schema: Schema, what: string): AST {
  try {
    return mapAST(ast, schema, 'server');
  } catch (e) {
    throw new AnalyzeError('input', `${what}: ${(e as Error).message}`);
  }
}

/** Checks that a server-named AST names only tables and columns of the schema. */
function checkNames(ast: AST, schema: Schema, name?: string): AST {
  try {
    mapAST(ast, schema, 'client');
  } catch (e) {
    const what = name === undefined ? '--ast' : `the API server's query for ${name}`;
    throw new AnalyzeError(
      'input',
      `${what}: ${(e as Error).message} (the AST uses server names, as the schema's .from() gives them)`,
    );
  }
  return ast;
}

function parseAST(json: string): AST {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new AnalyzeError('input', `--ast: not JSON (${(e as Error).message})`);
  }
  const r = v.safeParse(astSchema, parsed);
  if (!r.success) {
    const issue = r.issues[0];
    const path = issue.path?.map(p => String(p.key)).join('.') ?? '';
    throw new AnalyzeError(
      'input',
      `--ast: not a query AST${path ? ` at ${path}` : ''}: ${issue.message}`,
    );
  }
  return r.output;
}

async function transform(
  o: AnalyzeQueryOptions,
  name: string,
  args: readonly ReadonlyJSONValue[],
): Promise<AST> {
  const endpoint = o.syncedQueries;
  if (!endpoint) {
    throw new AnalyzeError(
      'input',
      '--query-name needs the API server: set ZERO_QUERY_URL (or ZERO_GET_QUERIES_URL) as for zero-cache',
    );
  }
  const client = new GetQueriesClient({
    url: endpoint.url,
    apiKey: endpoint.apiKey,
    forwardCookies: false,
    appID: endpoint.appID,
    shardSchema: shardNames(endpoint.appID).schema,
    timeoutMs: endpoint.timeoutMs,
    retry: {initialDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 5_000},
    logger: o.logger,
  });
  const id = customQueryHash({name, args});
  let results;
  try {
    results = await client.transform([{id, name, args}], {
      userID: o.userID,
      token: o.token,
      cookie: undefined,
    });
  } catch (e) {
    if (e instanceof ProtocolError) {
      throw new AnalyzeError('api', `the API server refused the credentials: ${e.message}`);
    }
    throw e;
  }
  const t = results.get(id);
  if (!t) throw new AnalyzeError('api', `the API server did not answer for ${name}`);
  if (!t.ok) {
    throw new AnalyzeError(
      'api',
      `the API server did not resolve ${name} (${t.error.kind}): ${t.error.message}`,
    );
  }
  return t.ast;
}
