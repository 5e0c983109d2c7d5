import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {afterAll, describe, expect, test} from 'vitest';
import {loadSchemaFile} from './load-schema-file.ts';
import {SchemaFileError} from './schema-file-error.ts';

const repoNodeModules = resolve(import.meta.dirname, '../../../../node_modules');
// An "app" directory with its own node_modules (the repo's, holding `zync` and `@zync/zql`).
const app = mkdtempSync(join(tmpdir(), 'zync-schema-file-'));
symlinkSync(repoNodeModules, join(app, 'node_modules'), 'dir');

afterAll(() => rmSync(app, {recursive: true, force: true}));

function write(name: string, text: string): string {
  const file = join(app, name);
  mkdirSync(join(file, '..'), {recursive: true});
  writeFileSync(file, text);
  return file;
}

const SCHEMA_TS = `
// Type-only names imported as plain imports: tsx/esbuild drop them.
import {ANYONE_CAN, createSchema, definePermissions, ExpressionBuilder, PermissionsConfig, Row, string, table} from 'zync';
import {Schema as S} from '@zync/zql';
import {ownerRule} from './rules/owner.ts';

const issue = table('issue').columns({id: string(), ownerID: string().from('owner_id')}).primaryKey('id');
const user = table('user').columns({id: string()}).primaryKey('id');
export const schema = createSchema({tables: [issue, user]});
export type Schema = typeof schema;
export type Issue = Row<typeof schema.tables.issue>;
type AuthData = {sub: string};
const unused: S | undefined = undefined;
void unused;

export const permissions = definePermissions<AuthData, Schema>(schema, () => {
  const config: PermissionsConfig<AuthData, Schema> = {
    issue: {row: {select: [ownerRule]}},
    user: {row: {select: ANYONE_CAN}},
  };
  return config;
});
`;

const RULES_TS = `
import {ExpressionBuilder} from 'zync';
import type {Schema} from '../schema.ts';
export const ownerRule = (a: {sub: string}, {cmp}: ExpressionBuilder<Schema, 'issue'>) =>
  cmp('ownerID', a.sub);
`;

describe('loadSchemaFile', () => {
  test('loads a .ts file relative to cwd, with type-only imports and local imports', async () => {
    write('schema.ts', SCHEMA_TS);
    write('rules/owner.ts', RULES_TS);
    const loaded = await loadSchemaFile('schema.ts', {cwd: app});
    expect(Object.keys(loaded.schema.tables).sort()).toEqual(['issue', 'user']);
    expect(loaded.permissions?.kind).toBe('zync-permissions');
    expect(loaded.permissions?.tables['issue']?.row?.select).toHaveLength(1);
    expect(loaded.files).toContain(join(app, 'schema.ts'));
    expect(loaded.files).toContain(join(app, 'rules/owner.ts'));
    expect(loaded.files.some(f => f.includes('node_modules'))).toBe(false);
  });

  test('a reload sees the edited file', async () => {
    const file = write(
      'reload.ts',
      SCHEMA_TS.replace('({id: string()})', '({id: string(), a: string()})'),
    );
    write('rules/owner.ts', RULES_TS);
    const columns = async () =>
      Object.keys((await loadSchemaFile(file)).schema.tables['user']!.columns);
    expect(await columns()).toEqual(['id', 'a']);
    write('reload.ts', SCHEMA_TS.replace('({id: string()})', '({id: string(), b: string()})'));
    expect(await columns()).toEqual(['id', 'b']);
  });

  test('a .js file without permissions', async () => {
    const file = write(
      'plain.js',
      `import {createSchema, string, table} from 'zync';
       export const schema = createSchema({tables: [table('t').columns({id: string()}).primaryKey('id')]});`,
    );
    const loaded = await loadSchemaFile(file);
    expect(loaded.permissions).toBeUndefined();
  });

  const cases: [string, string, RegExp, SchemaFileError['kind']][] = [
    ['missing.ts', '', /missing\.ts: the schema file does not exist/, 'not-found'],
    ['syntax.ts', 'export const schema = {{;', /syntax\.ts: could not be loaded/, 'load-failed'],
    [
      'throws.ts',
      `throw new Error('boom');`,
      /throws\.ts: could not be loaded: boom/,
      'load-failed',
    ],
    ['noschema.ts', 'export const x = 1;', /noschema\.ts: does not export `schema`/, 'bad-schema'],
    ['badschema.ts', 'export const schema = {tables: 3};', /is not a schema/, 'bad-schema'],
    [
      'badpk.ts',
      `export const schema = {tables: {t: {name: 't', columns: {id: {type: 'string'}}, primaryKey: ['nope']}}};`,
      /primary key of "t" names an unknown column/,
      'bad-schema',
    ],
    [
      'badperms.ts',
      SCHEMA_TS.replace('export const permissions =', 'export const permissions = {} ?? '),
      /`permissions` is not what definePermissions/,
      'bad-permissions',
    ],
    [
      'rejects.ts',
      SCHEMA_TS.replace(
        'export const permissions =',
        'export const permissions = Promise.reject(new Error("nope")); const p2 =',
      ),
      /definePermissions failed: nope/,
      'bad-permissions',
    ],
    [
      'otherschema.ts',
      SCHEMA_TS.replace(
        'definePermissions<AuthData, Schema>(schema,',
        `definePermissions<AuthData, Schema>(createSchema({tables: [issue]}) as never,`,
      ).replace('user: {row: {select: ANYONE_CAN}},', ''),
      /definePermissions was given a schema without table "user"/,
      'bad-permissions',
    ],
  ];
  test.each(cases)('%s gives a clear error', async (name, text, message, kind) => {
    if (text) write(name, text);
    write('rules/owner.ts', RULES_TS);
    const err = await loadSchemaFile(name, {cwd: app}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaFileError);
    expect((err as SchemaFileError).kind).toBe(kind);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(join(app, name));
  });
});
