// The `zero-cache-dev` command: zero-cache for development. Loads the schema file
// (ZERO_SCHEMA_PATH, default ./schema.ts), runs zero-cache as a child process, watches the
// schema file and the app files it imports, and on a change validates the file again: if it
// is good, zero-cache is restarted with it (clients reconnect on their own); if not, the error
// is printed and the running zero-cache keeps the last good permissions.
// Without a schema file at the default path (ZERO_SCHEMA_PATH unset), an app using only
// defined queries and mutators runs as is: zero-cache starts with ZERO_LEGACY_API=false,
// refusing raw queries and CRUD mutations, so that it needs no permissions.
import {existsSync} from 'node:fs';
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {watch} from 'node:fs';
import type {FSWatcher} from 'node:fs';
import {basename, dirname, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {loadSchemaFile} from '../permissions/load-schema-file.ts';
import type {LoadedSchemaFile} from '../permissions/load-schema-file.ts';
import {resolveEntry} from './entry-points.ts';
import {missingPeersHint} from './peers.ts';

const schemaPath = resolve(process.env['ZERO_SCHEMA_PATH'] ?? 'schema.ts');
const noSchemaFile = process.env['ZERO_SCHEMA_PATH'] === undefined && !existsSync(schemaPath);
const log = (line: string) => process.stderr.write(`zero-cache-dev: ${line}\n`);

let child: ChildProcess | undefined;
let stopping = false;
let watchers: FSWatcher[] = [];
let timer: NodeJS.Timeout | undefined;

async function check(): Promise<LoadedSchemaFile | undefined> {
  try {
    return await loadSchemaFile(schemaPath);
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    return undefined;
  }
}

function start(): void {
  const entry = resolveEntry('zero-cache');
  // One process unless asked for more: restarts on every schema edit stay quick and light.
  const workers = {ZERO_NUM_SYNC_WORKERS: process.env['ZERO_NUM_SYNC_WORKERS'] || '1'};
  const mine = spawn(
    process.execPath,
    [...entry.execArgv, fileURLToPath(entry.file), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: noSchemaFile
        ? {...process.env, ...workers, ZERO_LEGACY_API: 'false'}
        : {...process.env, ...workers, ZERO_SCHEMA_PATH: schemaPath},
    },
  );
  child = mine;
  mine.on('exit', code => {
    if (mine !== child || stopping) return;
    log(`zero-cache exited (${code}); waiting for a change to the schema file`);
    child = undefined;
  });
}

function stopChild(): Promise<void> {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null) return Promise.resolve();
  return new Promise(res => {
    c.once('exit', () => res());
    c.kill('SIGTERM');
  });
}

function watchFiles(files: readonly string[]): void {
  for (const w of watchers) w.close();
  // Directories, not files: editors often replace a file, which ends a file watch.
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const d = dirname(f);
    const names = byDir.get(d) ?? new Set<string>();
    names.add(basename(f));
    byDir.set(d, names);
  }
  watchers = [...byDir].map(([d, names]) =>
    watch(d, (_event, name) => {
      if (name && names.has(name.toString())) schedule();
    }),
  );
}

function schedule(): void {
  clearTimeout(timer);
  timer = setTimeout(() => void reload(), 200);
}

async function reload(): Promise<void> {
  const loaded = await check();
  if (!loaded) return;
  watchFiles(loaded.files);
  log('schema file changed: restarting zero-cache');
  await stopChild();
  if (!stopping) start();
}

const hint = missingPeersHint();
if (hint !== undefined) {
  log(hint);
  process.exit(1);
}
if (noSchemaFile) {
  log(
    `no schema file at ${schemaPath}: starting zero-cache with ZERO_LEGACY_API=false ` +
      '(raw queries and CRUD mutations are refused; defined queries and mutators work)',
  );
} else {
  const first = await check();
  if (!first) process.exit(1);
  watchFiles(first.files);
  log(`watching ${first.files.length} file(s) of ${schemaPath}`);
}
start();

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    stopping = true;
    clearTimeout(timer);
    for (const w of watchers) w.close();
    void stopChild().then(() => process.exit(0));
  });
}
