// The replicator's entry point: the one process that keeps the replica in step and tells the
// dispatcher after each commit (coalesced to one message per turn of the event loop). What
// keeps it in step depends on ZERO_ROLE (server/roles.ts): the Replicator, which owns the
// replication slot (on a replication-manager it also writes the change log into Postgres,
// trims it and serves replica snapshots), or on a view-syncer the ChangeFollower. It runs the
// CVR purger, which needs no client group in memory (not on a view-syncer), and creates the
// CVR and group-pin tables before it reports ready, so that the sync workers start on
// existing tables.
import {resolve} from 'node:path';
import {childAdmin} from '../admin/child-admin.ts';
import {PgGroupPins} from '../auth/group-pins.ts';
import {CVRPurger} from '../cvr/cvr-purger.ts';
import {CVRStore} from '../cvr/cvr-store.ts';
import {ReplicatorError} from '../replicator/replicator-error.ts';
import {ListenError} from '../server/listen-error.ts';
import {roleParts} from '../server/roles.ts';
import {cvrPoolFor} from '../server/sync-services.ts';
import {runChild} from './child-runtime.ts';

runChild(
  'replicator',
  ctx => {
    const {start, lc} = ctx;
    const {config} = start;
    const admin = childAdmin(config);
    const role = roleParts(config, lc, resolve(config.replicaFile), admin.metrics);
    const replicator = role.feed;
    admin.attachReplicator(replicator);
    const cvrPool = cvrPoolFor(config, lc);
    const cvrStore = new CVRStore(cvrPool, config.appId, lc, {nodeID: config.taskId});
    const pins = new PgGroupPins(cvrPool, config.appId, lc);
    const purger = role.purgesCVRs
      ? new CVRPurger({
          store: cvrStore,
          pins,
          inactiveMs: config.cvrGarbageCollectionInactivityThresholdHours * 3_600_000,
          initialIntervalMs: config.cvrGarbageCollectionInitialIntervalSeconds * 1000,
          initialBatchSize: config.cvrGarbageCollectionInitialBatchSize,
          logger: lc,
        })
      : undefined;
    let pending: string | undefined;
    replicator.subscribe(version => {
      if (pending === undefined) {
        setImmediate(() => {
          const v = pending!;
          pending = undefined;
          ctx.send({type: 'version', version: v});
        });
      }
      pending = version;
    });
    // The snapshot server's port is bound before anything slow (a replication-manager).
    const running = role.listen().then(() => replicator.run());
    const ready = replicator.ready.then(async () => {
      await cvrStore.init();
      await pins.init();
      purger?.start();
      role.started();
      return replicator.version;
    });
    const done = running.finally(async () => {
      await purger?.stop();
      await role.close();
      await cvrPool.end();
    });
    // A failed start of the CVR tables is a failure of the process (it is restarted).
    const failedInit = ready.then(() => new Promise<never>(() => {}));
    return Promise.resolve({
      ready,
      done: Promise.race([done, failedInit]),
      stop: async () => {
        await purger?.stop();
        await replicator.stop();
      },
      stats: () => ({version: replicator.version}),
      admin: request => admin.answer(request),
    });
  },
  // Restarting cannot fix these: a lost slot, missing permissions, a taken snapshot port.
  e => (e instanceof ReplicatorError || e instanceof ListenError ? e.message : undefined),
);
