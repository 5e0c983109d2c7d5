// What a client group needs from a connected client, independent of the WebSocket.
import type {AST, DownstreamFrame, ErrorKind, QueryError, RowValue} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';

/** Who asks for a query; given to the query preparer (permissions, synced queries). */
export type QueryContext = {
  readonly clientID: string;
  readonly clientGroupID: string;
  readonly userID: string;
  /** The verified token's claims; `{}` for anonymous connections. */
  readonly authData: Readonly<Record<string, ReadonlyJSONValue>>;
  /** The raw token, for forwarding to the app's API server. Never log it. */
  readonly token: string | undefined;
  /** The WebSocket upgrade's Cookie header, forwarded only when configured. Never log it. */
  readonly cookie?: string | undefined;
  /** Set when re-preparing to revalidate: a preparer must not answer from its cache. */
  readonly revalidate?: boolean | undefined;
  /** Ends the connection with AuthInvalidated (the API server refused its credentials). */
  readonly refuseAuth?: ((message: string) => void) | undefined;
};

export interface GroupClient {
  readonly clientID: string;
  readonly context: QueryContext;
  /**
   * Sends an already-encoded frame (pokes are encoded once per group). A client whose
   * unsent backlog is over the limit is closed instead, unless `checkBacklog` is false:
   * the frames of a connect's catch-up (its parts, then its poke) are one step, bounded
   * by the group's size, and go out however far the client still is from reading them.
   */
  sendText(text: string, checkBacklog?: boolean): void;
  send(frame: DownstreamFrame): void;
  /** Sends an error frame and closes the connection. */
  fail(kind: ErrorKind, message: string): void;
  /** Closes the connection without an error, with a WebSocket close code and reason. */
  close(code: number, reason: string): void;
}

/** A query as a client asked for it. */
export type RequestedQuery = {
  readonly hash: string;
  readonly ast?: AST | undefined;
  readonly name?: string | undefined;
  readonly args?: readonly ReadonlyJSONValue[] | undefined;
};

export type PreparedQuery = {ok: true; ast: AST} | {ok: false; error: QueryError};

/**
 * Turns a requested query into the AST the group runs: resolves synced queries (name +
 * args) and binds permission filters to the client's auth data. Later work supplies the
 * real one; the default accepts ASTs as they are.
 */
export type QueryPreparer = (query: RequestedQuery, ctx: QueryContext) => Promise<PreparedQuery>;

export const passThroughQueryPreparer: QueryPreparer = query =>
  Promise.resolve(
    query.ast
      ? {ok: true, ast: query.ast}
      : {
          ok: false,
          error: {
            hash: query.hash,
            kind: 'unknown-query',
            message: 'Synced queries are not supported by this server yet',
          },
        },
  );

/** Which columns of a query's rows its reader may not see (cell select rules). */
export type CellMask = {
  /** Masks with equal keys hide the same columns of the same rows. */
  readonly key: string;
  /** The columns (server names) of `row` of `table` (server name) to leave out. */
  hidden(table: string, row: RowValue): readonly string[];
};

/** Gives the cell mask of a prepared query; see docs/permissions.md. */
export interface CellVisibility {
  /**
   * The mask for the rows of `ast` (a prepared AST, server names) as `ctx`'s client may see
   * them; undefined when nothing is hidden. Without `ctx` (a query loaded from the CVR and
   * not prepared again yet: whose claims are unknown) every column that has a cell select
   * rule is hidden.
   */
  mask(ast: AST, ctx: QueryContext | undefined): CellMask | undefined;
}
