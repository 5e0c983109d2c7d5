// The client groups this process holds in memory, created on first connect and dropped
// once idle. Routes client events to their group and replica advances to every group.
import type {QueryPatch} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import {ClientGroup} from './client-group.ts';
import type {CVRStore} from '../cvr/cvr-store.ts';
import type {Clock} from '../server/clock.ts';
import type {CellVisibility, GroupClient, QueryPreparer} from './group-client.ts';
import type {SyncLimits} from '../server/limits.ts';
import {MemoryReclaimer} from './memory-reclaimer.ts';
import {StepActivity} from './step-activity.ts';
import type {QueryDriverFactory} from './query-driver.ts';
import type {Metrics} from '../metrics/metrics.ts';
import type {GroupDetail, GroupSummary} from './group-inspect.ts';

export type GroupRegistryOptions = {
  readonly store: CVRStore;
  readonly createDriver: QueryDriverFactory;
  readonly prepareQuery: QueryPreparer;
  /** Which columns the cell select rules hide (none when absent). */
  readonly cells?: CellVisibility | undefined;
  readonly limits: SyncLimits;
  readonly logger: Logger;
  /** Collects the garbage of released groups (default: the engine's full collection). */
  readonly reclaimer?: MemoryReclaimer;
  readonly metrics?: Metrics | undefined;
  /** Time and timers of the groups' CVR write delays (default: the system clock). */
  readonly clock?: Clock | undefined;
};

/** What dropping a client group did (admin endpoints). */
export type DropResult = {
  /** The group was in memory here: its clients were disconnected. */
  readonly wasLoaded: boolean;
  /** Its CVR was deleted (false: there was none, or another process holds it). */
  readonly deleted: boolean;
};

export interface ConnectedClient extends GroupClient {
  readonly closed: boolean;
}

export class GroupRegistry {
  readonly #o: GroupRegistryOptions;
  readonly #groups = new Map<string, ClientGroup>();
  /** Groups being released: a new group for the same id waits until its CVR is written. */
  readonly #releasing = new Map<string, Promise<void>>();
  /** Groups being dropped: a new group for the same id waits until the CVR is gone. */
  readonly #dropping = new Map<string, Promise<unknown>>();
  #stopped = false;
  readonly #reclaimer: MemoryReclaimer;
  readonly #activity = new StepActivity();

  constructor(options: GroupRegistryOptions) {
    this.#o = options;
    this.#reclaimer = options.reclaimer ?? new MemoryReclaimer(options.logger, {});
  }

  /** Client groups currently held in memory. */
  get size(): number {
    return this.#groups.size;
  }

  has(groupID: string): boolean {
    return this.#groups.has(groupID);
  }

  #group(groupID: string): ClientGroup {
    let g = this.#groups.get(groupID);
    if (!g || g.done) {
      const group: ClientGroup = new ClientGroup({
        groupID,
        store: this.#o.store,
        driver: this.#o.createDriver(groupID),
        prepareQuery: this.#o.prepareQuery,
        cells: this.#o.cells,
        limits: this.#o.limits,
        logger: this.#o.logger,
        activity: this.#activity,
        metrics: this.#o.metrics,
        clock: this.#o.clock,
        onDone: done => {
          if (this.#groups.get(groupID) === done) this.#groups.delete(groupID);
          this.#releasing.set(groupID, done.stopped);
          const rows = done.rowCount;
          void done.stopped.finally(() => {
            if (this.#releasing.get(groupID) === done.stopped) this.#releasing.delete(groupID);
            if (!this.#stopped) this.#reclaimer.released(rows);
          });
        },
      });
      g = group;
      this.#groups.set(groupID, g);
    }
    return g;
  }

  async connect(
    client: ConnectedClient,
    baseVersion: string | null,
    desired: QueryPatch,
  ): Promise<void> {
    const groupID = client.context.clientGroupID;
    // A group may be released between lookup and its turn; then use a fresh one.
    for (let attempt = 0; attempt < 3 && !client.closed; attempt++) {
      if (this.#stopped) {
        client.fail('Internal', 'The server is shutting down');
        return;
      }
      await this.#dropping.get(groupID);
      await this.#releasing.get(groupID);
      if (await this.#group(groupID).connect(client, baseVersion, desired)) return;
    }
    if (!client.closed) client.fail('Internal', 'The client group could not be loaded');
  }

  async changeDesiredQueries(client: GroupClient, patch: QueryPatch): Promise<void> {
    await this.#groups.get(client.context.clientGroupID)?.changeDesiredQueries(client, patch);
  }

  /** The client's token was refreshed: its queries follow its new claims. */
  async authChanged(client: GroupClient): Promise<void> {
    await this.#groups.get(client.context.clientGroupID)?.authChanged(client);
  }

  /** The client's token changed: its synced queries are prepared again. */
  async reprepare(client: GroupClient): Promise<void> {
    await this.#groups.get(client.context.clientGroupID)?.reprepare(client);
  }

  disconnect(client: GroupClient): void {
    void this.#groups.get(client.context.clientGroupID)?.disconnect(client);
  }

  /** The replica advanced: every group in memory catches up. */
  advanceAll(): void {
    for (const g of this.#groups.values()) g.requestAdvance();
  }

  /** Every group in memory, in brief. */
  summaries(): GroupSummary[] {
    return [...this.#groups.values()].filter(g => !g.done).map(g => g.summary());
  }

  detail(groupID: string): GroupDetail | undefined {
    const g = this.#groups.get(groupID);
    return g && !g.done ? g.detail() : undefined;
  }

  /** Connected clients of all groups in memory. */
  clientCount(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.clientCount;
    return n;
  }

  /**
   * Drops a client group's state: its clients here are disconnected (ClientNotFound: they
   * drop their local state and sync again) and its CVR is deleted. A group that is not in
   * memory here loses its CVR only if no process holds it.
   */
  drop(groupID: string): Promise<DropResult> {
    const g = this.#groups.get(groupID);
    const loaded = g !== undefined && !g.done;
    const prior = this.#dropping.get(groupID);
    const dropping = (async (): Promise<DropResult> => {
      await prior?.catch(() => {});
      // A group loaded here is deleted only if no other node took it over since.
      const held = loaded ? await g.drop() : await this.#releasing.get(groupID);
      const deleted = await this.#o.store.deleteGroup(groupID, held ?? undefined);
      return {wasLoaded: loaded, deleted};
    })();
    this.#dropping.set(groupID, dropping);
    const settle = () => {
      if (this.#dropping.get(groupID) === dropping) this.#dropping.delete(groupID);
    };
    dropping.then(settle, settle);
    return dropping;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reclaimer.stop();
    const groups = [...this.#groups.values()];
    await Promise.all(groups.map(g => g.stop()));
    await Promise.all(this.#releasing.values());
  }
}
