// The one error of query analysis: what went wrong, by kind, in one line that names the
// problem and the fix. The command prints the message and exits with code 1.

export type AnalyzeErrorKind =
  /** A flag, the query text, the AST or the args are malformed or name unknown things. */
  | 'input'
  /** The replica file is missing, unreadable or not a finished replica. */
  | 'replica'
  /** The schema file could not be loaded. */
  | 'schema'
  /** zero-cache would refuse the query (permissions, budget, the API server's answer). */
  | 'refused'
  /** The app's API server could not resolve a synced query. */
  | 'api';

export class AnalyzeError extends Error {
  readonly kind: AnalyzeErrorKind;

  constructor(kind: AnalyzeErrorKind, message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'AnalyzeError';
    this.kind = kind;
  }
}
