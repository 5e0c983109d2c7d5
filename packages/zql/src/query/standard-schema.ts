// Argument validators of defined queries and mutators: any library that implements the
// Standard Schema interface (`~standard`: zod, valibot, arktype...). Only its types and
// `validate` are used; no library is a dependency.
import type {ReadonlyJSONValue} from '@zync/shared';

export type StandardSchemaIssue = {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | {readonly key: PropertyKey}> | undefined;
};

export type StandardSchemaResult<Output> =
  | {readonly value: Output; readonly issues?: undefined}
  | {readonly issues: ReadonlyArray<StandardSchemaIssue>};

/** The Standard Schema interface, version 1 (the part a validator must provide). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: {readonly input: Input; readonly output: Output} | undefined;
  };
}

/** Args a validator refused. A TypeError: the caller passed what the definition forbids. */
export class InputValidationError extends TypeError {
  readonly result: {readonly issues: ReadonlyArray<StandardSchemaIssue>};
  readonly details: {
    readonly type: 'InputValidationError';
    readonly result: {readonly issues: ReadonlyArray<StandardSchemaIssue>};
  };

  constructor(message: string, result: {readonly issues: ReadonlyArray<StandardSchemaIssue>}) {
    super(message);
    this.name = 'InputValidationError';
    this.result = result;
    this.details = {type: 'InputValidationError', result};
  }
}

export function isStandardSchema(v: unknown): v is StandardSchemaV1 {
  const std = (v as {'~standard'?: {validate?: unknown}} | null | undefined)?.['~standard'];
  return typeof std === 'object' && std !== null && typeof std.validate === 'function';
}

/**
 * Runs `validator` on `input` and returns its output (the input when there is no
 * validator). Synchronous only: a query or mutator runs inside a synchronous step.
 */
export function validateInput(
  kind: 'query' | 'mutator',
  name: string,
  input: ReadonlyJSONValue | undefined,
  validator: StandardSchemaV1 | undefined,
): ReadonlyJSONValue | undefined {
  if (!validator) return input;
  const result = validator['~standard'].validate(input);
  if (result instanceof Promise) {
    throw new TypeError(
      `${kind} "${name}": asynchronous validators are not supported; use a synchronous schema`,
    );
  }
  if (result.issues) {
    const what = result.issues.map(i => i.message).join('; ');
    throw new InputValidationError(`invalid args for ${kind} "${name}": ${what}`, result);
  }
  return result.value as ReadonlyJSONValue | undefined;
}
