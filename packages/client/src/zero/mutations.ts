// Optimistic mutations: run at once against local data, kept durably until the server has
// applied them, replayed on top of every server update (rebase), and pushed in order.
import type {CrudOp, Mutation, PushResponseBody} from '@zync/protocol';
import {CRUD_MUTATION_NAME} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';
import type {AnyQueryLike, QueryDelegate, Schema, SchemaQuery} from '@zync/zql';
import {createBuilder} from '@zync/zql';
import type {Row, Value} from '@zync/zql/ivm';
import type {KVOp, LocalState} from './local-state.ts';
import type {AppMutators, CustomMutator} from './mutator-defs.ts';
import {clientFailure, collectMutators} from './mutator-defs.ts';
import type {CrudKind} from './crud-ops.ts';
import {clientTable, crudClientRow, definedOnly, toServerOp} from './crud-ops.ts';
import type {ServerOutcome} from './mutation-outcome.ts';
import {SUCCESS, toOutcome} from './mutation-outcome.ts';

export type {ServerOutcome} from './mutation-outcome.ts';

export const PENDING_PREFIX = 'p/';

export type MutatorResult = {
  readonly client: Promise<void>;
  readonly server: Promise<ServerOutcome>;
};

type StoredMutation = Mutation & {readonly seq: number};

type Pending = {
  readonly m: StoredMutation;
  settle?: ((o: ServerOutcome) => void) | undefined;
  error?: ServerOutcome | undefined;
};

type TableMutator = {[K in CrudKind]: (value: Record<string, unknown>) => Promise<void>};

/** The transaction a client-side custom mutator receives. */
export type ClientTransaction<S extends Schema> = {
  readonly location: 'client';
  readonly reason: 'optimistic' | 'rebase';
  readonly clientID: string;
  readonly mutationID: number;
  readonly mutate: {readonly [T in keyof S['tables']]: TableMutator};
  readonly query: SchemaQuery<S>;
  /** Runs a query over the local data, as the mutator sees it. */
  run(query: AnyQueryLike): Promise<unknown>;
};

/** Per client: tabs sharing one store each write their own keys. */
function pendingKey(m: {clientID: string; id: number}): string {
  return `${PENDING_PREFIX}${m.clientID}/${String(m.id).padStart(12, '0')}`;
}

export class MutationManager {
  readonly #schema: Schema;
  readonly #local: LocalState;
  readonly #clientID: string;
  readonly #mutators: AppMutators;
  readonly #queryDelegate: QueryDelegate;
  readonly #persist: (ops: KVOp[]) => void;
  readonly #push: (mutations: Mutation[]) => boolean;
  #pending: Pending[] = [];
  /** `#pending` by `pendingKey`, for answers from the server. */
  readonly #pendingByKey = new Map<string, Pending>();
  /** A step that pushes what is pending is queued and has not run yet. */
  #pushQueued = false;
  /** Client-visible rows touched by pending mutations, as table + NUL + key. */
  #touched = new Map<string, {table: string; id: Row}>();
  #nextID = 1;
  #nextSeq = 1;
  /** All work on local data runs one step at a time. */
  #queue: Promise<void> = Promise.resolve();
  /** Highest (clientID → id) already sent on the current connection. */
  #sent = new Map<string, number>();
  /**
   * Mutations the server has applied (their last mutation ID reached us in a poke) whose
   * pushResponse has not arrived yet. The poke comes through replication and the response
   * from the API server, so either can come first; a refused mutation also advances the last
   * mutation ID, and only the response says it was refused.
   */
  readonly #awaitingOutcome = new Map<string, Pending>();

  readonly mutate: Record<string, unknown>;

