// A sync server over a MemoryReplica of issues, with either query driver, for the view
// syncer's tests (each runs them with the recompute driver and with the engine's).
import type {RowValue} from '@zync/protocol';
import type {Logger} from '@zync/shared';
import type {ManualClock} from '../../../../test/manual-clock.ts';
import {createTestDatabase} from '../../../../test/pg.ts';
import {engineQueryDriverFactory} from '../../src/view-syncer/engine-query-driver.ts';
import type {QueryDriverFactory} from '../../src/view-syncer/query-driver.ts';
import {startTestServer, type TestServer} from './harness.ts';
import {MemoryReplica} from './memory-replica.ts';
import {MemorySnapshot} from './memory-snapshot.ts';
import {issues} from './poke-summary.ts';

export type DriverKind = 'recompute' | 'engine';
export const DRIVER_KINDS: readonly DriverKind[] = ['recompute', 'engine'];

/** The engine driver over the replica; undefined picks the harness's recompute driver. */
export function driverFor(
  kind: DriverKind,
  replica: MemoryReplica,
): QueryDriverFactory | undefined {
  return kind === 'engine'
    ? engineQueryDriverFactory((_id, batcher) => new MemorySnapshot(replica, batcher))
    : undefined;
}

export type ViewSyncerLimits = Parameters<typeof startTestServer>[0]['limits'];
export type ViewSyncerOptions = {rows?: RowValue[]; logger?: Logger; clock?: ManualClock};

export async function startViewSyncer(
  kind: DriverKind,
  limits: ViewSyncerLimits = {},
  {rows = issues(), logger, clock}: ViewSyncerOptions = {},
): Promise<{replica: MemoryReplica; port: number; server: TestServer}> {
  const replica = new MemoryReplica({issue: {primaryKey: ['id'], rows}});
  const createDriver = driverFor(kind, replica);
  const server = await startTestServer({
    dbUrl: await createTestDatabase('view_syncer'),
    replica,
    limits,
    ...(logger ? {logger} : {}),
    ...(createDriver ? {createDriver} : {}),
    ...(clock ? {extra: {clock}} : {}),
  });
  return {replica, port: server.port, server};
}
