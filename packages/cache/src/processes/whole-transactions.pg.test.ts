// Property: sync workers read the replica only at committed versions. Random upstream
// transactions each move money between several accounts (the total never changes) and
// stamp every row they touch; a client on each worker applies every poke it gets, and after
// each poke the total is intact and the stamped rows agree: no poke shows half a transaction.
import fc from 'fast-check';
import pg from 'pg';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {SYNC_PATH, type PokeBody} from '@zync/protocol';
import {createTestDatabase} from '../../../../test/pg.ts';
import {startProcesses, type StartedProcesses} from '../../../../test/e2e/processes.ts';
import {TestClient} from '../../test/sync/test-client.ts';
import {workerIndexFor} from './routing.ts';

const ACCOUNTS = 8;
const TOTAL = ACCOUNTS * 100;

let db: pg.Client;
let zc: StartedProcesses;

beforeAll(async () => {
  const url = await createTestDatabase('procs_whole_tx');
  db = new pg.Client({connectionString: url});
  await db.connect();
  await db.query(`CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL, tx INT NOT NULL);
    INSERT INTO acct SELECT g, 100, 0 FROM generate_series(1, ${ACCOUNTS}) g;`);
  zc = await startProcesses(url, {workers: 2});
});

afterAll(async () => {
  await zc?.stop();
  await db?.end();
});

type Acct = {id: number; bal: number; tx: number};

/** A client that keeps the rows its pokes describe and checks them after each poke. */
class Watcher {
  readonly rows = new Map<number, Acct>();
  readonly problems: string[] = [];
  pokes = 0;
  constructor(
    readonly client: TestClient,
    /** The rows each transaction touched, by transaction number. */
    readonly touched: Map<number, readonly number[]>,
  ) {}

  apply(poke: PokeBody): void {
    this.pokes++;
    for (const r of poke.rows) {
      if (r.op === 'clear') this.rows.clear();
      else if (r.op === 'put' && r.table === 'acct') {
        const v = r.value as Acct;
        this.rows.set(v.id, v);
      } else if (r.op === 'del' && r.table === 'acct') {
        this.rows.delete((r.id as {id: number}).id);
      } else this.problems.push(`unexpected row op ${r.op}`);
    }
    if (this.rows.size === 0) return;
    let sum = 0;
    for (const a of this.rows.values()) sum += a.bal;
    if (sum !== TOTAL) this.problems.push(`total ${sum} after poke ${poke.pokeID}`);
    // Every row a transaction touched carries that transaction's stamp, or a later one.
    const newest = Math.max(...[...this.rows.values()].map(a => a.tx));
    for (const id of this.touched.get(newest) ?? []) {
      if (this.rows.get(id)!.tx < newest) this.problems.push(`row ${id} behind tx ${newest}`);
    }
  }

  /** Applies pokes until the client shows `tx` as the newest stamp. */
  async until(tx: number): Promise<void> {
    while (![...this.rows.values()].some(a => a.tx === tx)) this.apply(await this.client.poke());
  }
}

async function watcherOn(worker: number, touched: Map<number, readonly number[]>, n: number) {
  let i = 0;
  while (workerIndexFor(`whole-${n}-${i}`, 2) !== worker) i++;
  const group = `whole-${n}-${i}`;
  const c = await TestClient.open(zc.port, `${SYNC_PATH}?clientGroupID=${group}`);
  c.connect({
    clientID: `${group}-c`,
    clientGroupID: group,
    desiredQueries: [{op: 'put', hash: 'all', ast: {kind: 'query', table: 'acct'}}],
  });
  await c.next('connected');
  const w = new Watcher(c, touched);
  w.apply(await c.poke(10_000));
  return w;
}

const transfer = fc.record({
  from: fc.integer({min: 1, max: ACCOUNTS}),
  to: fc.integer({min: 1, max: ACCOUNTS}),
  amount: fc.integer({min: 1, max: 30}),
});
const transaction = fc.array(transfer, {minLength: 2, maxLength: 6});

let run = 0;
test('every poke a client sees on either worker is a whole number of transactions', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(transaction, {minLength: 3, maxLength: 15}), async txs => {
      const touched = new Map<number, readonly number[]>();
      const {rows} = await db.query<{m: number}>(`SELECT max(tx) AS m FROM acct`);
      let tx = rows[0]!.m;
      const watchers = [await watcherOn(0, touched, run), await watcherOn(1, touched, run)];
      run++;
      for (const moves of txs) {
        tx++;
        const ids = [...new Set(moves.flatMap(m => [m.from, m.to]))];
        touched.set(tx, ids);
        await db.query('BEGIN');
        for (const m of moves) {
          await db.query(`UPDATE acct SET bal = bal - $2, tx = $3 WHERE id = $1`, [
            m.from,
            m.amount,
            tx,
          ]);
          await db.query(`UPDATE acct SET bal = bal + $2, tx = $3 WHERE id = $1`, [
            m.to,
            m.amount,
            tx,
          ]);
        }
        await db.query('COMMIT');
      }
      for (const w of watchers) {
        await w.until(tx);
        await w.client.close();
        expect(w.problems).toEqual([]);
      }
      const upstream = await db.query<Acct>(`SELECT id, bal, tx FROM acct ORDER BY id`);
      for (const w of watchers) {
        expect([...w.rows.values()].sort((a, b) => a.id - b.id)).toEqual(upstream.rows);
      }
    }),
    {numRuns: 6, endOnFailure: true},
  );
});
