// What zero-cache's entry point needs from the schema file: the permissions for CRUD write
// checks and the select-permissions QueryPreparer, both from one load.
import type {Logger} from '@zync/shared';
import type {DefinedPermissions} from '@zync/zql';
import type {ZeroConfig} from '../config/parse-config.ts';
import type {QueryPreparer} from '../view-syncer/group-client.ts';
import {loadSchemaFile, type LoadedSchemaFile} from './load-schema-file.ts';
import {SelectPermissions} from './select-permissions.ts';

export type PermissionsHooks = {
  /** Undefined without ZERO_SCHEMA_PATH. */
  readonly loaded: LoadedSchemaFile | undefined;
  /** For ZeroCacheHooks.permissions (CRUD write checks). */
  readonly permissions: DefinedPermissions | undefined;
  readonly selectPermissions: SelectPermissions;
  /** For ZeroCacheHooks.prepareQuery; compose with `selectPermissions.after(other)`. */
  readonly prepareQuery: QueryPreparer;
};

type PermissionsConfig = Pick<ZeroConfig, 'schemaPath' | 'authSecret' | 'authJwk' | 'authJwksUrl'>;

/** Loads ZERO_SCHEMA_PATH (if set). Throws SchemaFileError with the file and the problem. */
export async function loadPermissionsHooks(
  config: PermissionsConfig,
  lc: Logger,
  options: {readonly cwd?: string | undefined} = {},
): Promise<PermissionsHooks> {
  const loaded =
    config.schemaPath === undefined
      ? undefined
      : await loadSchemaFile(config.schemaPath, {cwd: options.cwd});
  const verified =
    config.authSecret !== undefined ||
    config.authJwk !== undefined ||
    config.authJwksUrl !== undefined;
  const permissions = loaded?.permissions;
  const selectPermissions = new SelectPermissions({
    permissions,
    claims: verified ? 'verified' : 'opaque',
    logger: lc.with({component: 'permissions'}),
  });
  // Missing permissions are reported (or refused) by permissionsPolicy at start.
  if (permissions) {
    lc.info('Loaded permissions', {
      file: loaded?.file,
      tables: Object.keys(permissions.tables).length,
    });
    const needing = [...selectPermissions.tablesNeedingClaims];
    if (!verified && needing.length > 0) {
      lc.warn(
        'No ZERO_AUTH_* key: queries from connections with a token over tables whose select ' +
          'rules read claims are refused',
        {tables: needing.join(',')},
      );
    }
  }
  return {loaded, permissions, selectPermissions, prepareQuery: selectPermissions.prepare};
}
