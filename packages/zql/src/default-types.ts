// `DefaultTypes`: an app registers its schema and context once, by declaration merging,
// and the defined-query and defined-mutator APIs infer them without generics:
//   declare module 'zync' { interface DefaultTypes { schema: typeof schema; context: Ctx } }
import type {Schema} from './schema/schema.ts';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by apps
export interface DefaultTypes {}

export type IsUnknown<T> = unknown extends T ? ([T] extends [unknown] ? true : false) : false;

export type DefaultSchema<TTypes = DefaultTypes> = TTypes extends {
  readonly schema: infer S extends Schema;
}
  ? S
  : Schema;

export type DefaultContext<TTypes = DefaultTypes> = TTypes extends {readonly context: infer C}
  ? C
  : unknown;
