// The rules of ZERO_ROLE that need no service (docs/scale-out.md): which processes a node
// runs, and how a node that serves no sync clients answers a WebSocket upgrade. Kept apart
// from roles.ts, which builds the services, so that the HTTP front doors import only this.
import type {ZeroConfig} from '../config/parse-config.ts';
import {numSyncWorkers} from '../processes/routing.ts';

/**
 * The text of the HTTP 421 a replication-manager answers WebSocket upgrades with (it serves no
 * sync clients); undefined in the roles that serve them.
 */
export function refusedUpgrades(config: Pick<ZeroConfig, 'role'>): string | undefined {
  return config.role === 'replication-manager'
    ? 'this zero-cache node is a replication-manager and serves no sync clients; ' +
        'connect through the load balancer to a view-syncer'
    : undefined;
}

export const MISDIRECTED = 'HTTP/1.1 421 Misdirected Request';

/** The raw HTTP answer to an upgrade that this node refuses (see `refusedUpgrades`). */
export function refusalResponse(text: string): string {
  const body = `${text}\n`;
  return (
    `${MISDIRECTED}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * How many sync workers this node runs, and whether in processes of their own: a
 * replication-manager runs none (one process unless ZERO_NUM_SYNC_WORKERS is 2 or more,
 * which puts its replicator in a process of its own under a dispatcher).
 */
export function processLayout(config: Pick<ZeroConfig, 'role' | 'numSyncWorkers'>): {
  readonly multiProcess: boolean;
  readonly syncWorkers: number;
} {
  if (config.role === 'replication-manager') {
    return {multiProcess: (config.numSyncWorkers ?? 1) > 1, syncWorkers: 0};
  }
  const n = numSyncWorkers(config.numSyncWorkers);
  return {multiProcess: n > 1, syncWorkers: n};
}
