// Chains query preparers: each one's AST is handed to the next (e.g. synced queries resolve
// name + args, then permissions bind select rules to the resolved AST).
import type {QueryPreparer} from '../view-syncer/group-client.ts';

export function composePreparers(...preparers: readonly QueryPreparer[]): QueryPreparer {
  if (preparers.length === 0) throw new TypeError('composePreparers needs at least one preparer');
  return async (query, ctx) => {
    let current = query;
    let result = await preparers[0]!(current, ctx);
    for (const next of preparers.slice(1)) {
      if (!result.ok) return result;
      current = {hash: query.hash, ast: result.ast};
      result = await next(current, ctx);
    }
    return result;
  };
}
