import {expect, test} from 'vitest';
import {ConfigError} from '../config/config-error.ts';
import {permissionsPolicy} from './permissions-policy.ts';

const prod = {schemaPath: 'app/schema.ts', allowAllWithoutPermissions: false, production: true};

test('loaded permissions are enforced whatever the other settings say', () => {
  expect(permissionsPolicy(prod, {hasPermissions: true})).toEqual({kind: 'enforced'});
  expect(
    permissionsPolicy({...prod, production: false}, {hasPermissions: true, file: '/a/s.ts'}),
  ).toEqual({kind: 'enforced'});
});

test('a schema file without permissions counts as no permissions and names the file', () => {
  let err: unknown;
  try {
    permissionsPolicy(prod, {hasPermissions: false, file: '/srv/app/schema.ts'});
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).variable).toBe('ZERO_SCHEMA_PATH');
  expect((err as Error).message).toContain(
    'no permissions (the schema file /srv/app/schema.ts exports no `permissions`)',
  );
  const dev = permissionsPolicy({...prod, production: false}, {hasPermissions: false});
  expect(dev.kind).toBe('allow-all-warning');
  expect(dev.kind === 'allow-all-warning' && dev.lines[1]).toBe(
    '!! NO PERMISSIONS: the schema file app/schema.ts exports no `permissions`.',
  );
});

test('the explicit setting allows all in production, with one line instead of the block', () => {
  const p = permissionsPolicy(
    {schemaPath: undefined, allowAllWithoutPermissions: true, production: true},
    {hasPermissions: false},
  );
  expect(p).toEqual({
    kind: 'allow-all',
    line:
      'No permissions (ZERO_SCHEMA_PATH is not set): every client may read and write every ' +
      'row, as ZERO_ALLOW_ALL_WITHOUT_PERMISSIONS=true allows',
  });
});
