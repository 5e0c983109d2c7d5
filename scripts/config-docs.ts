// Renders the settings table of README.md and docs/configuration.md from the config
// definitions (packages/cache/src/config/config-table.ts). `npm run docs:config` rewrites
// both files; a test fails when either differs from what this renders.
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {format, resolveConfig} from 'prettier';
import {CONFIG_VARS} from '../packages/cache/src/config/config-table.ts';
import type {ConfigVar} from '../packages/cache/src/config/config-table.ts';

export const BEGIN =
  '<!-- settings table: generated from config-table.ts by `npm run docs:config` -->';
export const END = '<!-- end of settings table -->';

const root = join(import.meta.dirname, '..');

/** The files holding a table, with the prefix their links to docs/ need. */
export const TABLE_FILES = [
  {file: 'README.md', docsPrefix: 'docs/'},
  {file: 'docs/configuration.md', docsPrefix: ''},
] as const;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The table as Prettier formats it, links rewritten for a file at `docsPrefix`. */
export async function renderTable(docsPrefix: string, file: string): Promise<string> {
  const rows = (CONFIG_VARS as readonly ConfigVar[]).map(v => {
    const name =
      `\`${v.env}\`` + (v.aliases ? ` (alias ${v.aliases.map(a => `\`${a}\``).join(', ')})` : '');
    // Relative links in `doc` point into docs/; a file elsewhere needs the prefix.
    const doc = v.doc.replace(/\]\((?![a-z]+:|#|\/)([^)]+)\)/g, `](${docsPrefix}$1)`);
    return `| ${cell(name)} | ${cell(v.docDefault)} | ${cell(doc)} |`;
  });
  const raw = ['| variable | default | what it does today |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
  const options = (await resolveConfig(join(root, file))) ?? {};
  return (await format(raw, {...options, parser: 'markdown'})).trimEnd();
}

/** `text` with the part between the markers replaced by `table`. */
export function withTable(text: string, table: string, file: string): string {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) {
    throw new Error(`${file} lacks the settings-table markers; put ${BEGIN} and ${END} around it`);
  }
  return `${text.slice(0, begin + BEGIN.length)}\n\n${table}\n\n${text.slice(end)}`;
}

async function main(): Promise<void> {
  for (const {file, docsPrefix} of TABLE_FILES) {
    const path = join(root, file);
    const text = readFileSync(path, 'utf8');
    const next = withTable(text, await renderTable(docsPrefix, file), file);
    if (next !== text) writeFileSync(path, next);
    console.log(`${file}: ${next === text ? 'up to date' : 'rewritten'}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
