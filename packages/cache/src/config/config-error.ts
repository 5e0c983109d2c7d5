export type ConfigErrorKind = 'missing' | 'invalid' | 'conflict';

/** A bad zero-cache configuration. Messages name the variable, never a secret's value. */
export class ConfigError extends Error {
  readonly kind: ConfigErrorKind;
  readonly variable: string;
  constructor(kind: ConfigErrorKind, variable: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.kind = kind;
    this.variable = variable;
  }
}
