// Parses the environment once into a frozen config. Only the entry point passes
// `process.env` here; everything else receives the result.
import {isValidAppID} from '@zync/pg';
import {LOG_FORMATS, LOG_LEVELS} from '@zync/shared';
import type {LogFormat, LogLevel} from '@zync/shared';
import {ConfigError} from './config-error.ts';
import {CONFIG_VARS} from './config-table.ts';
import type {ConfigVar} from './config-table.ts';
import {parseOtelConfig, type OtlpMetricsConfig} from './otel-config.ts';
import {
  resolveRoleSettings,
  TASK_ID_PATTERN,
  ZERO_ROLES,
  type RoleSettings,
} from './config-roles.ts';

/** The role settings (config-roles.ts) are part of it: role, taskId, changeStreamer*. */
export interface ZeroConfig extends RoleSettings {
  readonly upstreamDb: string;
  readonly cvrDb: string;
  readonly changeDb: string;
  readonly replicaFile: string;
  readonly port: number;
  readonly host: string;
  /** Undefined: the number of cores minus one, at least 1 (processes/routing.ts). */
  readonly numSyncWorkers: number | undefined;
  readonly appId: string;
  readonly schemaPath: string | undefined;
  readonly allowAllWithoutPermissions: boolean;
  readonly legacyApi: boolean | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly logSlowHydrateThresholdMs: number;
  readonly authSecret: string | undefined;
  readonly authJwk: Readonly<Record<string, unknown>> | undefined;
  readonly authJwksUrl: string | undefined;
  readonly authIssuer: string | undefined;
  readonly authAudience: string | undefined;
  readonly mutateUrl: string | undefined;
  readonly mutateApiKey: string | undefined;
  readonly mutateForwardCookies: boolean;
  readonly getQueriesUrl: string | undefined;
  readonly getQueriesApiKey: string | undefined;
  readonly getQueriesForwardCookies: boolean;
  readonly getQueriesRevalidateSeconds: number;
  readonly cvrGarbageCollectionInactivityThresholdHours: number;
  readonly cvrGarbageCollectionInitialIntervalSeconds: number;
  readonly cvrGarbageCollectionInitialBatchSize: number;
  readonly queryMaxDepth: number;
  readonly queryMaxNodes: number;
  readonly queryMaxInListLength: number;
  readonly queryMaxStringLength: number;
  readonly queryMaxHydrationRows: number;
  readonly maxQueriesPerClientGroup: number;
  readonly adminPassword: string | undefined;
  readonly allowedOrigins: readonly string[] | undefined;
  /** OTLP metrics export from the standard OTEL_* variables (otel-config.ts); undefined: off. */
  readonly otlpMetrics: OtlpMetricsConfig | undefined;
  /** NODE_ENV is `production`: settings that fail open in development are refused. */
  readonly production: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

function shown(v: ConfigVar, raw: string): string {
  return v.secret ? '(value hidden)' : JSON.stringify(raw);
}

function parseValue(v: ConfigVar, raw: string): unknown {
  const bad = (need: string) =>
    new ConfigError('invalid', v.env, `${v.env} must be ${need}, got ${shown(v, raw)}`);
  switch (v.type) {
    case 'string':
      return raw;
    case 'postgres-url': {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw bad('a postgres:// or postgresql:// URL');
      }
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
        throw bad('a postgres:// or postgresql:// URL');
      return raw;
    }
    case 'http-url': {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw bad('an http:// or https:// URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw bad('an http:// or https:// URL');
      return raw;
    }
    case 'port': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw bad('an integer between 1 and 65535');
      return n;
    }
    case 'positive-int': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < 1) throw bad('a positive integer');
      return n;
    }
    case 'non-negative-int': {
      if (!/^\d+$/.test(raw)) throw bad('an integer of 0 or more');
      return Number(raw);
    }
    case 'positive-number': {
      const n = Number(raw);
      if (!/^\d+(\.\d+)?$/.test(raw) || !(n > 0)) throw bad('a positive number');
      return n;
    }
    case 'role':
      if (!(ZERO_ROLES as readonly string[]).includes(raw))
        throw bad(`one of ${ZERO_ROLES.join(', ')}`);
      return raw;
    case 'task-id':
      if (!TASK_ID_PATTERN.test(raw))
        throw bad(
          'letters, digits, ".", "_", ":" and "-" (starting with a letter or digit), at most 128 characters',
        );
      return raw;
    case 'app-id':
      if (!isValidAppID(raw))
        throw bad('lowercase letters, digits and underscores only (/^[a-z0-9_]+$/)');
      return raw;
    case 'log-level':
      if (!(LOG_LEVELS as readonly string[]).includes(raw))
        throw bad(`one of ${LOG_LEVELS.join(', ')}`);
      return raw;
    case 'log-format':
      if (!(LOG_FORMATS as readonly string[]).includes(raw))
        throw bad(`one of ${LOG_FORMATS.join(', ')}`);
      return raw;
    case 'boolean': {
      const s = raw.toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      throw bad('true or false');
    }
    case 'json-object': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw bad('a JSON object');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw bad('a JSON object');
      return Object.freeze(parsed);
    }
    case 'list':
      return Object.freeze(
        raw
          .split(',')
          .map(s => s.trim())
          .filter(s => s.length > 0),
      );
  }
}

