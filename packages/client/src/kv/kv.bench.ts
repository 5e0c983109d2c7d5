// Store micro-benchmarks: 10k-row batch write, read back (get per key and scan), and
// dropAllDatabases over 10 databases. fake-indexeddb says nothing about real IndexedDB
// speed, so only memory and SQLite are measured here. Run: npm run bench -- kv
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {dropAllDatabases, resolveStoreProvider} from '../storage/index.ts';
import {MemDatabases, memStoreProvider} from './mem-store.ts';
import {sqliteStoreProvider} from './sqlite-store.ts';
import type {StoreProvider} from './store.ts';
import {canScan} from './store.ts';

const ROWS = 10_000;
const DBS = 10;

function row(i: number) {
  return {id: `issue-${i}`, title: `Issue number ${i}`, open: i % 3 !== 0, n: i, tags: ['a', 'b']};
}

async function time(label: string, f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms`);
  return ms;
}

async function bench(label: string, makeProvider: () => StoreProvider): Promise<void> {
  const provider = makeProvider();
  const store = provider.create('zync/bench//1');
  await time(`${label}: write ${ROWS} rows, one commit`, async () => {
    const w = await store.write();
    for (let i = 0; i < ROWS; i++) await w.put(`e/${String(i).padStart(6, '0')}`, row(i));
    await w.commit();
  });
  await time(`${label}: read ${ROWS} rows with get()`, async () => {
    const r = await store.read();
    for (let i = 0; i < ROWS; i++) await r.get(`e/${String(i).padStart(6, '0')}`);
    r.release();
  });
  await time(`${label}: read ${ROWS} rows with scan()`, async () => {
    const r = await store.read();
    let n = 0;
    if (canScan(r)) for await (const _ of r.scan('e/')) n++;
    r.release();
    if (n !== ROWS) throw new Error(`scan saw ${n} rows`);
  });
  await time(`${label}: overwrite ${ROWS} rows while a read is open`, async () => {
    const r = await store.read();
    const w = await store.write();
    for (let i = 0; i < ROWS; i++) await w.put(`e/${String(i).padStart(6, '0')}`, i);
    await w.commit();
    r.release();
  });
  await store.close();
  await provider.drop('zync/bench//1');

  const p = resolveStoreProvider(makeProvider());
  for (let d = 0; d < DBS; d++) {
    const s = p.create(`zync/user${d}//1`);
    const w = await s.write();
    for (let i = 0; i < 100; i++) await w.put(`e/${i}`, row(i));
    await w.commit();
    if (d % 2 === 0) await s.close(); // half stay open: the drop must close them
  }
  await time(`${label}: dropAllDatabases, ${DBS} databases`, async () => {
    const {dropped, errors} = await dropAllDatabases({kvStore: p});
    if (dropped.length !== DBS || errors.length) throw new Error('drop failed');
  });
}

const dir = mkdtempSync(join(tmpdir(), 'zync-kv-bench-'));
try {
  const mem = new MemDatabases();
  await bench('mem', () => memStoreProvider({databases: mem}));
  await bench('sqlite (DELETE journal, default)', () =>
    sqliteStoreProvider({directory: join(dir, 'delete')}),
  );
  await bench('sqlite WAL', () =>
    sqliteStoreProvider({directory: join(dir, 'wal'), journalMode: 'WAL'}),
  );
} finally {
  rmSync(dir, {recursive: true, force: true});
}
