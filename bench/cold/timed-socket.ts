// A WebSocket wrapper that notes, on the page's or the process's own clock
// (`performance.now()`: ms since navigation or process start), when the socket opened and
// when the frames of the first poke arrived and were handled. Shared by the cold Node
// client and the cold browser page.

/** The phases of one cold start, in ms from process start or navigation. */
export type Phases = {
  /** The client's code is loaded and evaluated (first line of the app script). */
  loaded: number;
  /** `new Zero(...)` returned. */
  created: number;
  /** The socket is open. */
  open: number;
  /** The first `pokePart` frame arrived (before the client handled it). */
  firstPart: number;
  /** The last `pokePart` frame arrived. */
  lastPart: number;
  /** The `poke` frame arrived. */
  poke: number;
  /** The view shows every row (the poke is applied; set by the app's listener). */
  applied: number;
  /** The view reported `complete` with every row. */
  complete: number;
  parts: number;
  /** Node only: the process's CPU time (user + system) when the view was complete. */
  cpuMs?: number;
  /** Node on Linux only: the main thread's CPU time then (see node-cpu.ts). */
  mainCpuMs?: number;
};

export const PHASES = [
  'loaded',
  'created',
  'open',
  'firstPart',
  'lastPart',
  'poke',
  'applied',
  'complete',
] as const;

type MessageLike = {data: unknown};
type RawSocket = {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: MessageLike) => void) | null;
  onclose: ((ev: {code: number; reason: string}) => void) | null;
  onerror: ((ev: unknown) => void) | null;
};

/** Frame kind from the start of a JSON frame: `["pokePart",` → `pokePart`. */
function kindOf(data: unknown): string {
  if (typeof data !== 'string') return '';
  const end = data.indexOf('"', 2);
  return end > 2 ? data.slice(2, end) : '';
}

/** Returns a socket factory for `Zero`'s `createSocket` that fills `phases`. */
export function timedSockets(
  make: (url: string) => RawSocket,
  phases: Partial<Phases>,
): (url: string) => RawSocket {
  return url => {
    const ws = make(url);
    const s: RawSocket = {
      get readyState() {
        return ws.readyState;
      },
      send: data => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    ws.onopen = ev => {
      phases.open ??= performance.now();
      s.onopen?.(ev);
    };
    ws.onclose = ev => s.onclose?.(ev);
    ws.onerror = ev => s.onerror?.(ev);
    ws.onmessage = ev => {
      // Until the view is complete: the poke that completes it is the last one noted.
      const kind = phases.complete === undefined ? kindOf(ev.data) : '';
      if (kind === 'pokePart') {
        const t = performance.now();
        phases.firstPart ??= t;
        phases.lastPart = t;
        phases.parts = (phases.parts ?? 0) + 1;
      } else if (kind === 'poke') {
        phases.poke = performance.now();
      }
      s.onmessage?.(ev);
    };
    return s;
  };
}
