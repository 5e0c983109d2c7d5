// Where tokens come from: a fixed string, or the app's function (API.md "Auth outcomes").

export type AuthOption =
  string | ((error?: 'invalid-token') => string | undefined | Promise<string | undefined>);

/** Two rejections within this window end in `needs-auth` instead of another attempt. */
export const REJECTION_WINDOW_MS = 10_000;

export class AuthSource {
  #option: AuthOption | undefined;
  #token: string | undefined;
  #fetched = false;
  #lastRejectionAt = Number.NEGATIVE_INFINITY;
  readonly #now: () => number;

  constructor(option: AuthOption | undefined, now: () => number = Date.now) {
    this.#option = option;
    this.#now = now;
    if (typeof option === 'string') {
      this.#token = option;
      this.#fetched = true;
    }
  }

  get isFunction(): boolean {
    return typeof this.#option === 'function';
  }

  get token(): string | undefined {
    return this.#token;
  }

  /** Replaces the token (and, if given, the function) on demand. */
  replace(option: AuthOption): void {
    this.#option = option;
    this.#fetched = typeof option === 'string';
    this.#token = typeof option === 'string' ? option : undefined;
    this.#lastRejectionAt = Number.NEGATIVE_INFINITY;
  }

  /** The token for the next connect: calls the function once for the first token. */
  async current(): Promise<string | undefined> {
    if (!this.#fetched && typeof this.#option === 'function') {
      this.#token = (await this.#option()) ?? undefined;
      this.#fetched = true;
    }
    return this.#token;
  }

  /**
   * The server rejected the current token. Returns a new token to reconnect with, or
   * undefined when the client must enter `needs-auth` (string token, no new token, or a
   * second rejection within the window).
   */
  async rejected(): Promise<string | undefined> {
    const now = this.#now();
    const recent = now - this.#lastRejectionAt < REJECTION_WINDOW_MS;
    this.#lastRejectionAt = now;
    if (typeof this.#option !== 'function' || recent) {
      return undefined;
    }
    this.#token = (await this.#option('invalid-token')) ?? undefined;
    return this.#token;
  }

  /** Asks the function for a fresh token before the current one expires. */
  async refresh(): Promise<string | undefined> {
    if (typeof this.#option !== 'function') {
      return undefined;
    }
    const next = (await this.#option()) ?? undefined;
    if (next !== undefined) {
      this.#token = next;
    }
    return next;
  }
}