  constructor(args: {
    schema: Schema;
    local: LocalState;
    clientID: string;
    mutators: unknown;
    /** The context defined mutators see, read at each run. */
    context: () => unknown;
    queryDelegate: QueryDelegate;
    persist: (ops: KVOp[]) => void;
    push: (mutations: Mutation[]) => boolean;
  }) {
    this.#schema = args.schema;
    this.#local = args.local;
    this.#clientID = args.clientID;
    this.#queryDelegate = args.queryDelegate;
    this.#persist = args.persist;
    this.#push = args.push;
    this.#mutators = collectMutators(args.mutators, args.schema, args.context);
    this.mutate = this.#buildMutate();
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Runs `fn` after every earlier step on local data. */
  enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  #buildMutate(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.#schema.enableLegacyMutators !== false) {
      for (const table of Object.keys(this.#schema.tables)) {
        const ops: Record<string, unknown> = {};
        for (const op of ['insert', 'upsert', 'update', 'delete'] as const) {
          ops[op] = (value: Record<string, unknown>) => this.#crud(table, op, value);
        }
        out[table] = ops;
      }
    }
    for (const [ns, fns] of Object.entries(this.#mutators.byNamespace)) {
      const target = (out[ns] ?? {}) as Record<string, unknown>;
      for (const [name, fn] of Object.entries(fns)) {
        target[name] = (args: ReadonlyJSONValue) => this.#custom(`${ns}.${name}`, fn, args);
      }
      out[ns] = target;
    }
    return out;
  }

  #crud(table: string, op: CrudKind, value: Record<string, unknown>): MutatorResult {
    if (!value || typeof value !== 'object') {
      throw new TypeError(`mutate.${table}.${op} needs a row object`);
    }
    const serverOp = toServerOp(this.#schema, table, op, value);
    return this.#start(
      {name: CRUD_MUTATION_NAME, type: 'crud', args: [{ops: [serverOp]}]},
      (mutationID, reason) => this.#applyCrud(table, op, value as Row, mutationID, reason),
    );
  }

  get appMutators(): AppMutators {
    return this.#mutators;
  }

  /** Runs the app's mutator of this wire name (one of `appMutators.byName`). */
  runNamed(name: string, args: ReadonlyJSONValue): MutatorResult {
    return this.#custom(name, this.#mutators.byName.get(name)!, args);
  }

