// What a query needs from whoever can run it (the Zero client, a server transaction).
// Builders from createBuilder() have no delegate: they only produce ASTs.
import type {AST} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';

export type TimeUnit = 's' | 'm' | 'h' | 'd' | 'y';
/** How long a query's rows stay cached after its last use. */
export type TTL = `${number}${TimeUnit}` | 'forever' | 'none' | number;

export type ResultType = 'unknown' | 'complete' | 'error';

export type QueryErrorDetails = {
  readonly error: 'app' | 'http' | 'parse' | 'zero';
  readonly id?: string | undefined;
  readonly name?: string | undefined;
  readonly message?: string | undefined;
  readonly details?: ReadonlyJSONValue | undefined;
};

export type Listener<T> = (data: T, resultType: ResultType, error?: QueryErrorDetails) => void;

/** A live query result; `destroy()` must be called when done. */
export type TypedView<T> = {
  addListener(listener: Listener<T>): () => void;
  destroy(): void;
  updateTTL(ttl: TTL): void;
  readonly data: T;
};

export type RunOptions = {type: 'unknown' | 'complete'; ttl?: TTL | undefined};
export type PreloadOptions = {ttl?: TTL | undefined};
export type MaterializeOptions = PreloadOptions;

/**
 * A function that builds a framework-specific view (e.g. for Solid). The delegate decides
 * what it passes in; the query only forwards it.
 */
export type ViewFactory<T> = (...args: never[]) => T;

/** `{name, args}` of a synced (named) query. */
export type CustomQueryID = {
  readonly name: string;
  readonly args: ReadonlyArray<ReadonlyJSONValue>;
};

/**
 * Implemented by the client (and server transactions) to run queries. The query passes
 * itself; `query.ast` is the complete, frozen AST in client names.
 */
export interface QueryDelegate {
  materialize(
    query: AnyQueryLike,
    factory: ViewFactory<unknown> | undefined,
    ttl: TTL | undefined,
  ): unknown;
  run(query: AnyQueryLike, options: RunOptions | undefined): Promise<unknown>;
  preload(
    query: AnyQueryLike,
    options: PreloadOptions | undefined,
  ): {cleanup: () => void; complete: Promise<void>};
}

/** The part of a query a delegate reads. */
export type AnyQueryLike = {
  readonly ast: AST;
  readonly customQueryID: CustomQueryID | undefined;
  readonly format: Format;
  hash(): string;
};

/** The shape of a result: a list or a single row, and the same for each relationship. */
export type Format = {
  readonly singular: boolean;
  readonly relationships: {readonly [name: string]: Format};
};

/** Symbol.for so that a query from another copy of this module accepts a delegate too. */
export const delegateSymbol: unique symbol = Symbol.for('zync.query.delegate');
