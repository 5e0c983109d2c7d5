export type ReplicatorErrorKind =
  'wal-level' | 'permission' | 'slot-lost' | 'replica-mismatch' | 'apply-failed';

/** The one error class of the replicator's boundary. Messages never carry row data. */
export class ReplicatorError extends Error {
  readonly kind: ReplicatorErrorKind;
  constructor(kind: ReplicatorErrorKind, message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'ReplicatorError';
    this.kind = kind;
  }
}
