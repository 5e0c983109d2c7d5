// The replicator's entry point: the one process that owns the replication slot and writes
// the replica and its change log. It tells the dispatcher after each commit (coalesced to
// one message per turn of the event loop), and runs the CVR purger, which needs no client
// group in memory. It also creates the CVR and group-pin tables before it reports ready, so
// that the sync workers start on existing tables.
import {resolve} from 'node:path';
import {childAdmin} from '../admin/child-admin.ts';
import {PgGroupPins} from '../auth/group-pins.ts';
import {CVRPurger} from '../cvr/cvr-purger.ts';
import {CVRStore} from '../cvr/cvr-store.ts';
import {ReplicatorError} from '../replicator/replicator-error.ts';
import {Replicator} from '../replicator/replicator.ts';
import {cvrPoolFor} from '../server/sync-services.ts';
import {runChild} from './child-runtime.ts';

runChild(
  'replicator',
  ctx => {
    const {start, lc} = ctx;
    const {config} = start;
    const admin = childAdmin(config);
    const replicator = new Replicator({
      upstreamUrl: config.upstreamDb,
      replicaFile: resolve(config.replicaFile),
      appId: config.appId,
      lc,
      metrics: admin.metrics,
    });
    admin.attachReplicator(replicator);
    const cvrPool = cvrPoolFor(config, lc);
    const cvrStore = new CVRStore(cvrPool, config.appId, lc);
    const pins = new PgGroupPins(cvrPool, config.appId, lc);
    const purger = new CVRPurger({
      store: cvrStore,
      pins,
      inactiveMs: config.cvrGarbageCollectionInactivityThresholdHours * 3_600_000,
      initialIntervalMs: config.cvrGarbageCollectionInitialIntervalSeconds * 1000,
      initialBatchSize: config.cvrGarbageCollectionInitialBatchSize,
      logger: lc,
    });
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
    const running = replicator.run();
    const ready = replicator.ready.then(async () => {
      await cvrStore.init();
      await pins.init();
      purger.start();
      return replicator.version;
    });
    const done = running.finally(async () => {
      await purger.stop();
      await cvrPool.end();
    });
    // A failed start of the CVR tables is a failure of the process (it is restarted).
    const failedInit = ready.then(() => new Promise<never>(() => {}));
    return Promise.resolve({
      ready,
      done: Promise.race([done, failedInit]),
      stop: async () => {
        await purger.stop();
        await replicator.stop();
      },
      stats: () => ({version: replicator.version}),
      admin: request => admin.answer(request),
    });
  },
  e => (e instanceof ReplicatorError ? e.message : undefined),
);
