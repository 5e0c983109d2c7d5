// Names of the change log's schema, tables and notification channel in the change database.
import {quoteIdent} from '@zync/shared';
import {shardNames} from '@zync/pg';

export interface ChangeDbNames {
  /** The schema, quoted for SQL. */
  readonly schema: string;
  /** The NOTIFY channel, quoted for SQL (LISTEN). */
  readonly channel: string;
  /** The NOTIFY channel as `pg_notify` takes it (unquoted). */
  readonly channelName: string;
}

/** Throws (naming the fix) for an app id that is not /^[a-z0-9_]+$/. */
export function changeDbNames(appId: string): ChangeDbNames {
  const base = shardNames(appId).schema;
  return {
    schema: quoteIdent(`${base}_cdc`),
    channel: quoteIdent(`${base}_changes`),
    channelName: `${base}_changes`,
  };
}
