export {createUseZero, useZero, ZeroProvider} from './zero-provider.tsx';
export type {ZeroProviderProps} from './zero-provider.tsx';
export {useQuery} from './use-query.ts';
export type {QueryResultDetails, UseQueryOptions} from './use-query.ts';
export {useZeroOnline} from './use-zero-online.ts';
