// The operations endpoints of zero-cache on several processes (docs/operations.md, "Several
// processes"): the dispatcher serves /metrics, /admin and its JSON routes with the same
// handler as single-process zero-cache (admin/admin-http.ts), behind the same password, from
// an AdminSource that asks the children over IPC (`admin` messages) and merges their answers:
// metrics with metrics/merge.ts, statz figures summed, a group's view and its drop from the
// worker that owns the group (routing.ts). The history is sampled here from merged figures;
// the OTLP export, when configured, runs here over the merged registry.
import {collectDefaultMetrics, Registry} from 'prom-client';
import type {Logger} from '@zync/shared';
import {adminHttpHandler, type HttpHandler} from '../admin/admin-http.ts';
import {STATZ_MAX_GROUPS, type AdminSource, type Statz} from '../admin/admin-source.ts';
import {History} from '../admin/history.ts';
import type {ZeroConfig} from '../config/parse-config.ts';
import {mergeMetrics} from '../metrics/merge.ts';
import type {OtlpExport} from '../metrics/otlp-export.ts';
import {startOtlpLazily} from '../metrics/otlp-lazy.ts';
import type {MetricsJSON} from '../metrics/prom-metrics.ts';
import type {ChildHandle} from './child-handle.ts';
import type {AdminReply, AdminRequest, ChildRole, ChildStatz, FromChild} from './messages.ts';
import {workerIndexFor} from './routing.ts';

export type AdminChild = {
  readonly name: string;
  readonly role: ChildRole;
  readonly handle: ChildHandle | undefined;
};

export type DispatcherAdminOptions = {
  readonly config: Pick<ZeroConfig, 'adminPassword' | 'otlpMetrics'>;
  readonly lc: Logger;
  /** The replicator and the workers (in index order) now. */
  readonly children: () => readonly AdminChild[];
  /** How often the status page's history is sampled (default 10 s). */
  readonly historyIntervalMs?: number | undefined;
};

/** How long the dispatcher waits for a child's answer before going without it. */
const ASK_TIMEOUT_MS = 2_000;
const HISTORY_WINDOW_MS = 3_600_000;
/** Process metrics keep one series per process (a `process` label); the rest is merged. */
const PER_PROCESS = /^(process_|nodejs_)/;

/** A failure to reach the process that holds what was asked (HTTP 500, logged by name). */
export class ChildUnavailable extends Error {
  constructor(name: string) {
    super(`the ${name} process did not answer`);
    this.name = 'ChildUnavailable';
  }
}

type AdminAnswer = Extract<FromChild, {type: 'admin'}>;

export class DispatcherAdmin {
  readonly http: HttpHandler;
  readonly #o: DispatcherAdminOptions;
  readonly #own: Registry | undefined;
  readonly #waiting = new Map<number, (a: AdminAnswer | undefined) => void>();
  #nextID = 0;
  #timer: NodeJS.Timeout | undefined;
  #otlp: Promise<OtlpExport | undefined> = Promise.resolve(undefined);

