// A sync worker's entry point: serves the client groups the dispatcher routes to it, from a
// read-only view of the replica that it advances when the replicator says the replica moved.
// Sockets arrive as IPC handles with the upgrade request's head (see dispatcher.ts).
import {IncomingMessage} from 'node:http';
import {Socket} from 'node:net';
import {resolve} from 'node:path';
import {childAdmin} from '../admin/child-admin.ts';
import {ConfigError} from '../config/config-error.ts';
import {legacyAPI} from '../permissions/legacy-api.ts';
import {loadPermissionsHooks} from '../permissions/permissions-hooks.ts';
import {SchemaFileError} from '../permissions/schema-file-error.ts';
import {SyncServer, type CloseWith} from '../server/sync-server.ts';
import {syncServices} from '../server/sync-services.ts';
import {runChild} from './child-runtime.ts';
import {VersionRelay} from './version-relay.ts';

/**
 * How a draining worker closes its sockets: 1012 (Service Restart). The client reconnects
 * at once (no backoff) on this code, and lands on the worker that owns its group.
 */
export const RESTART_CLOSE: CloseWith = {code: 1012, reason: 'zero-cache is restarting'};

runChild(
  'sync-worker',
  async ({start, lc}) => {
    const {config} = start;
    const perms = await loadPermissionsHooks(config, lc);
    const relay = new VersionRelay();
    const admin = childAdmin(config);
    const services = syncServices(
      config,
      lc,
      {
        permissions: perms.permissions,
        legacy: legacyAPI(config.legacyApi, perms.loaded?.schema),
        prepareQuery: perms.prepareQuery,
        cells: perms.selectPermissions,
      },
      resolve(config.replicaFile),
      relay,
      admin.metrics,
    );
    const server = new SyncServer({...services.options, external: true});
    admin.attachSyncServer(server);
    const running = server.run();
    return {
      ready: server.ready.then(() => undefined),
      done: running.finally(() => services.close()),
      stop: () => server.stop(RESTART_CLOSE),
      stats: () => server.stats(),
      admin: request => admin.answer(request),
      onMessage(msg, handle) {
        if (msg.type === 'version') {
          relay.advanced(msg.version);
        } else if (msg.type === 'upgrade') {
          if (!(handle instanceof Socket)) return;
          const req = new IncomingMessage(handle);
          req.method = msg.method;
          req.url = msg.url;
          req.headers = msg.headers;
          server.handleUpgrade(req, handle, Buffer.from(msg.head, 'base64'), msg.groupID);
        }
      },
    };
  },
  e => {
    if (e instanceof SchemaFileError) return `ZERO_SCHEMA_PATH ${e.message}`;
    if (e instanceof ConfigError) return e.message;
    return undefined;
  },
);
