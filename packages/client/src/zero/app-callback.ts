// Calling into the app from the client: what an app callback throws is logged, never thrown
// into the client's own work.
import type {Logger} from '@zync/shared';
import {reloadPage} from './browser.ts';

/** Runs an app callback; what it throws is logged (by name), not thrown into the client. */
export function callApp<T>(fn: (arg: T) => void, arg: T, logger: Logger, name: string): void {
  try {
    fn(arg);
  } catch (e) {
    logger.error(`${name} threw`, {error: e instanceof Error ? e.name : typeof e});
  }
}

/**
 * Zero's rule for `onUpdateNeeded` and `onClientStateNotFound`: the app's handler if it gave
 * one; otherwise `unhandled` (a log line) and, in a browser, a reload once `writes` settle.
 */
export function callAppOrReload<T>(
  handler: ((arg: T) => void) | undefined,
  arg: T,
  o: {
    readonly logger: Logger;
    readonly name: string;
    readonly unhandled: () => void;
    readonly writes: Promise<unknown>;
  },
): void {
  if (handler) {
    callApp(handler, arg, o.logger, o.name);
    return;
  }
  o.unhandled();
  void o.writes.then(reloadPage);
}
