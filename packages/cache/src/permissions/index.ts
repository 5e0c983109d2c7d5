// zero-cache's permissions: the app's schema file (ZERO_SCHEMA_PATH) and select filters
// bound to each connection's claims. Re-exports only; see docs/permissions.md.
export {tablesWhoseSelectReadsClaims} from './claim-usage.ts';
export {
  LEGACY_CRUD_REFUSAL,
  LEGACY_QUERY_REFUSAL,
  legacyAPI,
  refuseRawQueries,
} from './legacy-api.ts';
export type {LegacyAPI} from './legacy-api.ts';
export {loadSchemaFile} from './load-schema-file.ts';
export type {LoadedSchemaFile, LoadSchemaFileOptions} from './load-schema-file.ts';
export {PermissionsError} from './permissions-error.ts';
export type {PermissionsErrorKind} from './permissions-error.ts';
export {SchemaFileError} from './schema-file-error.ts';
export type {SchemaFileErrorKind} from './schema-file-error.ts';
export {permissionsQueryPreparer, SelectPermissions, tablesOf} from './select-permissions.ts';
export type {
  ApplySelectPermissions,
  ClaimsMode,
  SelectPermissionsOptions,
} from './select-permissions.ts';
export {validatePermissions, validateSchema} from './validate-schema-file.ts';
export {loadPermissionsHooks} from './permissions-hooks.ts';
export type {PermissionsHooks} from './permissions-hooks.ts';
