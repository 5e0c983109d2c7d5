// The connection lifecycle as an explicit state machine. See ../../SPEC.md.

export type ConnectionStateName =
  'connecting' | 'connected' | 'disconnected' | 'needs-auth' | 'error' | 'closed';

export type ConnectionState = {
  readonly name: ConnectionStateName;
  /** Why the connection is in this state. Never contains token text. */
  readonly reason?: string | undefined;
};

/** Which transitions are allowed, from → to. Anything else is a bug. */
const TRANSITIONS: Record<ConnectionStateName, readonly ConnectionStateName[]> = {
  connecting: ['connected', 'disconnected', 'needs-auth', 'error', 'closed', 'connecting'],
  connected: ['disconnected', 'needs-auth', 'error', 'closed', 'connecting'],
  disconnected: ['connecting', 'closed', 'needs-auth', 'disconnected'],
  'needs-auth': ['connecting', 'closed', 'needs-auth'],
  error: ['connecting', 'closed'],
  closed: [],
};

export function canTransition(from: ConnectionStateName, to: ConnectionStateName): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A subscribable holder of the current state; `current` is `{name, reason?}`. */
export class ConnectionStateStore {
  #current: ConnectionState;
  readonly #listeners = new Set<(s: ConnectionState) => void>();

  constructor(initial: ConnectionState) {
    this.#current = initial;
  }

  get current(): ConnectionState {
    return this.#current;
  }

  subscribe(fn: (s: ConnectionState) => void): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  /** Moves to `next`; returns false (and changes nothing) for a transition the spec forbids. */
  set(next: ConnectionState): boolean {
    const from = this.#current.name;
    if (!canTransition(from, next.name)) {
      return false;
    }
    if (from === next.name && this.#current.reason === next.reason) {
      return true;
    }
    this.#current = Object.freeze({...next});
    for (const fn of [...this.#listeners]) {
      fn(this.#current);
    }
    return true;
  }
}
