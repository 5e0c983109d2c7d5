// The cost guard of one query's hydration: every row its pipeline fetches from the replica
// counts (the rows EXISTS checks read included), and a query that reads more than the
// budget is stopped and refused with a QueryError naming the setting. Nested OR-ed EXISTS
// chains within the AST budget can still ask for work exponential in their depth; this
// bounds it. See docs/security.md ("Cooperative steps").
import type {QueryError} from '@zync/protocol';

/** The setting of the budget, named in the error of a query over it. */
export const HYDRATION_ROWS_SETTING = 'ZERO_QUERY_MAX_HYDRATION_ROWS';

/**
 * Rows one query's hydration may read, `exists` checks included. Measured: on the worst
 * query the default budget allows, a million rows is about 10 s of (sliced) engine work.
 */
export const DEFAULT_MAX_HYDRATION_ROWS = 1_000_000;

export class HydrationBudgetError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(
      `The query read more than ${limit} rows of the replica to hydrate; the limit is ` +
        `${limit} (${HYDRATION_ROWS_SETTING}). Simplify the query or raise the setting`,
    );
    this.name = 'HydrationBudgetError';
    this.limit = limit;
  }
}

/** Counts the rows one query fetches; over the limit (while armed) the fetch throws. */
export class HydrationMeter {
  rows = 0;
  #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  readonly visit = (): void => {
    if (++this.rows > this.#limit) throw new HydrationBudgetError(this.#limit);
  };

  /** Hydration is over: later fetches (while advancing) are counted, never refused. */
  disarm(): void {
    this.#limit = Infinity;
  }
}

/** The QueryError for a query whose hydration threw `e`. */
export function hydrationQueryError(hash: string, e: unknown): QueryError {
  if (e instanceof HydrationBudgetError) return {hash, kind: 'refused', message: e.message};
  return {hash, kind: 'internal', message: 'The query could not be run'};
}
