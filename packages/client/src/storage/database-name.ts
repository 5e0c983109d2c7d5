// The local database name for one (userID, storageKey, server, schema version).
import {hashString} from '@zync/shared';

export type DatabaseNameParts = {
  userID: string;
  storageKey?: string | undefined;
  /** The zero-cache URL, or null for a local-only client. */
  server: string | null;
  schemaVersion?: string | number | undefined;
};

/** The prefix of every database name; the registry's name starts with it too. */
export const DATABASE_PREFIX = 'zync/';

/**
 * `zync/<userID>/<storageKey>/<hash>`: userID and storageKey URI-encoded (storageKey empty
 * when not given), hash a short hash of the server URL and the schema version, so that a
 * different server or schema never opens another's data.
 */
export function databaseName(parts: DatabaseNameParts): string {
  if (typeof parts.userID !== 'string' || parts.userID === '') {
    throw new TypeError('databaseName: userID must be a non-empty string');
  }
  const server = parts.server === null ? '' : parts.server.replace(/\/+$/, '');
  const hash = hashString(JSON.stringify([server, String(parts.schemaVersion ?? '')])).slice(0, 12);
  return `${DATABASE_PREFIX}${encodeURIComponent(parts.userID)}/${encodeURIComponent(
    parts.storageKey ?? '',
  )}/${hash}`;
}
