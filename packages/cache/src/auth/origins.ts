// Which pages may open a WebSocket when zero-cache forwards cookies. A browser sends the
// user's cookies with any page's WebSocket upgrade (cross-site WebSocket hijacking), so with
// a *_FORWARD_COOKIES flag on, the upgrade's Origin must be one we trust. Without the flags
// nothing ambient is forwarded and every origin may connect (the token authenticates).

export type OriginConfig = {
  readonly mutateUrl?: string | undefined;
  readonly getQueriesUrl?: string | undefined;
  readonly mutateForwardCookies?: boolean | undefined;
  readonly getQueriesForwardCookies?: boolean | undefined;
  readonly allowedOrigins?: readonly string[] | undefined;
};

/** Decides on an upgrade's Origin header: true lets it through. */
export type OriginCheck = (origin: string | undefined) => boolean;

const LOCAL_DEV = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

function originOf(url: string): string | undefined {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? undefined : o;
  } catch {
    return undefined;
  }
}

/** The allowed origins for a config (for docs and logs), or undefined when all are allowed. */
export function allowedOrigins(config: OriginConfig): readonly string[] | undefined {
  if (!config.mutateForwardCookies && !config.getQueriesForwardCookies) return undefined;
  if (config.allowedOrigins !== undefined) {
    return config.allowedOrigins.map(o => originOf(o) ?? o);
  }
  const list = [config.mutateUrl, config.getQueriesUrl]
    .map(u => (u === undefined ? undefined : originOf(u)))
    .filter(o => o !== undefined);
  return [...new Set([...list, 'http://localhost:*', 'http://127.0.0.1:*'])];
}

/**
 * Undefined when cookies are not forwarded (no check). An upgrade without an Origin header
 * does not come from a browser page, so it carries no ambient cookies and passes.
 */
export function originCheck(config: OriginConfig): OriginCheck | undefined {
  const allowed = allowedOrigins(config);
  if (!allowed) return undefined;
  const exact = new Set(allowed);
  const localDev = config.allowedOrigins === undefined;
  return origin => {
    if (origin === undefined) return true;
    const o = origin.trim().toLowerCase();
    return exact.has(o) || (localDev && LOCAL_DEV.test(o));
  };
}
