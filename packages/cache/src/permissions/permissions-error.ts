// Why select permissions refuse a query. The message goes to the client in a QueryError
// (kind 'refused'): it names tables, never claims or rows.

export type PermissionsErrorKind =
  /** Opaque tokens (no ZERO_AUTH_* key) and a select rule that reads the claims. */
  | 'needs-claims'
  /** The query names a table or column the schema file does not define. */
  | 'unknown-name'
  /** The query filters, orders or joins on a column the cell select rules may hide. */
  | 'hidden-column';

export class PermissionsError extends Error {
  readonly kind: PermissionsErrorKind;

  constructor(kind: PermissionsErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermissionsError';
    this.kind = kind;
  }
}
