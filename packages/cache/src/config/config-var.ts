// The shape of one zero-cache setting: what config-table.ts declares and config-roles.ts adds.

export type ConfigType =
  | 'string'
  | 'postgres-url'
  | 'http-url'
  | 'port'
  | 'role'
  | 'task-id'
  | 'app-id'
  | 'log-level'
  | 'log-format'
  | 'boolean'
  | 'positive-int'
  | 'non-negative-int'
  | 'positive-number'
  | 'json-object'
  | 'list';

export interface ConfigVar {
  readonly env: string;
  readonly key: string;
  readonly type: ConfigType;
  readonly default?: string;
  readonly required?: boolean;
  /** Never echoed in errors or help. */
  readonly secret?: boolean;
  readonly aliases?: readonly string[];
  /** One line for `zero-cache --help`. */
  readonly description: string;
  /**
   * The documentation's table: the default as shown there, and what the setting does today
   * (Markdown; links relative to docs/). `npm run docs:config` renders both tables from it.
   */
  readonly docDefault: string;
  readonly doc: string;
}
