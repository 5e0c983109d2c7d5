// A remote JWKS with the behaviour ZERO_AUTH_JWKS_URL promises: keys are cached; a token
// whose `kid` is unknown triggers a refetch at once, but fetch attempts (successful or not)
// are at least `cooldownMs` apart, so junk tokens cannot turn zero-cache into a load
// generator against the key server; and when the URL goes down, the keys already fetched
// keep verifying (stale keys are refreshed in the background after `maxAgeMs`).
// jose's createRemoteJWKSet is close, but its cooldown counts from the last success only and
// it stops serving once its cache is older than its max age and the URL is down.
import {createLocalJWKSet, errors} from 'jose';
import type {FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters} from 'jose';
import type {Logger} from '@zync/shared';
import {fetchWithDeadline, OutboundError} from '../net/deadline.ts';

export type JwksCacheOptions = {
  readonly url: string;
  readonly logger: Logger;
  /** Minimum time between two fetch attempts. */
  readonly cooldownMs?: number | undefined;
  /** After this age the keys are refetched in the background (still served meanwhile). */
  readonly maxAgeMs?: number | undefined;
  /** Hard deadline of one fetch, body included. */
  readonly timeoutMs?: number | undefined;
  readonly now?: (() => number) | undefined;
};

type LocalSet = ReturnType<typeof createLocalJWKSet>;
type Key = Awaited<ReturnType<LocalSet>>;

const MAX_JWKS_BYTES = 512 * 1024;

export class JwksCache {
  readonly #url: URL;
  readonly #lc: Logger;
  readonly #cooldownMs: number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #local: LocalSet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<boolean> | undefined;
  /** Fetch attempts made (tests and stats). */
  fetches = 0;

  constructor(options: JwksCacheOptions) {
    this.#url = new URL(options.url);
    if (this.#url.protocol !== 'https:' && this.#url.protocol !== 'http:') {
      throw new TypeError('ZERO_AUTH_JWKS_URL must be an http(s) URL');
    }
    this.#lc = options.logger.with({component: 'jwks'});
    this.#cooldownMs = options.cooldownMs ?? 5_000;
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** The key resolver to hand to `jwtVerify`. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<Key> => {
    if (!this.#local) {
      await this.#refetch();
    } else if (this.#now() - this.#fetchedAt > this.#maxAgeMs) {
      void this.#refetch();
    }
    const local = this.#local;
    if (!local) throw new errors.JWKSTimeout('The key set is not available');
    try {
      return await local(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
      if (!(await this.#refetch()) || !this.#local) throw e;
      return this.#local(header, token);
    }
  };

  /**
   * Fetches now unless cooling down; resolves whether a fetch happened and succeeded. A
   * lookup arriving while a fetch runs shares it; the fetch's deadline bounds the wait.
   */
  #refetch(): Promise<boolean> {
    if (this.#pending) return this.#pending;
    if (this.#now() - this.#attemptedAt < this.#cooldownMs) return Promise.resolve(false);
    this.#attemptedAt = this.#now();
    const pending = this.#fetch().then(
      () => true,
      (e: unknown) => {
        this.#lc.warn('Could not fetch the JWKS; keeping the cached keys', {
          url: this.#url.origin + this.#url.pathname,
          error: e instanceof OutboundError ? e.kind : e instanceof Error ? e.name : 'unknown',
        });
        return false;
      },
    );
    this.#pending = pending.finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetch(): Promise<void> {
    this.fetches++;
    // The deadline covers the body too: a key server that drips bytes cannot hold the
    // pending fetch (and every lookup waiting on it) open.
    const res = await fetchWithDeadline(
      this.#url,
      {redirect: 'error', headers: {accept: 'application/json, application/jwk-set+json'}},
      this.#timeoutMs,
      MAX_JWKS_BYTES,
    );
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    const json = JSON.parse(res.text) as JSONWebKeySet;
    this.#local = createLocalJWKSet(json);
    this.#fetchedAt = this.#now();
    this.#lc.debug('Fetched the JWKS', {keys: Array.isArray(json.keys) ? json.keys.length : 0});
  }
}
