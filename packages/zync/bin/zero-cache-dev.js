#!/usr/bin/env node
// zero-cache-dev: zero-cache for development. Loads the schema file (ZERO_SCHEMA_PATH,
// default ./schema.ts), runs zero-cache as a child process, watches the schema file and the
// app files it imports, and on a change validates the file again: if it is good, zero-cache
// is restarted with it (clients reconnect on their own); if not, the error is printed and
// the running zero-cache keeps the last good permissions.
import {spawn} from 'node:child_process';
import {watch} from 'node:fs';
import {basename, dirname, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {register} from 'tsx/esm/api';

register();
const {loadSchemaFile} = await import('@zync/cache');

const here = dirname(fileURLToPath(import.meta.url));
const schemaPath = resolve(process.env.ZERO_SCHEMA_PATH ?? 'schema.ts');
const log = line => process.stderr.write(`zero-cache-dev: ${line}\n`);

let child;
let stopping = false;
let watchers = [];

async function check() {
  try {
    return await loadSchemaFile(schemaPath);
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    return undefined;
  }
}

function start() {
  child = spawn(process.execPath, [resolve(here, 'zero-cache.js'), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: {...process.env, ZERO_SCHEMA_PATH: schemaPath},
  });
  const mine = child;
  mine.on('exit', code => {
    if (mine !== child || stopping) return;
    log(`zero-cache exited (${code}); waiting for a change to the schema file`);
    child = undefined;
  });
}

function stopChild() {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null) return Promise.resolve();
  return new Promise(res => {
    c.once('exit', () => res());
    c.kill('SIGTERM');
  });
}

function watchFiles(files) {
  for (const w of watchers) w.close();
  // Directories, not files: editors often replace a file, which ends a file watch.
  const byDir = new Map();
  for (const f of files) {
    const d = dirname(f);
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d).add(basename(f));
  }
  watchers = [...byDir].map(([d, names]) =>
    watch(d, (_event, name) => {
      if (name && names.has(name.toString())) schedule();
    }),
  );
}

let timer;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => void reload(), 200);
}

async function reload() {
  const loaded = await check();
  if (!loaded) return;
  watchFiles(loaded.files);
  log('schema file changed: restarting zero-cache');
  await stopChild();
  if (!stopping) start();
}

const first = await check();
if (!first) process.exit(1);
watchFiles(first.files);
log(`watching ${first.files.length} file(s) of ${schemaPath}`);
start();

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopping = true;
    clearTimeout(timer);
    for (const w of watchers) w.close();
    void stopChild().then(() => process.exit(0));
  });
}
