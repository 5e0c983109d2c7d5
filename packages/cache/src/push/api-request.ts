// One POST to the app's API server, shared by custom mutation pushes and synced-query
// transforms: the headers zero-cache forwards, the hard deadline (request and body; see
// net/deadline.ts), and the classification of the answer (done, retry, or credentials
// refused). Callers own the retry loop and the body.
import http from 'node:http';
import https from 'node:https';
import {ProtocolError} from '@zync/protocol';
import {fetchWithDeadline, OutboundError, tooLarge, withDeadline} from '../net/deadline.ts';

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

/** Each attempt's hard deadline (request and whole body) and largest body read. */
export type ApiLimits = {readonly timeoutMs: number; readonly maxBytes: number};

/**
 * POSTs `body` once. Network errors, timeouts, 429 and 5xx ask for a retry; 401/403 throw
 * ProtocolError('AuthInvalidated') with `refusal` as message; any other status is `done`
 * with the parsed JSON body (undefined when unreadable; a 2xx that is unreadable is a retry).
 */
export async function postToApiServer(
  url: string,
  body: string,
  credentials: ApiCredentials,
  limits: ApiLimits,
  refusal: (status: number) => string,
): Promise<ApiAttempt> {
  const headers = apiHeaders(credentials);
  let res: RawResponse;
  try {
    res = await post(url, body, headers, limits);
    // fetch follows redirects; so does this, through fetch itself (rare enough).
    if (res.status >= 300 && res.status < 400 && res.redirect) {
      res = await fetchWithDeadline(
        url,
        {method: 'POST', headers, body},
        limits.timeoutMs,
        limits.maxBytes,
      );
    }
  } catch (e) {
    if (e instanceof OutboundError) {
      return {kind: 'retry', reason: e.kind === 'timeout' ? 'timeout' : 'response too large'};
    }
    return {kind: 'retry', reason: 'network error'};
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

/** Largest API server answer read by default (a get-queries answer holds every query's AST). */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

// Keep-alive agents: a push is one request to the same API server after another. Idle
// sockets are closed after 4 s, before a Node server's default keep-alive timeout (5 s).
const agents = {
  http: new http.Agent({keepAlive: true, timeout: 4_000}),
  https: new https.Agent({keepAlive: true, timeout: 4_000}),
};

/**
 * One POST through node:http(s) with a keep-alive agent: the same request as `fetch` would
 * make, at a fraction of its cost per request (it sits on every custom mutation's round
 * trip). The body is read whole; the deadline covers the request and the body.
 */
async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  limits: ApiLimits,
): Promise<RawResponse> {
  const once = () =>
    withDeadline(limits.timeoutMs, signal => postOnce(url, body, headers, signal, limits.maxBytes));
  try {
    return await once();
  } catch (e) {
    // A kept-alive socket the server closed meanwhile: the request did not get through.
    if ((e as {reusedSocket?: unknown}).reusedSocket !== true) throw e;
    return once();
  }
}

function postOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  maxBytes: number,
): Promise<RawResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  if (!secure && u.protocol !== 'http:') {
    return Promise.reject(new TypeError('The API server URL must be http(s)'));
  }
  return new Promise<RawResponse>((resolve, reject) => {
    let responded = false;
    // Aborting the signal destroys the request and its socket, body included.
    const req = (secure ? https : http).request(
      u,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        headers: {...headers, 'Content-Length': String(Buffer.byteLength(body))},
        signal,
      },
      res => {
        responded = true;
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (c: Buffer) => {
          total += c.byteLength;
          if (total > maxBytes) {
            req.destroy(tooLarge(maxBytes));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({
            status,
            text: Buffer.concat(chunks).toString('utf8'),
            redirect: res.headers.location !== undefined,
          });
        });
      },
    );
    req.on('error', (e: Error & {code?: unknown}) => {
      const stale = req.reusedSocket && e.code === 'ECONNRESET' && !responded;
      reject(stale ? Object.assign(e, {reusedSocket: true}) : e);
    });
    req.end(body);
  });
}
