// One POST to the app's API server through undici, bounded: a connect deadline, the
// headers and body deadlines, and a hard deadline over the whole attempt (redirects and
// body included; net/deadline.ts), which holds even against a server that drips a byte at
// a time. The body is read whole up to a size cap. Failures are described by what they
// mean for a retry (was the request perhaps sent?), never by their text, which can name
// hosts. Headers are never logged or put in errors.
import type {Dispatcher, request as undiciRequest} from 'undici';
import {OutboundError, tooLarge, withDeadline} from '../net/deadline.ts';
import type {AttemptFailure} from './retry-policy.ts';

/** Each attempt's hard deadline (the whole exchange) and largest body read. */
export type PostLimits = {readonly timeoutMs: number; readonly maxBytes: number};

export type PostResponse = {
  readonly status: number;
  readonly text: string;
  readonly retryAfter: string | undefined;
};

/** Longest wait for a TCP (and TLS) connection, within the attempt's deadline. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Redirects followed per attempt (307/308 only; see `redirectTarget`). */
export const MAX_REDIRECTS = 5;

// One keep-alive pool per API server origin, shared by pushes and get-queries calls (often
// the same server). Idle sockets are closed after 4 s, or earlier when the server's
// Keep-Alive header says so, before a Node server's default keep-alive timeout (5 s).
// undici is loaded by the first call rather than at zero-cache's start, which it would
// slow by about a tenth of a second (measured on the compiled command).
let client: Promise<{request: typeof undiciRequest; dispatcher: Dispatcher}> | undefined;
function undici() {
  client ??= import('undici').then(u => ({
    request: u.request,
    dispatcher: new u.Agent({connect: {timeout: CONNECT_TIMEOUT_MS}, keepAliveTimeout: 4_000}),
  }));
  return client;
}

export class PostFailure extends Error {
  override readonly name = 'PostFailure';
  readonly failure: AttemptFailure;
  constructor(failure: AttemptFailure, options?: {cause?: unknown}) {
    super(failure.reason, options);
    this.failure = failure;
  }
}

/**
 * POSTs `body` and reads the answer, following 307/308 redirects. Rejects with PostFailure
 * when no complete answer came.
 */
export async function postBounded(
  url: URL,
  body: string,
  headers: Readonly<Record<string, string>>,
  limits: PostLimits,
): Promise<PostResponse> {
  // Outside the try: a missing undici is an installation error, not a network one.
  const u = await undici();
  try {
    return await withDeadline(limits.timeoutMs, signal =>
      exchange(u, url, body, headers, limits, signal),
    );
  } catch (e) {
    throw e instanceof PostFailure ? e : new PostFailure(describe(e), {cause: e});
  }
}

async function exchange(
  {request, dispatcher}: Awaited<ReturnType<typeof undici>>,
  start: URL,
  body: string,
  headers: Readonly<Record<string, string>>,
  limits: PostLimits,
  signal: AbortSignal,
): Promise<PostResponse> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      signal,
      dispatcher,
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
    });
    const location = header(res.headers['location']);
    const next =
      hop < MAX_REDIRECTS && location !== undefined
        ? redirectTarget(url, res.statusCode, location)
        : undefined;
    if (next) {
      await res.body.dump();
      url = next;
      continue;
    }
    const text = await readCapped(res.body, header(res.headers['content-length']), limits.maxBytes);
    // undici hands the connection back to its pool one event-loop turn after the answer
    // ends; a call made before then would open a second connection instead of reusing it.
    await new Promise<void>(resolve => setImmediate(resolve));
    return {status: res.statusCode, text, retryAfter: header(res.headers['retry-after'])};
  }
}

/**
 * Where a redirect leads, when it is followed: 307 and 308 keep the method and body
 * (301/302/303 would turn the POST into a GET, which no API endpoint answers), and only to
 * the same host over http(s), never from https down to http, since the request carries
 * the API key, the token and perhaps cookies. Anything else is answered as its status.
 */
export function redirectTarget(from: URL, status: number, location: string): URL | undefined {
  if (status !== 307 && status !== 308) return undefined;
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return undefined;
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return undefined;
  if (from.protocol === 'https:' && to.protocol !== 'https:') return undefined;
  if (to.hostname !== from.hostname || to.username !== '' || to.password !== '') return undefined;
  return to;
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  declared: string | undefined,
  maxBytes: number,
): Promise<string> {
  if (declared !== undefined && Number(declared) > maxBytes) {
    body.destroy();
    throw tooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      body.destroy();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Errors raised before any byte of the request can have been sent. */
const NOT_CONNECTED = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
]);

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function describe(e: unknown): AttemptFailure {
  if (e instanceof OutboundError) {
    return {reason: e.kind === 'timeout' ? 'timeout' : 'response too large', sent: true};
  }
  const code = codeOf(e);
  if (code === 'UND_ERR_INVALID_ARG') {
    return {reason: 'invalid request (a header value HTTP cannot carry)', sent: false, final: true};
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return {reason: 'connect timeout', sent: false};
  if (code !== undefined && NOT_CONNECTED.has(code)) {
    return {reason: 'network error (no connection)', sent: false};
  }
  if (code !== undefined && TIMEOUTS.has(code)) return {reason: 'timeout', sent: true};
  return {reason: 'network error', sent: true};
}

function codeOf(e: unknown): string | undefined {
  const code = (e as {code?: unknown} | null)?.code;
  if (typeof code === 'string') return code;
  // A connection tried over several addresses fails with all their errors.
  if (e instanceof AggregateError) return codeOf(e.errors[0]);
  return undefined;
}