  constructor(o: DispatcherAdminOptions) {
    this.#o = o;
    const {config, lc} = o;
    const on = config.adminPassword !== undefined || config.otlpMetrics !== undefined;
    if (on) {
      this.#own = new Registry();
      collectDefaultMetrics({register: this.#own});
    }
    const otlpConfig = config.otlpMetrics;
    if (on && otlpConfig) {
      const merged = {getMetricsAsJSON: async () => (await this.#merged()).getMetricsAsJSON()};
      this.#otlp = startOtlpLazily(merged, otlpConfig, lc);
    }
    if (config.adminPassword === undefined) {
      lc.info('Admin endpoints and /metrics are off (ZERO_ADMIN_PASSWORD is not set)');
      this.http = () => false;
      return;
    }
    const intervalMs = o.historyIntervalMs ?? 10_000;
    const history = new History(Math.max(1, Math.ceil(HISTORY_WINDOW_MS / intervalMs)));
    const sample = () =>
      void this.#statz(true).then(
        s => history.record(s.sample),
        () => {},
      );
    sample();
    this.#timer = setInterval(sample, intervalMs);
    this.#timer.unref();
    const source: AdminSource = {
      statz: async () => (await this.#statz(false)).statz,
      group: async id =>
        (await this.#askOwner(id, {kind: 'group', clientGroupID: id})) ?? undefined,
      dropGroup: id => this.#askOwner(id, {kind: 'drop', clientGroupID: id}),
      metrics: async () => {
        const r = await this.#merged();
        return {contentType: r.contentType, text: await r.metrics()};
      },
      history: () => Promise.resolve({intervalMs, samples: history.samples()}),
    };
    this.http = adminHttpHandler({password: config.adminPassword, logger: lc, source});
    lc.info('Admin endpoints on /metrics and /admin (ZERO_ADMIN_PASSWORD)');
  }

  /** A child's answer to an `admin` request (from the dispatcher's message handler). */
  answered(msg: AdminAnswer): void {
    this.#waiting.get(msg.id)?.(msg);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await (await this.#otlp)?.stop();
  }

  /** Asks one child; undefined when it is not ready, fails, or does not answer in time. */
  #ask<K extends AdminRequest['kind']>(
    child: AdminChild | undefined,
    request: Extract<AdminRequest, {kind: K}>,
  ): Promise<AdminReply[K] | undefined> {
    const h = child?.handle;
    if (!h?.ready) return Promise.resolve(undefined);
    const id = ++this.#nextID;
    return new Promise(res => {
      const settle = (a: AdminAnswer | undefined) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        res(a && a.error === undefined ? (a.reply as AdminReply[K]) : undefined);
      };
      const timer = setTimeout(() => settle(undefined), ASK_TIMEOUT_MS);
      this.#waiting.set(id, settle);
      void h.send({type: 'admin', id, request}).then(ok => {
        if (!ok) settle(undefined);
      });
    });
  }

  /** Asks the worker that owns the group; throws when it does not answer. */
  async #askOwner<K extends 'group' | 'drop'>(
    groupID: string,
    request: Extract<AdminRequest, {kind: K}>,
  ): Promise<AdminReply[K]> {
    const workers = this.#o.children().filter(c => c.role === 'sync-worker');
    const owner = workers[workerIndexFor(groupID, workers.length)];
    const reply = await this.#ask<K>(owner, request);
    if (reply === undefined) throw new ChildUnavailable(owner?.name ?? 'sync-worker');
    return reply;
  }

  /** Every process's metrics in one registry: zero-cache's summed, process metrics labelled. */
  async #merged(): Promise<Registry> {
    const children = this.#o.children();
    const parts = await Promise.all(children.map(c => this.#ask(c, {kind: 'metrics'})));
    const own = this.#own ? await this.#own.getMetricsAsJSON() : [];
    const all = [labelled(own, 'dispatcher')];
    parts.forEach((p, i) => {
      if (p) all.push(labelled(p, children[i]!.name));
    });
    return mergeMetrics(all);
  }

  async #statz(takeIntervalLag: boolean) {
    const parts = (
      await Promise.all(this.#o.children().map(c => this.#ask(c, {kind: 'statz', takeIntervalLag})))
    ).filter((p): p is ChildStatz => p !== undefined);
    const workers = parts.filter(p => p.replica === undefined);
    const sum = (f: (p: ChildStatz) => number, of = workers) => of.reduce((n, p) => n + f(p), 0);
    const m = process.memoryUsage();
    const memory = {
      rssBytes: m.rss + sum(p => p.memory.rssBytes, parts),
      heapUsedBytes: m.heapUsed + sum(p => p.memory.heapUsedBytes, parts),
      heapTotalBytes: m.heapTotal + sum(p => p.memory.heapTotalBytes, parts),
      externalBytes: m.external + sum(p => p.memory.externalBytes, parts),
    };
    const groups = workers.flatMap(p => p.groups);
    groups.sort((a, b) => b.queries - a.queries || b.clients - a.clients);
    const replica = parts.find(p => p.replica)?.replica;
    const clientGroups = sum(p => p.clientGroups);
    const statz: Statz = {
      time: new Date().toISOString(),
      uptimeSeconds: Math.round(process.uptime()),
      replica: {
        version: replica?.version ?? '',
        lagBytes: replica?.lagBytes ?? 0,
        lastCommitLagMs: replica?.lastCommitLagMs == null ? null : round(replica.lastCommitLagMs),
      },
      connections: sum(p => p.connections),
      clientGroups,
      clients: sum(p => p.clients),
      queries: sum(p => p.queries),
      memory,
      groups: groups.slice(0, STATZ_MAX_GROUPS),
      groupsTruncated: clientGroups > Math.min(groups.length, STATZ_MAX_GROUPS),
    };
    const sample = {
      t: Date.now(),
      connections: statz.connections,
      clientGroups,
      queries: statz.queries,
      lagMs: replica?.intervalLagMs ?? null,
      lagBytes: statz.replica.lagBytes,
      rssBytes: memory.rssBytes,
    };
    return {statz, sample};
  }
}

function labelled(json: MetricsJSON, proc: string): MetricsJSON {
  return json.map(m =>
    PER_PROCESS.test(m.name)
      ? {...m, values: m.values.map(v => ({...v, labels: {...v.labels, process: proc}}))}
      : m,
  );
}

const round = (ms: number) => Math.round(ms * 100) / 100;
