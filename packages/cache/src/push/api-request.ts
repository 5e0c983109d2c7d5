// One POST to the app's API server, shared by custom mutation pushes and synced-query
// transforms: the headers zero-cache forwards, the timeout, and the classification of the
// answer (done, retry, or credentials refused). Callers own the retry loop and the body.
import http from 'node:http';
import https from 'node:https';
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
  const headers = apiHeaders(credentials);
  let res: RawResponse;
  try {
    res = await post(url, body, headers, timeoutMs);
    // fetch follows redirects; so does this, through fetch itself (rare enough).
    if (res.status >= 300 && res.status < 400 && res.redirect) {
      res = await postWithFetch(url, body, headers, timeoutMs);
    }
  } catch (e) {
    const name = e instanceof Error ? e.name : 'Error';
    return {kind: 'retry', reason: name === 'TimeoutError' ? 'timeout' : 'network error'};
  }
  if (res.status === 401 || res.status === 403) {
    throw new ProtocolError('AuthInvalidated', refusal(res.status));
  }
  if (res.status >= 500 || res.status === 429) {
    return {kind: 'retry', reason: `HTTP ${res.status}`};
  }
  let json: unknown;
  try {
    json = JSON.parse(res.text) as unknown;
  } catch {
    json = undefined;
  }
  if (res.status >= 200 && res.status < 300 && json === undefined) {
    return {kind: 'retry', reason: 'unreadable response'};
  }
  return {kind: 'done', status: res.status, json};
}

type RawResponse = {status: number; text: string; redirect: boolean};

// Keep-alive agents: a push is one request to the same API server after another. Idle
// sockets are closed after 4 s, before a Node server's default keep-alive timeout (5 s).
const agents = {
  http: new http.Agent({keepAlive: true, timeout: 4_000}),
  https: new https.Agent({keepAlive: true, timeout: 4_000}),
};

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * One POST through node:http(s) with a keep-alive agent: the same request as `fetch` would
 * make, at a fraction of its cost per request (it sits on every custom mutation's round
 * trip). The body is read whole; `timeoutMs` covers the request and the body.
 */
async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<RawResponse> {
  try {
    return await postOnce(url, body, headers, timeoutMs);
  } catch (e) {
    // A kept-alive socket the server closed meanwhile: the request did not get through.
    if ((e as {reusedSocket?: unknown}).reusedSocket !== true) throw e;
    return postOnce(url, body, headers, timeoutMs);
  }
}

function postOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<RawResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  if (!secure && u.protocol !== 'http:') return postWithFetch(url, body, headers, timeoutMs);
  return new Promise<RawResponse>((resolve, reject) => {
    let responded = false;
    const req = (secure ? https : http).request(
      u,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        headers: {...headers, 'Content-Length': String(Buffer.byteLength(body))},
      },
      res => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          resolve({
            status,
            text: Buffer.concat(chunks).toString('utf8'),
            redirect: res.headers.location !== undefined,
          });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new TimeoutError('timed out')), timeoutMs);
    function fail(e: Error) {
      clearTimeout(timer);
      reject(e);
    }
    req.on('error', (e: Error & {code?: unknown}) => {
      const stale = req.reusedSocket && e.code === 'ECONNRESET' && !responded;
      fail(stale ? Object.assign(e, {reusedSocket: true}) : e);
    });
    req.end(body);
  });
}

async function postWithFetch(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<RawResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return {status: res.status, text: await res.text(), redirect: false};
}
