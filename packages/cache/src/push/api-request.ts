// One POST to the app's API server, shared by custom mutation pushes and synced-query
// transforms: the headers zero-cache forwards, the timeout, and the classification of the
// answer (done, retry, or credentials refused). Callers own the retry loop and the body.
import {ProtocolError} from '@zync/protocol';

export type ApiCredentials = {
  readonly apiKey: string | undefined;
  readonly forwardCookies: boolean;
  /** The connection's token at the time of the attempt. Never logged. */
  readonly token: string | undefined;
  /** The WebSocket upgrade's Cookie header; sent only with `forwardCookies`. Never logged. */
  readonly cookie: string | undefined;
};

export type ApiAttempt =
  | {readonly kind: 'done'; readonly status: number; readonly json: unknown}
  | {readonly kind: 'retry'; readonly reason: string};

export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

export function apiHeaders(c: ApiCredentials): Record<string, string> {
  const headers: Record<string, string> = {'Content-Type': 'application/json'};
  if (c.apiKey !== undefined) headers['X-Api-Key'] = c.apiKey;
  if (c.token) headers['Authorization'] = `Bearer ${c.token}`;
  if (c.forwardCookies && c.cookie) headers['Cookie'] = c.cookie;
  return headers;
}

/**
 * POSTs `body` once. Network errors, timeouts, 429 and 5xx ask for a retry; 401/403 throw
 * ProtocolError('AuthInvalidated') with `refusal` as message; any other status is `done`
 * with the parsed JSON body (undefined when unreadable; a 2xx that is unreadable is a retry).
 */
export async function postToApiServer(
  url: string,
  body: string,
  credentials: ApiCredentials,
  timeoutMs: number,
  refusal: (status: number) => string,
): Promise<ApiAttempt> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: apiHeaders(credentials),
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const name = e instanceof Error ? e.name : 'Error';
    return {kind: 'retry', reason: name === 'TimeoutError' ? 'timeout' : 'network error'};
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new ProtocolError('AuthInvalidated', refusal(res.status));
  }
  if (res.status >= 500 || res.status === 429) {
    await res.body?.cancel();
    return {kind: 'retry', reason: `HTTP ${res.status}`};
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  if (res.ok && json === undefined) return {kind: 'retry', reason: 'unreadable response'};
  return {kind: 'done', status: res.status, json};
}
