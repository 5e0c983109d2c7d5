// Defined mutators (the Zero 1.x API): `defineMutator(validator?, ({tx, args, ctx}) => ...)`
// gathered by `defineMutators({...})`. `mutators.issue.create(args)` gives a request that
// `zero.mutate(request)` runs; on the wire it is a custom mutation named by its dotted path
// (`issue.create`, as `zero.mutate.issue.create` names pushes) with args `[args]`.
/* eslint-disable @typescript-eslint/no-explicit-any -- see query/query.ts */
import type {ReadonlyJSONValue} from '@zync/shared';
import type {DefaultContext, DefaultSchema} from '../default-types.ts';
import {splitDefinition} from '../query/query-registry.ts';
import type {DeepMerge} from '../query/registry-tree.ts';
import {buildRegistry, isRegistryOf, leafAt, leaves, type Tree} from '../query/registry-tree.ts';
import type {StandardSchemaV1} from '../query/standard-schema.ts';
import {validateInput} from '../query/standard-schema.ts';
import type {Schema} from '../schema/schema.ts';
import type {Transaction} from './transaction.ts';

type Args = ReadonlyJSONValue | undefined;

export type MutatorDefinitionFunction<TArgs, TContext, TTransaction> = (options: {
  args: TArgs;
  ctx: TContext;
  tx: TTransaction;
}) => Promise<void> | void;

export type MutatorDefinition<
  TInput extends Args,
  TOutput extends Args,
  TContext = DefaultContext,
  TSchema extends Schema = DefaultSchema,
> = {
  readonly fn: MutatorDefinitionFunction<TOutput, TContext, Transaction<TSchema>>;
  readonly validator: StandardSchemaV1<TInput, TOutput> | undefined;
  readonly '~': 'MutatorDefinition' & {
    readonly $input: TInput;
    readonly $output: TOutput;
    readonly $context: TContext;
  };
};

/**
 * Any definition. Deliberately without type parameters: as the contextual type of a
 * `defineMutator` call inside `defineMutators`, it must not lend \`any\` to the
 * definition's schema and context, which come from DefaultTypes.
 */
export type AnyMutatorDefinition = {
  readonly fn: unknown;
  readonly validator: unknown;
  readonly '~': 'MutatorDefinition';
};

type Phantom<TInput, TSchema, TContext> = {
  readonly $input: TInput;
  readonly $schema: TSchema;
  readonly $context: TContext;
};

/** A mutator with its args: what `mutators.x.y(args)` returns and `zero.mutate` runs. */
export type MutateRequest<
  TInput extends Args,
  TSchema extends Schema = DefaultSchema,
  TContext = DefaultContext,
> = {
  readonly mutator: Mutator<TInput, TSchema, TContext>;
  readonly args: TInput;
  readonly '~': 'MutateRequest' & Phantom<TInput, TSchema, TContext>;
};

/** Any request, whatever its types (the callable part of a mutator is left out). */
export type AnyMutateRequest = {
  readonly mutator: {
    readonly mutatorName: string;
    readonly fn: (options: {args: any; ctx: any; tx: any}) => Promise<void>;
  };
  readonly args: any;
  readonly '~': 'MutateRequest';
};

type Callable<TInput extends Args, TSchema extends Schema, TContext> = [TInput] extends [undefined]
  ? () => MutateRequest<TInput, TSchema, TContext>
  : undefined extends TInput
    ? (args?: TInput) => MutateRequest<TInput, TSchema, TContext>
    : (args: TInput) => MutateRequest<TInput, TSchema, TContext>;

/** A named, callable mutator of a registry. `fn` validates the args and runs it. */
export type Mutator<
  TInput extends Args,
  TSchema extends Schema = DefaultSchema,
  TContext = DefaultContext,
> = Callable<TInput, TSchema, TContext> & {
  readonly mutatorName: string;
  readonly fn: (options: {args: TInput; ctx: TContext; tx: Transaction<TSchema>}) => Promise<void>;
  readonly '~': 'Mutator' & Phantom<TInput, TSchema, TContext>;
};

export type AnyMutator = ((args?: any) => AnyMutateRequest) & {
  readonly mutatorName: string;
  readonly fn: (options: {args: any; ctx: any; tx: any}) => Promise<void>;
  readonly '~': 'Mutator';
};

export type MutatorDefinitions = {
  readonly [key: string]: AnyMutatorDefinition | MutatorDefinitions;
};

type ToMutatorTree<MD, S extends Schema> = {
  readonly [K in keyof MD]: MD[K] extends MutatorDefinition<infer I, any, infer C, any>
    ? Mutator<I, S, C>
    : MD[K] extends MutatorRegistry<infer Inner, any>
      ? ToMutatorTree<Inner, S>
      : ToMutatorTree<MD[K], S>;
};

