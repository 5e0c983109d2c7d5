// Why one mutation was refused. Becomes `{type: 'error', error: 'zero', message}` in the
// pushResponse; the message names tables, columns and rules, never values or tokens.

export type MutationFailureKind =
  | 'unknown-table'
  | 'unknown-column'
  | 'invalid-value'
  | 'missing-row'
  | 'constraint'
  | 'permission'
  | 'unsupported';

export class MutationFailure extends Error {
  readonly kind: MutationFailureKind;
  constructor(kind: MutationFailureKind, message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'MutationFailure';
    this.kind = kind;
  }
}
