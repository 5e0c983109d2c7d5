/**
 * The wire protocol version. Bump it whenever a frame schema changes; the schema-hash test
 * in `protocol-version.test.ts` fails until you do.
 */
export const PROTOCOL_VERSION = 4;

/** The WebSocket path a client connects to. The token never appears in it. */
export const SYNC_PATH = `/sync/v${PROTOCOL_VERSION}/connect`;
