// Transformations of synced queries, per (userID, credentials, name, args), kept for the
// revalidation interval. Credentials are keyed by a digest, never by their text.
import {createHash} from 'node:crypto';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {Transformed} from './get-queries-response.ts';

export function credentialID(secret: string | undefined): string {
  return secret ? createHash('sha256').update(secret).digest('base64url').slice(0, 22) : '-';
}

export function transformKey(
  userID: string,
  credentials: string,
  name: string,
  args: readonly ReadonlyJSONValue[],
): string {
  return JSON.stringify([userID, credentials, name, args]);
}

type Entry = {readonly value: Transformed; readonly at: number};

/** A bounded map (oldest entries go first) whose entries expire after `ttlMs`. */
export class TransformCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(ttlMs: number, max: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Transformed | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.#now() - e.at >= this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: Transformed): void {
    this.#entries.delete(key);
    this.#entries.set(key, {value, at: this.#now()});
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }
}
