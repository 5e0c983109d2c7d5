import {useSyncExternalStore} from 'react';
import {useZero} from './zero-provider.tsx';

/** Whether the client is connected to zero-cache; re-renders on change. */
export function useZeroOnline(): boolean {
  const z = useZero();
  return useSyncExternalStore(
    fn => z.onOnline(fn),
    () => z.online,
    () => false,
  );
}
