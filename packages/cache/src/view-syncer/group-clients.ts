// The connected clients of a client group, and the last mutation ids they have been told.
// See docs/view-syncer.md.
import type {ErrorKind} from '@zync/protocol';
import type {GroupClient} from './group-client.ts';

/**
 * How the clients of a group that another node took over are closed: 1012 (Service
 * Restart), on which a client connects again at once, without backoff, and lands on the
 * node that holds its group now (see docs/cvr.md, "Ownership").
 */
export const GROUP_MOVED_CLOSE = {code: 1012, reason: 'client group moved to another node'};

export class GroupClients {
  readonly #clients = new Map<string, GroupClient>();
  readonly #lastMutationIDs: () => Record<string, number>;
  /** The last mutation ids the group's clients have been told. */
  #lmids: Record<string, number> = {};

  /** `lastMutationIDs` gives the group's current last mutation ids. */
  constructor(lastMutationIDs: () => Record<string, number>) {
    this.#lastMutationIDs = lastMutationIDs;
  }

  get size(): number {
    return this.#clients.size;
  }

  get(clientID: string): GroupClient | undefined {
    return this.#clients.get(clientID);
  }

  /** Whether `client` is the group's connection of its client (not replaced or gone). */
  isCurrent(client: GroupClient): boolean {
    return this.#clients.get(client.clientID) === client;
  }

  /** Drops the group's current connection of `clientID`, if any, telling it why. */
  replace(clientID: string): void {
    const previous = this.#clients.get(clientID);
    if (previous) {
      this.#clients.delete(clientID);
      previous.fail('InvalidConnectionRequest', 'Replaced by a newer connection of this client');
    }
  }

  add(client: GroupClient): void {
    this.#clients.set(client.clientID, client);
  }

  delete(clientID: string): void {
    this.#clients.delete(clientID);
  }

  clear(): void {
    this.#clients.clear();
  }

  /** Sends a frame to every client (see GroupClient.sendText for `checkBacklog`). */
  sendText(text: string, checkBacklog?: boolean): void {
    for (const c of this.#clients.values()) {
      if (checkBacklog === undefined) c.sendText(text);
      else c.sendText(text, checkBacklog);
    }
  }

  /** Disconnects every client with an error and forgets them. */
  failAll(kind: ErrorKind = 'Internal', message = 'The server lost this client group'): void {
    for (const c of this.#clients.values()) c.fail(kind, message);
    this.#clients.clear();
  }

  /** Closes every client without an error (see GROUP_MOVED_CLOSE) and forgets them. */
  closeAll(close: {readonly code: number; readonly reason: string}): void {
    for (const c of this.#clients.values()) c.close(close.code, close.reason);
    this.#clients.clear();
  }

  /** Every client's last mutation id; from now on, what the clients have been told. */
  allLastMutationIDs(): Record<string, number> {
    this.#lmids = this.#lastMutationIDs();
    return this.#lmids;
  }

  /** Last mutation ids that moved since the group's clients were last told. */
  lastMutationIDChanges(): Record<string, number> {
    const now = this.#lastMutationIDs();
    const changes: Record<string, number> = {};
    for (const [c, id] of Object.entries(now)) {
      if (this.#lmids[c] !== id) changes[c] = id;
    }
    this.#lmids = now;
    return changes;
  }
}
