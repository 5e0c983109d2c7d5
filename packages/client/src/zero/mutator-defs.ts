// The app's mutators as the client runs them: 0.24-style `{namespace: {name: fn}}` objects
// (exposed as `zero.mutate.ns.name`) and Zero 1.x registries from `defineMutators` (run
// with `zero.mutate(request)`). Both are found by their wire name when pending mutations
// are replayed.
import type {AnyMutator, Schema} from '@zync/zql';
import {isMutatorRegistry, iterateMutators} from '@zync/zql';
import type {ClientTransaction} from './mutations.ts';

export type CustomMutator = (tx: ClientTransaction<Schema>, args: never) => Promise<void> | void;

export type AppMutators = {
  /** 0.24-style mutators by namespace: they become `zero.mutate.<ns>.<name>`. */
  readonly byNamespace: Readonly<Record<string, Readonly<Record<string, CustomMutator>>>>;
  /** Every mutator by the name it is pushed under. */
  readonly byName: ReadonlyMap<string, CustomMutator>;
  /** Defined mutators by name: `zero.mutate(request)` accepts exactly these. */
  readonly defined: ReadonlyMap<string, AnyMutator>;
};

const CRUD_NAMES = new Set(['insert', 'upsert', 'update', 'delete']);

/** `context()` gives the ctx of each run: the instance's context at the time of the call. */
export function collectMutators(
  mutators: unknown,
  schema: Schema,
  context: () => unknown,
): AppMutators {
  const byName = new Map<string, CustomMutator>();
  const defined = new Map<string, AnyMutator>();
  if (mutators === undefined || mutators === null) return {byNamespace: {}, byName, defined};
  if (typeof mutators !== 'object') throw new TypeError('Zero: mutators must be an object');
  if (isMutatorRegistry(mutators)) {
    for (const m of iterateMutators(mutators)) {
      defined.set(m.mutatorName, m);
      byName.set(m.mutatorName, (tx, args) => m.fn({tx: tx as never, args: args, ctx: context()}));
    }
    return {byNamespace: {}, byName, defined};
  }
  const byNamespace: Record<string, Record<string, CustomMutator>> = {};
  for (const [ns, fns] of Object.entries(mutators as Record<string, unknown>)) {
    if (!fns || typeof fns !== 'object') {
      throw new TypeError(`Zero: mutators.${ns} must be an object of functions`);
    }
    byNamespace[ns] = {};
    for (const [name, fn] of Object.entries(fns as Record<string, unknown>)) {
      if (typeof fn !== 'function') {
        throw new TypeError(
          `Zero: mutators.${ns}.${name} must be a function (or pass a registry from defineMutators)`,
        );
      }
      if (Object.hasOwn(schema.tables, ns) && CRUD_NAMES.has(name)) {
        throw new TypeError(
          `Zero: mutators.${ns}.${name} clashes with the CRUD mutator of table ${ns}; rename it`,
        );
      }
      byNamespace[ns][name] = fn as CustomMutator;
      byName.set(`${ns}.${name}`, fn as CustomMutator);
    }
  }
  return {byNamespace, byName, defined};
}

/** The server outcome of a mutation whose mutator threw on the client (never sent). */
export function clientFailure(e: unknown): {
  readonly type: 'error';
  readonly error: {readonly type: 'app'; readonly message: string};
} {
  const message = e instanceof Error ? e.message : String(e);
  return {type: 'error', error: {type: 'app', message}};
}