  #custom(name: string, fn: CustomMutator, args: ReadonlyJSONValue): MutatorResult {
    return this.#start(
      {name, type: 'custom', args: args === undefined ? [] : [args]},
      (mutationID, reason) => fn(this.#tx(mutationID, reason), args as never),
    );
  }

  #start(
    m: {name: string; type: 'crud' | 'custom'; args: ReadonlyJSONValue[]},
    run: (mutationID: number, reason: 'optimistic' | 'rebase') => Promise<void> | void,
  ): MutatorResult {
    let settle!: (o: ServerOutcome) => void;
    const server = new Promise<ServerOutcome>(r => (settle = r));
    const client = this.enqueue(async () => {
      const id = this.#nextID++;
      const stored: StoredMutation = {
        type: m.type,
        id,
        clientID: this.#clientID,
        name: m.name,
        args: m.args,
        timestamp: Date.now(),
        seq: this.#nextSeq++,
      };
      this.#local.batcher.begin();
      try {
        await run(id, 'optimistic');
      } catch (e) {
        // A mutator that throws is not a mutation: nothing is kept, sent or shown.
        this.#nextID = id;
        this.#nextSeq--;
        await this.#undoUnrecorded();
        settle(clientFailure(e));
        throw e;
      } finally {
        this.#local.batcher.end();
      }
      this.#addPending({m: stored, settle});
      this.#persist([{key: pendingKey(stored), value: stored}]);
      this.#queuePush();
    });
    return {client, server};
  }

  #addPending(p: Pending): void {
    this.#pending.push(p);
    this.#pendingByKey.set(pendingKey(p.m), p);
  }

  /**
   * Pushes after every step already queued: mutations started together (e.g. in one loop)
   * go to the server in one push frame instead of one frame each.
   */
  #queuePush(): void {
    if (this.#pushQueued) return;
    this.#pushQueued = true;
    void this.enqueue(() => {
      this.#pushQueued = false;
      this.#pushPending();
    });
  }

  #tx(mutationID: number, reason: 'optimistic' | 'rebase'): ClientTransaction<Schema> {
    const mutate: Record<string, TableMutator> = {};
    for (const table of Object.keys(this.#schema.tables)) {
      const ops = {} as TableMutator;
      for (const op of ['insert', 'upsert', 'update', 'delete'] as const) {
        ops[op] = value => {
          this.#applyCrud(table, op, value as Row, mutationID, reason);
          return Promise.resolve();
        };
      }
      mutate[table] = ops;
    }
    return {
      location: 'client',
      reason,
      clientID: this.#clientID,
      mutationID,
      mutate,
      query: createBuilder(this.#schema, this.#queryDelegate),
      // Local only: waiting for the server here would hold up every later mutation.
      run: query => this.#queryDelegate.run(query, undefined),
    };
  }

  /** Takes back what a failed mutator wrote: the recorded pending mutations are replayed. */
  async #undoUnrecorded(): Promise<void> {
    this.#showServerRows();
    await this.#replayLocked();
  }

  /** Shows server rows again where pending mutations wrote. */
  #showServerRows(): void {
    for (const {table, id} of this.#touched.values()) {
      const key = this.#local.keyOf(table, id);
      this.#local.setVisible(table, this.#local.serverRows.get(table)?.get(key), id);
    }
    this.#touched = new Map();
  }

  /** Applies one CRUD op to what queries see (not to the server rows). */
  #applyCrud(
    table: string,
    op: CrudKind,
    value: Row,
    _mutationID: number,
    _reason: 'optimistic' | 'rebase',
  ): void {
    const t = this.#schema.tables[table];
    if (!t) throw new TypeError(`Unknown table ${table}`);
    for (const k of t.primaryKey) {
      if (value[k] === undefined || value[k] === null) {
        throw new TypeError(`${op} on ${table} needs the primary key column ${k}`);
      }
    }
    const existing = this.#local.visible(table, value);
    const full = (): Row => {
      const row: Record<string, Value> = {};
      for (const [col, spec] of Object.entries(t.columns)) {
        const v = value[col];
        if (v === undefined && !spec.optional) {
          throw new TypeError(`${op} on ${table} needs a value for column ${col}`);
        }
        row[col] = v === undefined ? null : v;
      }
      return row;
    };
    let next: Row | undefined = existing;
    switch (op) {
      case 'insert':
        if (!existing) next = full();
        break;
      case 'upsert':
        next = existing ? {...existing, ...definedOnly(value)} : full();
        break;
      case 'update':
        if (existing) next = {...existing, ...definedOnly(value)};
        break;
      case 'delete':
        next = undefined;
        break;
    }
    this.#touched.set(`${table}\u0000${this.#local.keyOf(table, value)}`, {table, id: value});
    this.#local.setVisible(table, next, value);
  }

  /** Restores pending mutations from the store (after a reload) and replays them. */
  async restore(pending: readonly StoredMutation[]): Promise<void> {
    await this.enqueue(async () => {
      // Oldest first; a client's own mutations keep their id order.
      const sorted = [...pending].sort(
        (a, b) => a.timestamp - b.timestamp || (a.clientID === b.clientID ? a.id - b.id : 0),
      );
      for (const m of sorted) {
        if ((this.#local.lastMutationIDs[m.clientID] ?? 0) >= m.id) continue;
        // A mutation started before the store was read is in both: keep the live one.
        if (this.#pendingByKey.has(pendingKey(m))) continue;
        this.#addPending({m});
        this.#nextSeq = Math.max(this.#nextSeq, m.seq + 1);
      }
      await this.#replay();
    });
  }

  /**
   * Rebase after a poke: `applyServer` changes the server rows; every pending mutation not
   * yet confirmed is replayed on top. Views see the end result only.
   */
  rebase(applyServer: () => void): Promise<void> {
    return this.enqueue(async () => {
      this.#local.batcher.begin();
      try {
        this.#showServerRows();
        applyServer();
        this.#confirm();
        await this.#replayLocked();
      } finally {
        this.#local.batcher.end();
      }
    });
  }

  #confirm(): void {
    const lmids = this.#local.lastMutationIDs;
    const ops: KVOp[] = [];
    const still: Pending[] = [];
    for (const p of this.#pending) {
      if ((lmids[p.m.clientID] ?? 0) < p.m.id) {
        still.push(p);
        continue;
      }
      const key = pendingKey(p.m);
      this.#pendingByKey.delete(key);
      ops.push({key, value: undefined});
      if (p.error === undefined && p.settle && this.#sentOnThisConnection(p.m)) {
        this.#awaitingOutcome.set(key, p);
      } else {
        p.settle?.(p.error ?? {type: 'success'});
      }
    }
    if (ops.length) {
      this.#pending = still;
      this.#persist(ops);
    }
  }

  async #replay(): Promise<void> {
    this.#local.batcher.begin();
    try {
      await this.#replayLocked();
    } finally {
      this.#local.batcher.end();
    }
  }

  async #replayLocked(): Promise<void> {
    for (const p of this.#pending) {
      try {
        if (p.m.type === 'crud') {
          const {ops} = (p.m.args[0] ?? {ops: []}) as {ops: CrudOp[]};
          for (const op of ops) {
            const table = clientTable(this.#schema, op.table);
            this.#applyCrud(
              table,
              op.op,
              crudClientRow(this.#schema, table, op.value),
              p.m.id,
              'rebase',
            );
          }
        } else {
          const fn = this.#mutators.byName.get(p.m.name);
          if (fn) await fn(this.#tx(p.m.id, 'rebase'), p.m.args[0] as never);
        }
      } catch {
        // A mutator that fails on replay leaves no optimistic effect; the server decides.
      }
    }
  }

  #sentOnThisConnection(m: StoredMutation): boolean {
    return (this.#sent.get(m.clientID) ?? 0) >= m.id;
  }

  /** A new connection: everything pending is sent again (the server skips duplicates). */
  onConnected(): void {
    this.onConnectionLost();
    this.#pushPending();
  }

  /**
   * Responses to pushes on the lost connection will not come: applied mutations still waiting
   * for theirs count as successes, as they did before the response could be told apart.
   */
  onConnectionLost(): void {
    this.#sent.clear();
    const awaiting = [...this.#awaitingOutcome.values()];
    this.#awaitingOutcome.clear();
    for (const p of awaiting) p.settle?.({type: 'success'});
  }

  #pushPending(): void {
    const toSend = this.#pending
      .map(p => p.m)
      .filter(m => m.id > (this.#sent.get(m.clientID) ?? 0));
    if (toSend.length === 0) return;
    const mutations: Mutation[] = toSend.map(({seq: _seq, ...m}) => m);
    if (this.#push(mutations)) {
      for (const m of toSend) {
        this.#sent.set(m.clientID, Math.max(this.#sent.get(m.clientID) ?? 0, m.id));
      }
    }
  }

  /**
   * Outcomes from zero-cache: kept until the poke that confirms the id. `alreadyProcessed`
   * (an earlier push processed it, and that answer may have been lost) keeps an outcome
   * already known for the id and otherwise counts as a success: the server's data has the
   * mutation's effect, if any, and the app's promise must settle.
   */
  onPushResponse(body: PushResponseBody): void {
    for (const r of body.mutations) {
      const key = pendingKey(r);
      const p = this.#pendingByKey.get(key);
      if (p) {
        p.error = r.result.type === 'alreadyProcessed' ? (p.error ?? SUCCESS) : toOutcome(r.result);
        continue;
      }
      // Already confirmed by a poke that overtook this response.
      const done = this.#awaitingOutcome.get(key);
      if (done) {
        this.#awaitingOutcome.delete(key);
        done.settle?.(toOutcome(r.result));
      }
    }
  }
}
