// A sync worker's view of replica advances: the replicator's commits, relayed by the
// dispatcher. Each version arrives after its transaction was committed whole to the replica,
// so a snapshot pinned on it never sees half of an upstream transaction.
import type {ReplicaNotifier} from '../view-syncer/query-driver.ts';

export class VersionRelay implements ReplicaNotifier {
  readonly #listeners = new Set<(version: string) => void>();
  #version = '';

  get version(): string {
    return this.#version;
  }

  subscribe(listener: (version: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A newer version (an older or repeated one, e.g. after a replicator restart, is ignored). */
  advanced(version: string): void {
    if (version <= this.#version) return;
    this.#version = version;
    for (const l of this.#listeners) l(version);
  }
}
