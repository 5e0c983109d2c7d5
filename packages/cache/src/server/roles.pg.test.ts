// What each ZERO_ROLE runs in the replicator's place (roles.ts), against a real Postgres: the
// manager waits for an unreachable change database and stops cleanly while waiting; its
// change log exists before replication starts; a view-syncer runs the change follower and no
// CVR purger.
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import pg from 'pg';
import {createLogger, type LogContext} from '@zync/shared';
import {expect, test, vi} from 'vitest';
import {createTestDatabase} from '../../../../test/pg.ts';
import {freePort} from '../../../../test/free-port.ts';
import {ChangeFollower} from '../change-db/change-follower.ts';
import {parseConfig} from '../config/parse-config.ts';
import {noMetrics} from '../metrics/metrics.ts';
import {Replicator} from '../replicator/replicator.ts';
import {roleParts} from './roles.ts';

let apps = 0;

function setup(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'zync-roles-'));
  const lines: {msg: string; ctx: LogContext}[] = [];
  const lc = createLogger('info', (_l, msg, ctx) => lines.push({msg, ctx}));
  const config = parseConfig({
    ZERO_APP_ID: `roles_${process.pid}_${apps++}`,
    ZERO_ADMIN_PASSWORD: 'secret',
    ZERO_HOST: '127.0.0.1',
    ...env,
  });
  return {config, lc, lines, replicaFile: join(dir, 'replica.db')};
}

test('all runs the Replicator and the purger; view-syncer the change follower and no purger', () => {
  const upstream = 'postgres://u@127.0.0.1:1/none';
  const all = setup({ZERO_UPSTREAM_DB: upstream});
  const a = roleParts(all.config, all.lc, all.replicaFile, noMetrics);
  expect(a.feed).toBeInstanceOf(Replicator);
  expect(a.purgesCVRs).toBe(true);
  const vs = setup({
    ZERO_UPSTREAM_DB: upstream,
    ZERO_ROLE: 'view-syncer',
    ZERO_CHANGE_STREAMER_URI: 'http://127.0.0.1:1',
  });
  const v = roleParts(vs.config, vs.lc, vs.replicaFile, noMetrics);
  expect(v.feed).toBeInstanceOf(ChangeFollower);
  expect(v.purgesCVRs).toBe(false);
});

test('a manager waits for an unreachable change database, then stops cleanly while waiting', async () => {
  const upstream = await createTestDatabase('roles_wait');
  const nobody = await freePort();
  const m = setup({
    ZERO_UPSTREAM_DB: upstream,
    ZERO_ROLE: 'replication-manager',
    ZERO_CHANGE_DB: `postgres://zync:hunter2@127.0.0.1:${nobody}/changes`,
    ZERO_CHANGE_STREAMER_PORT: String(await freePort()),
  });
  const parts = roleParts(m.config, m.lc, m.replicaFile, noMetrics);
  const running = parts.feed.run();
  await vi.waitFor(() =>
    expect(
      m.lines.filter(l => l.msg.startsWith('Creating the change log tables failed')),
    ).toHaveLength(2),
  );
  const warn = m.lines.find(l => l.msg.startsWith('Creating the change log tables failed'))!;
  expect(JSON.stringify(warn)).not.toContain('hunter2');
  await parts.feed.stop();
  await running;
  await parts.close();
});

test('a manager creates its change log before it replicates, and serves snapshots on its port', async () => {
  const upstream = await createTestDatabase('roles_manager');
  const port = await freePort();
  const m = setup({
    ZERO_UPSTREAM_DB: upstream,
    ZERO_ROLE: 'replication-manager',
    ZERO_CHANGE_STREAMER_PORT: String(port),
  });
  const parts = roleParts(m.config, m.lc, m.replicaFile, noMetrics);
  await parts.listen();
  const running = parts.feed.run();
  await parts.feed.ready;
  parts.started();
  const db = new pg.Client({connectionString: upstream});
  await db.connect();
  try {
    const schema = `zync_${m.config.appId}_cdc`;
    const {rows} = await db.query<{n: string}>(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1`,
      [schema],
    );
    expect(Number(rows[0]!.n)).toBe(3);
    const res = await fetch(`http://127.0.0.1:${port}/replica-snapshot`, {
      headers: {authorization: 'Bearer secret'},
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-zync-replica-version')).toBe(parts.feed.version);
    await res.arrayBuffer();
  } finally {
    await db.end();
    await parts.feed.stop();
    await running;
    await parts.close();
  }
});
