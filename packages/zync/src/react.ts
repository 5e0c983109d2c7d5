export {createUseZero, useQuery, useZero, useZeroOnline, ZeroProvider} from '@zync/react';
export type {QueryResultDetails, UseQueryOptions, ZeroProviderProps} from '@zync/react';
