// The settings' documentation says what each setting does today, in the README, in
// docs/configuration.md and in `zero-cache --help`, and none of them leaves one out.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {expect, test} from 'vitest';
import {CONFIG_VARS} from './config-table.ts';
import type {ConfigVar} from './config-table.ts';
import {configHelp, unusedSettings} from './parse-config.ts';

const root = join(import.meta.dirname, '../../../..');
const vars = CONFIG_VARS as readonly ConfigVar[];

/** The first-column variable of each row of the settings table, with the row's text. */
function tableRows(file: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
    const m = /^\| `(ZERO_[A-Z_]+)`/.exec(line);
    if (m) rows.set(m[1]!, line);
  }
  return rows;
}

for (const file of ['README.md', 'docs/configuration.md']) {
  test(`${file} lists exactly the declared settings, in order, and marks unused ones`, () => {
    const rows = tableRows(file);
    expect([...rows.keys()]).toEqual(vars.map(v => v.env));
    for (const v of vars) {
      const row = rows.get(v.env)!;
      if (v.notUsedYet) expect(row).toContain('**not used yet**');
      else expect(row).not.toContain('not used yet');
      if (v.default !== undefined && v.type !== 'boolean') expect(row).toContain(v.default);
    }
  });
}

test('help marks the settings that are not used yet, and claims nothing for them', () => {
  const help = configHelp();
  expect(vars.filter(v => v.notUsedYet).map(v => v.env)).toEqual([
    'ZERO_CHANGE_DB',
    'ZERO_ADMIN_PASSWORD',
  ]);
  expect(help).toContain('ZERO_CHANGE_DB (NOT USED YET)');
  expect(help).toContain('ZERO_ADMIN_PASSWORD (NOT USED YET)');
  expect(help).not.toMatch(/Protects admin|URL for the change log/);
});

test('set settings that are not used yet are reported, unset and empty ones are not', () => {
  expect(unusedSettings({ZERO_CHANGE_DB: 'postgres://x/y', ZERO_ADMIN_PASSWORD: ''})).toEqual([
    'ZERO_CHANGE_DB',
  ]);
  expect(unusedSettings({ZERO_PORT: '1'})).toEqual([]);
});
