// The one error class of the Postgres layer. Callers turn it into their own boundary's
// error (zero-cache: a mutation failure; the API server: a TypeError or ServerError), so
// messages name tables, columns and what was expected, never a value.

export type PgLayerErrorKind =
  /** A value does not fit its column (`table`, `column` and `need` say which and what). */
  | 'invalid-value'
  /** A column the table does not have. */
  | 'unknown-column'
  /** An app id that cannot be part of Postgres names. */
  | 'invalid-app-id'
  /** Text that Postgres cannot hold (a NUL character) where it must be written into SQL. */
  | 'nul-character';

export class PgLayerError extends TypeError {
  readonly kind: PgLayerErrorKind;
  /** For 'invalid-value': what the column needs, e.g. `an array`, `epoch milliseconds`. */
  readonly need: string | undefined;

  constructor(kind: PgLayerErrorKind, message: string, need?: string) {
    super(message);
    this.name = 'PgLayerError';
    this.kind = kind;
    this.need = need;
  }
}
