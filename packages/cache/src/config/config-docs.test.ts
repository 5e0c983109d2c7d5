// The settings' documentation says what each setting does today, in the README, in
// docs/configuration.md (both generated from config-table.ts) and in `zero-cache --help`,
// and none of them leaves one out.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {expect, test} from 'vitest';
import {CONFIG_VARS} from './config-table.ts';
import type {ConfigVar} from './config-table.ts';
import {configHelp} from './parse-config.ts';
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

test('the documentation of each setting shows its default, and claims nothing unbuilt', () => {
  for (const v of vars) {
    expect(v.doc).not.toMatch(/not used yet/i);
    if (v.default !== undefined && v.type !== 'boolean') expect(v.docDefault).toContain(v.default);
  }
});

test('help shows the computed defaults, not "unset", for settings derived at start', () => {
  const help = configHelp();
  expect(help).not.toContain('NOT USED YET');
  expect(help).toMatch(/ZERO_CHANGE_STREAMER_PORT\n.*\[default: ZERO_PORT \+ 1\]/);
  expect(help).toMatch(/ZERO_CVR_DB\n.*\[default: the upstream database\]/);
  expect(help).toMatch(/ZERO_CHANGE_STREAMER_URI\n.*\[default: unset\]/);
});
