// Whether zero-cache may start with the permissions it has. Without permissions every read
// and every CRUD write is allowed; that must be a visible choice, never an accident.
import {ConfigError} from '../config/config-error.ts';
import type {ZeroConfig} from '../config/parse-config.ts';

export type PermissionsPolicyConfig = Pick<
  ZeroConfig,
  'schemaPath' | 'allowAllWithoutPermissions' | 'production'
>;

export type PermissionsPolicy =
  /** Permissions are loaded: nothing to say. */
  | {readonly kind: 'enforced'}
  /** No permissions, allowed explicitly (ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS=true). */
  | {readonly kind: 'allow-all'; readonly line: string}
  /** No permissions in development: the block to print at start. */
  | {readonly kind: 'allow-all-warning'; readonly lines: readonly string[]};

const SETTING = 'ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS';

function why(config: PermissionsPolicyConfig, schemaFile: string | undefined): string {
  return config.schemaPath === undefined
    ? 'ZERO_SCHEMA_PATH is not set'
    : `the schema file ${schemaFile ?? config.schemaPath} exports no \`permissions\``;
}

/**
 * Decides what start-up does about missing permissions. Throws a ConfigError (naming
 * ZERO_SCHEMA_PATH and ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS) when NODE_ENV=production and
 * there are no permissions without the explicit setting.
 */
export function permissionsPolicy(
  config: PermissionsPolicyConfig,
  loaded: {readonly hasPermissions: boolean; readonly file?: string | undefined},
): PermissionsPolicy {
  if (loaded.hasPermissions) return {kind: 'enforced'};
  const reason = why(config, loaded.file);
  if (config.allowAllWithoutPermissions) {
    return {
      kind: 'allow-all',
      line: `No permissions (${reason}): every client may read and write every row, as ${SETTING}=true allows`,
    };
  }
  if (config.production) {
    throw new ConfigError(
      'missing',
      'ZERO_SCHEMA_PATH',
      `refusing to start with NODE_ENV=production and no permissions (${reason}): every ` +
        `client could read and write every row. Set ZERO_SCHEMA_PATH to a schema file that ` +
        `exports \`permissions\`, or set ${SETTING}=true to allow everything on purpose`,
    );
  }
  const rule = '!'.repeat(78);
  return {
    kind: 'allow-all-warning',
    lines: [
      rule,
      `!! NO PERMISSIONS: ${reason}.`,
      '!! Every client may read every synced row and insert, update or delete any row.',
      '!! This is allowed only because NODE_ENV is not production; with NODE_ENV=production',
      '!! zero-cache refuses to start like this.',
      '!! Fix: set ZERO_SCHEMA_PATH to a schema file that exports `permissions`,',
      `!! or set ${SETTING}=true to allow everything on purpose (and silence this).`,
      rule,
    ],
  };
}
