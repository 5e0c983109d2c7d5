// The settings' documentation says what each setting does today, in the README, in
// docs/configuration.md (both generated from config-table.ts) and in `zero-cache --help`,
// and none of them leaves one out.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {expect, test} from 'vitest';
import {CONFIG_VARS} from './config-table.ts';
import type {ConfigVar} from './config-table.ts';
import {configHelp, unusedSettings} from './parse-config.ts';
import {renderTable, TABLE_FILES, withTable} from '../../../../scripts/config-docs.ts';

const root = join(import.meta.dirname, '../../../..');
const vars = CONFIG_VARS as readonly ConfigVar[];

for (const {file, docsPrefix} of TABLE_FILES) {
  test(`${file} holds the settings table generated from the definitions`, async () => {
    const text = readFileSync(join(root, file), 'utf8');
    const expected = withTable(text, await renderTable(docsPrefix, file), file);
    // On failure: run `npm run docs:config` and commit the result.
    expect(text).toBe(expected);
    const listed = [...text.matchAll(/^\| `(ZERO_[A-Z_]+)`/gm)].map(m => m[1]);
    expect(listed).toEqual(vars.map(v => v.env));
  });
}

test('the documentation of each setting marks unused ones and shows defaults', () => {
  for (const v of vars) {
    if (v.notUsedYet) expect(v.doc).toContain('**not used yet**');
    else expect(v.doc).not.toContain('not used yet');
    if (v.default !== undefined && v.type !== 'boolean') expect(v.docDefault).toContain(v.default);
  }
});

test('help marks the settings that are not used yet, and claims nothing for them', () => {
  const help = configHelp();
  expect(vars.filter(v => v.notUsedYet).map(v => v.env)).toEqual(['ZERO_CHANGE_DB']);
  expect(help).toContain('ZERO_CHANGE_DB (NOT USED YET)');
  expect(help).not.toContain('ZERO_ADMIN_PASSWORD (NOT USED YET)');
  expect(help).not.toMatch(/URL for the change log/);
});

test('set settings that are not used yet are reported, unset and empty ones are not', () => {
  expect(
    unusedSettings({ZERO_CHANGE_DB: 'postgres://x/y', ZERO_ADMIN_PASSWORD: 'set', ZERO_PORT: ''}),
  ).toEqual(['ZERO_CHANGE_DB']);
  expect(unusedSettings({ZERO_PORT: '1'})).toEqual([]);
});
