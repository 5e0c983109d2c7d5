export {composePreparers} from './compose-preparers.ts';
export {DEFAULT_GET_QUERIES_RETRY, GetQueriesClient} from './get-queries-client.ts';
export type {
  GetQueriesClientOptions,
  TransformCredentials,
  TransformItem,
} from './get-queries-client.ts';
export {readGetQueriesResponse} from './get-queries-response.ts';
export type {Transformed} from './get-queries-response.ts';
export {
  SyncedQueryPreparer,
  syncedQueryConfig,
  syncedQueryPreparer,
} from './synced-query-preparer.ts';
export type {SyncedQueryPreparerOptions} from './synced-query-preparer.ts';
