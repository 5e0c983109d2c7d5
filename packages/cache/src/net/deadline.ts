// Hard deadlines for zero-cache's outbound HTTP calls (JWKS fetches, pushes and
// get-queries calls to the API server). A peer that sends its headers and then drips a
// byte a second, or never answers at all, must not hold a call (and everything queued
// behind it) open: each call gets a timer of its own that both aborts the socket and
// rejects the caller's promise, whatever the body is doing, so the call settles by its
// deadline even if the HTTP stack misses the abort. Bodies are also capped in size.

/** Why an outbound call was cut short. */
export type OutboundErrorKind = 'timeout' | 'too-large';

export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  readonly kind: OutboundErrorKind;
  constructor(kind: OutboundErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Runs `work` with an AbortSignal that fires after `timeoutMs`; the returned promise
 * settles by then at the latest (rejecting with OutboundError 'timeout').
 */
export function withDeadline<T>(
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    return Promise.reject(
      new TypeError(`withDeadline: timeoutMs must be a positive number of milliseconds`),
    );
  }
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new OutboundError('timeout', `no complete answer within ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  const running = work(controller.signal);
  // Whichever loses the race settles later, unobserved.
  running.catch(() => {});
  deadline.catch(() => {});
  return Promise.race([running, deadline]).finally(() => {
    clearTimeout(timer);
    // Frees the socket if the work is somehow still reading (e.g. it failed on size).
    if (!controller.signal.aborted) controller.abort();
  });
}

/** A response read whole, within the deadline and the size cap. */
export type BoundedResponse = {
  readonly status: number;
  readonly text: string;
  readonly redirect: boolean;
};

/**
 * `fetch` with a hard deadline covering the request and the whole body, and a cap on the
 * body's size in bytes.
 */
export function fetchWithDeadline(
  url: string | URL,
  init: Omit<RequestInit, 'signal'>,
  timeoutMs: number,
  maxBytes: number,
): Promise<BoundedResponse> {
  return withDeadline(timeoutMs, async signal => {
    const res = await fetch(url, {...init, signal});
    const text = await readCapped(res, maxBytes);
    return {status: res.status, text, redirect: res.headers.has('location')};
  });
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

export function tooLarge(maxBytes: number): OutboundError {
  return new OutboundError('too-large', `response body over ${maxBytes} bytes`);
}
