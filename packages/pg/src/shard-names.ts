// The names an app's data has upstream, all derived from its app id: the internal schema
// `zync_<appID>` (the `clients` table, the replicator's bookkeeping), the CVR schema, the
// publication and the replication slot.
import {PgLayerError} from './errors.ts';

const APP_ID = /^[a-z0-9_]+$/;

/** Whether `appID` can name things upstream: lowercase letters, digits and underscores. */
export function isValidAppID(appID: string): boolean {
  return APP_ID.test(appID);
}

export interface ShardNames {
  /** `zync_<appID>`: the app's internal schema upstream. */
  readonly schema: string;
  /** `zync_<appID>_cvr`: client view records (and group pins). */
  readonly cvrSchema: string;
  /** `zync_<appID>_pub` */
  readonly publication: string;
  /** `zync_<appID>_slot` */
  readonly slot: string;
}

/** The app's names; a PgLayerError of kind 'invalid-app-id' for an id that cannot be one. */
export function shardNames(appID: string): ShardNames {
  if (!isValidAppID(appID)) {
    throw new PgLayerError(
      'invalid-app-id',
      'App id must consist of lowercase letters, digits and underscores (/^[a-z0-9_]+$/)',
    );
  }
  const schema = `zync_${appID}`;
  return {
    schema,
    cvrSchema: `${schema}_cvr`,
    publication: `${schema}_pub`,
    slot: `${schema}_slot`,
  };
}
