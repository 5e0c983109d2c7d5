// `zero.inspector`: what an instance's queries are doing, for debugging in the console or
// in tests. Nothing here runs until a method is called: the instance creates the inspector
// on first access of `zero.inspector`, and each call reads the query manager and the local
// store at that moment (a row count runs the query once over local data).
import type {AST} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {QueryErrorDetails, ResultType, Schema} from '@zync/zql';
import {completeOrdering} from '@zync/zql';
import type {Row} from '@zync/zql/ivm';
import {buildRowSet, materialize} from '@zync/zql/ivm';
import type {LocalState} from './local-state.ts';
import type {Desired, QueryManager} from './query-manager.ts';

/** One query of a client, as the inspector lists it. */
export interface InspectorQuery {
  /** The query's hash: its id on the wire and in zero-cache's logs. */
  readonly id: string;
  readonly clientID: string;
  readonly clientGroupID: string;
  /** A synced (or defined) query's name and args; null for a query sent as an AST. */
  readonly name: string | null;
  readonly args: readonly ReadonlyJSONValue[] | null;
  /** The query as the app built it (client names). */
  readonly ast: AST;
  /**
   * The AST as sent to zero-cache (server names), what `analyze-query --ast` takes; null for
   * a named query, which the server resolves through the app's API server.
   */
  readonly serverAST: AST | null;
  /**
   * `unknown` until the server's answer has arrived, then `complete`; `error` when the
   * server could not run it (see `error`).
   */
  readonly state: ResultType;
  /** The server has sent its full result (`state` is `complete`). */
  readonly got: boolean;
  readonly error: QueryErrorDetails | undefined;
  /** How long the server keeps it after its last use, in milliseconds. */
  readonly ttl: number;
  /** Views and preloads of this instance holding it; 0 once it is no longer used. */
  readonly views: number;
  /** When the last view or preload let it go (null while it is used). */
  readonly inactivatedAt: Date | null;
  /**
   * Rows its result holds in the local store, each once: the rows of every level, related
   * rows and the junction rows of two-hop relationships included (what the server syncs for
   * it, plus this client's own pending writes).
   */
  readonly rowCount: number;
}

export interface InspectorClientGroup {
  /** The client group's id (known once the local store is open). */
  readonly id: Promise<string>;
  /** The clients of the group this instance knows: itself (others live in other tabs). */
  clients(): Promise<InspectorClient[]>;
  clientsWithQueries(): Promise<InspectorClient[]>;
  /** The queries of those clients. */
  queries(): Promise<InspectorQuery[]>;
}

export interface InspectorClient {
  readonly id: string;
  readonly clientGroup: InspectorClientGroup;
  /** Its queries: those in use, then those released while the inspector existed. */
  queries(): Promise<InspectorQuery[]>;
  /** The rows of a table (client name) in the local store, in primary-key order. */
  rows(table: string): Promise<Row[]>;
}

export interface Inspector {
  readonly client: InspectorClient;
  readonly clientGroup: InspectorClientGroup;
  clients(): Promise<InspectorClient[]>;
  clientsWithQueries(): Promise<InspectorClient[]>;
}

/** What the inspector reads from an instance. */
export type InspectorSource = {
  readonly clientID: string;
  /** Resolves once the local store is loaded. */
  readonly clientGroupID: Promise<string>;
  readonly schema: Schema;
  readonly queries: QueryManager;
  readonly local: LocalState;
};

/** Released queries remembered at most (the oldest are forgotten first). */
const MAX_RELEASED = 1000;

type Released = {readonly d: Desired; readonly at: Date};

export function createInspector(src: InspectorSource): Inspector {
  // Released queries stay listed while the server still holds their result for the TTL.
  const released = new Map<string, Released>();
  src.queries.onRelease = d => {
    released.delete(d.hash);
    released.set(d.hash, {d, at: new Date()});
    if (released.size > MAX_RELEASED) released.delete(released.keys().next().value as string);
  };

  const rowCount = (ast: AST): number => {
    const rows = buildRowSet(ast, {getSource: t => src.local.sources.get(t)});
    let n = 0;
    rows.forEachRow(() => n++);
    rows.destroy();
    return n;
  };

  const describe = (d: Desired, groupID: string, at: Date | null): InspectorQuery => {
    const got = src.local.gotQueries.has(d.hash);
    const put = d.put;
    const ast = d.query.ast;
    return {
      id: d.hash,
      clientID: src.clientID,
      clientGroupID: groupID,
      name: put.name ?? null,
      args: put.args ?? null,
      ast,
      serverAST: put.ast ?? null,
      state: at === null ? src.queries.resultType(d.hash) : got ? 'complete' : 'unknown',
      got,
      error: at === null ? d.error : undefined,
      ttl: put.ttlMs ?? 0,
      views: at === null ? d.refs : 0,
      inactivatedAt: at,
      rowCount: rowCount(ast),
    };
  };

  const queries = async (): Promise<InspectorQuery[]> => {
    const groupID = await src.clientGroupID;
    const desired = src.queries.desired();
    const active = new Set(desired.map(d => d.hash));
    const out = desired.map(d => describe(d, groupID, null));
    for (const [hash, r] of released) {
      // Wanted again, or no longer held by the server (its TTL ran out): not listed.
      if (active.has(hash) || !src.local.gotQueries.has(hash)) released.delete(hash);
      else out.push(describe(r.d, groupID, r.at));
    }
    return out;
  };

  const rows = async (table: string): Promise<Row[]> => {
    await src.clientGroupID;
    const spec = src.schema.tables[table];
    if (!spec || !Object.hasOwn(src.schema.tables, table)) {
      throw new TypeError(
        `inspector.client.rows(): unknown table ${JSON.stringify(table)}; the schema has ${Object.keys(src.schema.tables).join(', ')}`,
      );
    }
    const ast: AST = {kind: 'query', table, orderBy: completeOrdering(undefined, spec.primaryKey)};
    const view = materialize(ast, {getSource: t => src.local.sources.get(t)});
    const data = view.data as readonly Row[];
    view.destroy();
    return [...data];
  };

  const clients = () => Promise.resolve([client]);
  const clientsWithQueries = async () => ((await queries()).length > 0 ? [client] : []);
  const clientGroup: InspectorClientGroup = {
    id: src.clientGroupID,
    clients,
    clientsWithQueries,
    queries,
  };
  const client: InspectorClient = {id: src.clientID, clientGroup, queries, rows};
  return {client, clientGroup, clients, clientsWithQueries};
}
