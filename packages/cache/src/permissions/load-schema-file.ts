// Loads an app's schema file (ZERO_SCHEMA_PATH): TypeScript or JavaScript, type-only
// imports written as plain imports dropped (as tsx and esbuild do). Each load is a fresh
// module (compile-schema-file.ts), so a reload sees edited files.
import {existsSync, statSync} from 'node:fs';
import {isAbsolute, resolve} from 'node:path';
import type {DefinedPermissions, Schema} from '@zync/zql';
import {compileSchemaFile, importCompiled} from './compile-schema-file.ts';
import {localImports} from './local-imports.ts';
import {SchemaFileError} from './schema-file-error.ts';
import {validatePermissions, validateSchema} from './validate-schema-file.ts';

export type LoadedSchemaFile = {
  /** The absolute path that was loaded. */
  readonly file: string;
  readonly schema: Schema;
  /** Undefined when the file exports no `permissions`: reads are then unfiltered. */
  readonly permissions: DefinedPermissions | undefined;
  /** The app's own files the schema file imported (not node_modules), for watching. */
  readonly files: readonly string[];
};

export type LoadSchemaFileOptions = {
  /** Relative paths resolve against this (default: process.cwd()). */
  readonly cwd?: string | undefined;
};

export async function loadSchemaFile(
  path: string,
  options: LoadSchemaFileOptions = {},
): Promise<LoadedSchemaFile> {
  const file = isAbsolute(path) ? path : resolve(options.cwd ?? process.cwd(), path);
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new SchemaFileError('not-found', file, 'the schema file does not exist');
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importCompiled(await compileSchemaFile(file));
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0]?.slice(0, 300) : 'unknown error';
    throw new SchemaFileError('load-failed', file, `could not be loaded: ${reason}`, {cause: e});
  }
  const schema = validateSchema(mod['schema'], file);
  let permissions: DefinedPermissions | undefined;
  if (mod['permissions'] !== undefined) {
    let resolved: unknown;
    try {
      resolved = await Promise.resolve(mod['permissions']);
    } catch (e) {
      const reason = e instanceof Error ? e.message.slice(0, 300) : 'unknown error';
      throw new SchemaFileError('bad-permissions', file, `definePermissions failed: ${reason}`, {
        cause: e,
      });
    }
    permissions = validatePermissions(resolved, schema, file);
  }
  return {file, schema, permissions, files: localImports(file)};
}