/** One setting's value from `env` (aliases and default included), parsed; undefined if unset. */
function readVar(env: Env, v: ConfigVar): unknown {
  let raw = env[v.env];
  for (const alias of v.aliases ?? []) {
    const a = env[alias];
    if (a === undefined || a === '') continue;
    if (raw !== undefined && raw !== '' && raw !== a) {
      throw new ConfigError(
        'conflict',
        v.env,
        `${v.env} and its alias ${alias} are both set to different values; set only one`,
      );
    }
    raw = a;
  }
  if (raw === undefined || raw === '') raw = v.default;
  if (raw === undefined) {
    if (v.required)
      throw new ConfigError('missing', v.env, `${v.env} is required: ${v.description}`);
    return undefined;
  }
  return parseValue(v, raw);
}

/**
 * Some settings only, parsed as zero-cache parses them (for commands that share zero-cache's
 * environment but not its needs, such as analyze-query). `required` is not enforced.
 */
export function parseSettings<K extends keyof ZeroConfig>(
  env: Env,
  keys: readonly K[],
): {readonly [P in K]: ZeroConfig[P]} {
  const out: Record<string, unknown> = {};
  for (const v of CONFIG_VARS as readonly ConfigVar[]) {
    if (!(keys as readonly string[]).includes(v.key)) continue;
    out[v.key] = readVar(env, {...v, required: false});
  }
  return Object.freeze(out) as {readonly [P in K]: ZeroConfig[P]};
}

/** Parses and validates the zero-cache configuration from an environment object. */
export function parseConfig(env: Env): ZeroConfig {
  const out: Record<string, unknown> = {};
  for (const v of CONFIG_VARS as readonly ConfigVar[]) out[v.key] = readVar(env, v);
  const keys = ['ZERO_AUTH_SECRET', 'ZERO_AUTH_JWK', 'ZERO_AUTH_JWKS_URL'].filter(
    k => env[k] !== undefined && env[k] !== '',
  );
  if (keys.length > 1) {
    throw new ConfigError(
      'conflict',
      keys[0]!,
      `only one of ZERO_AUTH_SECRET, ZERO_AUTH_JWK and ZERO_AUTH_JWKS_URL may be set, but ${keys.join(' and ')} are`,
    );
  }
  out['cvrDb'] ??= out['upstreamDb'];
  out['changeDb'] ??= out['upstreamDb'];
  Object.assign(out, resolveRoleSettings(out));
  out['otlpMetrics'] = parseOtelConfig(env);
  out['production'] = env['NODE_ENV'] === 'production';
  if (out['production'] && out['adminPassword'] === undefined) {
    // Fail closed: a production server is not run with its operations endpoints unprotected
    // or unreachable by accident.
    throw new ConfigError(
      'missing',
      'ZERO_ADMIN_PASSWORD',
      'ZERO_ADMIN_PASSWORD is required with NODE_ENV=production: it protects /metrics and the ' +
        'admin endpoints; set it to a long random secret (see docs/operations.md)',
    );
  }
  return Object.freeze(out) as unknown as ZeroConfig;
}

/** The text `zero-cache --help` prints. */
export function configHelp(): string {
  const lines = ['Usage: zero-cache', '', 'Configuration (environment variables):', ''];
  for (const v of CONFIG_VARS as readonly ConfigVar[]) {
    const def =
      v.default !== undefined
        ? `default: ${v.default}`
        : v.required
          ? 'required'
          : `default: ${v.docDefault.replace(/`/g, '')}`;
    const alias = v.aliases ? ` (alias ${v.aliases.join(', ')})` : '';
    lines.push(`  ${v.env}${alias}`, `      ${v.description} [${def}]`);
  }
  return lines.join('\n');
}
