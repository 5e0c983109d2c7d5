// The one error of the schema-file boundary: loading ZERO_SCHEMA_PATH and checking what it
// exports. Messages name the file and the problem, never values from it.

export type SchemaFileErrorKind =
  /** The file does not exist or cannot be read. */
  | 'not-found'
  /** Importing the file (or something it imports) threw or did not compile. */
  | 'load-failed'
  /** The file does not export a usable `schema`. */
  | 'bad-schema'
  /** `permissions` is not what `definePermissions` returns, or it rejected. */
  | 'bad-permissions';

export class SchemaFileError extends Error {
  readonly kind: SchemaFileErrorKind;
  readonly file: string;

  constructor(kind: SchemaFileErrorKind, file: string, problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options);
    this.name = 'SchemaFileError';
    this.kind = kind;
    this.file = file;
  }
}
