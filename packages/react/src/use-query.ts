import type {AnyQuery, AnyQueryRequest, QueryResultType, ResultType, TTL} from '@zync/zql';
import {toQuery} from '@zync/zql';
import {useCallback, useMemo, useRef, useSyncExternalStore} from 'react';
import {useZero} from './zero-provider.tsx';

export type QueryResultDetails =
  | {readonly type: 'unknown'}
  | {readonly type: 'complete'}
  | {
      readonly type: 'error';
      readonly error: {readonly type: string; readonly message?: string | undefined};
      readonly message?: string | undefined;
      readonly details?: unknown;
      retry(): void;
    };

export type UseQueryOptions = {enabled?: boolean | undefined; ttl?: TTL | undefined};

type LiveView = {
  readonly data: unknown;
  addListener(fn: (data: unknown, rt: ResultType, err?: {message?: string}) => void): () => void;
  destroy(): void;
  /** Asks the server again for a query that failed. */
  retry?(): void;
};

type QueryLike<R> = {
  hash(): string;
  readonly format?: {readonly singular: boolean};
  materialize(ttl?: TTL): unknown;
  readonly customQueryID?: unknown;
  /** phantom: the row type */
  readonly __result?: R;
};

type Snapshot = readonly [unknown, QueryResultDetails];

const UNKNOWN: QueryResultDetails = Object.freeze({type: 'unknown'});
const COMPLETE: QueryResultDetails = Object.freeze({type: 'complete'});

/**
 * `[rows, details]` for a query, kept live. Returns `[]` (or undefined after `.one()`)
 * before the first data and never throws for "not yet". A defined query's request
 * (`queries.issue.byId(args)`) is bound to the instance's context here.
 */
export function useQuery<Q extends AnyQuery | AnyQueryRequest>(
  queryOrRequest: Q,
  options?: UseQueryOptions | boolean,
): [QueryResultType<Q>, QueryResultDetails] {
  const zero = useZero(); // must be inside a ZeroProvider
  const query = toQuery(queryOrRequest, zero.context);
  const q = query as unknown as QueryLike<unknown>;
  const enabled = typeof options === 'boolean' ? options : options?.enabled !== false;
  const ttl = typeof options === 'object' ? options.ttl : undefined;
  const singular = q.format?.singular === true;
  const empty: Snapshot = useMemo(() => [singular ? undefined : [], UNKNOWN] as const, [singular]);
  const hash = enabled ? q.hash() : '';
  const snapshot = useRef<Snapshot>(empty);
  const viewRef = useRef<LiveView | undefined>(undefined);

  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!enabled) {
        snapshot.current = empty;
        return () => {};
      }
      // Through the instance: queries from a shared builder carry no delegate of their own.
      const view = zero.materialize(query, ttl === undefined ? {} : {ttl}) as unknown as LiveView;
      viewRef.current = view;
      const unsub = view.addListener((data, rt, err) => {
        snapshot.current = [data, detailsOf(rt, err, () => view.retry?.())];
        onChange();
      });
      return () => {
        unsub();
        view.destroy();
        if (viewRef.current === view) viewRef.current = undefined;
        snapshot.current = empty;
      };
    },
    // The query is identified by its hash; a new object for the same query keeps the view.
    [hash, enabled, empty, zero],
  );
  const snap = useSyncExternalStore(
    subscribe,
    () => snapshot.current,
    () => empty,
  );
  return snap as [QueryResultType<Q>, QueryResultDetails];
}

function detailsOf(
  rt: ResultType,
  err: {message?: string; error?: string} | undefined,
  retry: () => void,
): QueryResultDetails {
  if (rt === 'complete') return COMPLETE;
  if (rt === 'error') {
    return {
      type: 'error',
      error: {type: err?.error ?? 'app', message: err?.message},
      message: err?.message,
      details: err,
      retry,
    };
  }
  return UNKNOWN;
}
