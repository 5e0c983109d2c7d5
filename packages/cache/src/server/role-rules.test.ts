// The process layout of each ZERO_ROLE, and the answer a replication-manager gives upgrades.
import {availableParallelism} from 'node:os';
import {expect, test} from 'vitest';
import {MISDIRECTED, processLayout, refusalResponse, refusedUpgrades} from './role-rules.ts';

test('a replication-manager runs no sync workers; the other roles run ZERO_NUM_SYNC_WORKERS', () => {
  const m = 'replication-manager' as const;
  expect(processLayout({role: m, numSyncWorkers: undefined})).toEqual({
    multiProcess: false,
    syncWorkers: 0,
  });
  expect(processLayout({role: m, numSyncWorkers: 1})).toEqual({
    multiProcess: false,
    syncWorkers: 0,
  });
  expect(processLayout({role: m, numSyncWorkers: 3})).toEqual({
    multiProcess: true,
    syncWorkers: 0,
  });
  for (const role of ['all', 'view-syncer'] as const) {
    expect(processLayout({role, numSyncWorkers: 1})).toEqual({
      multiProcess: false,
      syncWorkers: 1,
    });
    expect(processLayout({role, numSyncWorkers: 4})).toEqual({
      multiProcess: true,
      syncWorkers: 4,
    });
    const cores = Math.max(1, availableParallelism() - 1);
    expect(processLayout({role, numSyncWorkers: undefined}).syncWorkers).toBe(cores);
  }
});

test('only a replication-manager refuses upgrades, with a 421 whose body says where to go', () => {
  expect(refusedUpgrades({role: 'all'})).toBeUndefined();
  expect(refusedUpgrades({role: 'view-syncer'})).toBeUndefined();
  const text = refusedUpgrades({role: 'replication-manager'})!;
  const raw = refusalResponse(text);
  const [head, body] = raw.split('\r\n\r\n');
  expect(head!.split('\r\n')[0]).toBe(MISDIRECTED);
  expect(head).toContain('Connection: close');
  expect(head).toContain(`Content-Length: ${Buffer.byteLength(body!)}`);
  expect(body).toBe(
    'this zero-cache node is a replication-manager and serves no sync clients; connect through the load balancer to a view-syncer\n',
  );
});
