// Checks the data an app's schema file exports. The file imports `zync` from the app's own
// node_modules, so nothing here uses `instanceof` or module identity: only the shape.
import type {DefinedPermissions, Schema} from '@zync/zql';
import {SchemaFileError} from './schema-file-error.ts';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns `value` as a Schema, or throws a SchemaFileError saying what is wrong. */
export function validateSchema(value: unknown, file: string): Schema {
  const bad = (problem: string) => new SchemaFileError('bad-schema', file, problem);
  if (value === undefined)
    throw bad('does not export `schema` (export const schema = createSchema(...))');
  if (!isObject(value) || !isObject(value['tables'])) {
    throw bad('`schema` is not a schema (expected the value createSchema returns, with `tables`)');
  }
  const tables = value['tables'];
  if (Object.keys(tables).length === 0) throw bad('`schema` has no tables');
  for (const [name, t] of Object.entries(tables)) {
    if (!isObject(t) || !isObject(t['columns']) || !Array.isArray(t['primaryKey'])) {
      throw bad(`table "${name}" is not a table schema (expected columns and primaryKey)`);
    }
    if (t['name'] !== name) throw bad(`table "${name}" is registered under another name`);
    const columns = t['columns'];
    if (Object.keys(columns).length === 0) throw bad(`table "${name}" has no columns`);
    for (const [col, c] of Object.entries(columns)) {
      if (!isObject(c) || typeof c['type'] !== 'string') {
        throw bad(`column "${name}.${col}" has no type`);
      }
    }
    const pk = t['primaryKey'] as unknown[];
    if (pk.length === 0) throw bad(`table "${name}" has no primary key`);
    for (const k of pk) {
      if (typeof k !== 'string' || !Object.hasOwn(columns, k)) {
        throw bad(`the primary key of "${name}" names an unknown column`);
      }
    }
  }
  if (value['relationships'] !== undefined && !isObject(value['relationships'])) {
    throw bad('`schema.relationships` is not an object');
  }
  return value as unknown as Schema;
}

const POLICY_PATHS = [
  ['select'],
  ['insert'],
  ['update', 'preMutation'],
  ['update', 'postMutation'],
  ['delete'],
] as const;

function checkPolicies(
  policies: unknown,
  where: string,
  bad: (problem: string) => SchemaFileError,
): void {
  if (!isObject(policies)) throw bad(`"${where}" is not an object`);
  for (const path of POLICY_PATHS) {
    let v: unknown = policies;
    for (const p of path) v = isObject(v) ? v[p] : undefined;
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some(r => typeof r !== 'function')) {
      throw bad(`"${where}.${path.join('.')}" must be an array of rules (functions)`);
    }
  }
}

/**
 * Returns `value` (what the exported `permissions` promise resolved to) as
 * DefinedPermissions, checked against `schema`: its tables must be the schema's tables (by
 * name and columns), and every policy an array of functions.
 */
export function validatePermissions(
  value: unknown,
  schema: Schema,
  file: string,
): DefinedPermissions {
  const bad = (problem: string) => new SchemaFileError('bad-permissions', file, problem);
  if (!isObject(value) || value['kind'] !== 'zync-permissions' || !isObject(value['tables'])) {
    throw bad('`permissions` is not what definePermissions(schema, ...) returns');
  }
  const own = value['schema'];
  if (!isObject(own) || !isObject(own['tables'])) {
    throw bad('`permissions` carries no schema');
  }
  const ownTables = own['tables'];
  for (const [name, t] of Object.entries(schema.tables)) {
    const o = ownTables[name];
    if (!isObject(o) || !isObject(o['columns'])) {
      throw bad(`definePermissions was given a schema without table "${name}"`);
    }
    const cols = Object.keys(t.columns).sort().join(',');
    if (Object.keys(o['columns']).sort().join(',') !== cols) {
      throw bad(`definePermissions was given a schema whose table "${name}" has other columns`);
    }
  }
  for (const [name, entry] of Object.entries(value['tables'])) {
    if (!Object.hasOwn(schema.tables, name)) {
      throw bad(`permissions name table "${name}", which the schema does not define`);
    }
    if (entry === undefined) continue;
    if (!isObject(entry)) throw bad(`permissions for "${name}" are not an object`);
    const row = entry['row'];
    if (row !== undefined) checkPolicies(row, `${name}.row`, bad);
    const cell = entry['cell'];
    if (cell === undefined) continue;
    if (!isObject(cell)) throw bad(`"${name}.cell" is not an object of columns`);
    const t = schema.tables[name]!;
    for (const [column, policies] of Object.entries(cell)) {
      if (!Object.hasOwn(t.columns, column)) {
        throw bad(`"${name}.cell" names column "${column}", which the schema does not define`);
      }
      if (policies === undefined) continue;
      checkPolicies(policies, `${name}.cell.${column}`, bad);
      if (isObject(policies) && policies['select'] !== undefined && t.primaryKey.includes(column)) {
        throw bad(
          `"${name}.cell.${column}.select" restricts a primary key column, which cannot be ` +
            'hidden; use a row select rule',
        );
      }
    }
  }
  return value as unknown as DefinedPermissions;
}