export type MutatorRegistry<MD, S extends Schema> = ToMutatorTree<MD, S> & {
  readonly '~': 'MutatorRegistry' & {readonly $schema: S; readonly $defs: MD};
};

export type AnyMutatorRegistry = {
  readonly '~': 'MutatorRegistry';
  readonly [key: string]: unknown;
};

export function isMutatorDefinition(v: unknown): v is AnyMutatorDefinition {
  return typeof v === 'object' && v !== null && (v as {'~'?: unknown})['~'] === 'MutatorDefinition';
}

export function isMutator(v: unknown): v is AnyMutator {
  return (
    typeof v === 'function' &&
    typeof (v as {mutatorName?: unknown}).mutatorName === 'string' &&
    typeof (v as {fn?: unknown}).fn === 'function'
  );
}

export function isMutateRequest(v: unknown): v is AnyMutateRequest {
  return typeof v === 'object' && v !== null && (v as {'~'?: unknown})['~'] === 'MutateRequest';
}

export function isMutatorRegistry(v: unknown): v is AnyMutatorRegistry {
  return isRegistryOf('Mutator', v);
}

export function defineMutator<
  TInput extends Args = Args,
  TSchema extends Schema = DefaultSchema,
  TContext = DefaultContext,
>(
  fn: MutatorDefinitionFunction<TInput, TContext, Transaction<TSchema>>,
): MutatorDefinition<TInput, TInput, TContext, TSchema>;
export function defineMutator<
  TInput extends Args = undefined,
  TOutput extends Args = TInput,
  TSchema extends Schema = DefaultSchema,
  TContext = DefaultContext,
>(
  validator: StandardSchemaV1<TInput, TOutput>,
  fn: MutatorDefinitionFunction<TOutput, TContext, Transaction<TSchema>>,
): MutatorDefinition<TInput, TOutput, TContext, TSchema>;
export function defineMutator(validatorOrFn: unknown, maybeFn?: unknown): AnyMutatorDefinition {
  const [validator, fn] = splitDefinition('defineMutator', validatorOrFn, maybeFn);
  return Object.freeze({
    fn,
    validator,
    '~': 'MutatorDefinition',
  });
}

function createMutator(name: string, def: MutatorDefinition<Args, Args, unknown, any>): AnyMutator {
  const fn = async ({args, ctx, tx}: {args: Args; ctx: unknown; tx: Transaction<any>}) => {
    const valid = validateInput('mutator', name, args, def.validator);
    await def.fn({args: valid, ctx, tx});
  };
  const mutator = (args?: Args) => Object.freeze({mutator, args, '~': 'MutateRequest'});
  return Object.assign(mutator, {mutatorName: name, fn, '~': 'Mutator'}) as unknown as AnyMutator;
}

/**
 * Gathers mutator definitions (nested objects allowed) into a registry of callable
 * mutators, each named by its path. `defineMutators(base, overrides)` extends a registry.
 */
export function defineMutators<
  const MD extends MutatorDefinitions,
  S extends Schema = DefaultSchema,
>(defs: MD): MutatorRegistry<MD, S>;
export function defineMutators<
  const MB extends MutatorDefinitions,
  const MD extends MutatorDefinitions,
  S extends Schema = DefaultSchema,
>(
  base: MutatorRegistry<MB, S> | MB,
  overrides: MD,
): MutatorRegistry<DeepMerge<MB, MD, AnyMutatorDefinition>, S>;
export function defineMutators(defsOrBase: unknown, overrides?: unknown): unknown {
  const make = (name: string, def: unknown) =>
    createMutator(name, def as MutatorDefinition<Args, Args, unknown, any>);
  const build = (defs: unknown, base?: Tree) =>
    buildRegistry('Mutator', defs, isMutatorDefinition, make, base);
  if (overrides === undefined) return build(defsOrBase);
  return build(overrides, isMutatorRegistry(defsOrBase) ? defsOrBase : build(defsOrBase));
}

export function getMutator(registry: AnyMutatorRegistry, name: string): AnyMutator | undefined {
  const m = leafAt(registry, name);
  return isMutator(m) ? m : undefined;
}

/** The mutator at a dotted name (as pushed on the wire); a TypeError when there is none. */
export function mustGetMutator(registry: AnyMutatorRegistry, name: string): AnyMutator {
  if (!isMutatorRegistry(registry)) {
    throw new TypeError('mustGetMutator: the first argument must come from defineMutators()');
  }
  const m = getMutator(registry, name);
  if (!m) throw new TypeError(`mustGetMutator: no mutator named "${name}" in this registry`);
  return m;
}

export function iterateMutators(registry: AnyMutatorRegistry): Iterable<AnyMutator> {
  return leaves(registry, isMutator) as Iterable<AnyMutator>;
}
