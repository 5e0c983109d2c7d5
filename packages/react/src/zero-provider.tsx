import type {ZeroOptions} from '@zync/client';
import {Zero} from '@zync/client';
import type {Schema} from '@zync/zql';
import type {ReactNode} from 'react';
import {createContext, useContext, useEffect, useState} from 'react';

const ZeroContext = createContext<unknown>(undefined);

export type ZeroProviderProps<S extends Schema, MD = unknown> = (
  ZeroOptions<S, MD> | {zero: Zero<S, MD>}
) & {children?: ReactNode; init?: (zero: Zero<S, MD>) => void};

/**
 * Provides a Zero instance to its children: either the one passed as `zero`, or one it
 * creates from the options (and closes on unmount). Renders nothing until it exists.
 * Survives StrictMode's mount, unmount, mount: each mount makes its own instance.
 */
export function ZeroProvider<S extends Schema, MD = unknown>(
  props: ZeroProviderProps<S, MD>,
): ReactNode {
  const given = 'zero' in props ? props.zero : undefined;
  const [made, setMade] = useState<Zero<S, MD> | undefined>(undefined);
  const options = 'zero' in props ? undefined : (props as ZeroOptions<S, MD>);
  const {init} = props;
  // Options that identify the instance: a change makes a new one.
  const key = options
    ? JSON.stringify([
        options.server ?? options.cacheURL,
        options.userID ?? null,
        options.storageKey,
      ])
    : undefined;
  const auth = options?.auth;
  // Defined queries and mutators see the context the instance was made with: a new one
  // makes a new instance. An equal context written inline on each render does not.
  const contextKey = sameJSONKey(options?.context);

  useEffect(() => {
    if (!options) return;
    const z = new Zero<S, MD>(options);
    init?.(z);
    setMade(z);
    return () => {
      setMade(undefined);
      void z.close();
    };
    // The instance depends on its identity (key), the schema, the kvStore and the context.
  }, [key, options?.schema, options?.kvStore, contextKey]);

  useEffect(() => {
    // A new token for the same user goes onto the live connection.
    if (made && typeof auth === 'string') void made.connection.connect({auth});
  }, [made, auth]);

  const zero = given ?? made;
  if (!zero) return null;
  return <ZeroContext.Provider value={zero}>{props.children}</ZeroContext.Provider>;
}

export function useZero<S extends Schema = Schema, MD = unknown>(): Zero<S, MD> {
  const z = useContext(ZeroContext);
  if (!z) {
    throw new Error('useZero must be used within a ZeroProvider');
  }
  return z as Zero<S, MD>;
}

/** A `useZero` typed for one schema and mutators, as in Zero. */
export function createUseZero<S extends Schema, MD = unknown>(): () => Zero<S, MD> {
  return () => useZero<S, MD>();
}

function sameJSONKey(v: unknown): unknown {
  try {
    const json = JSON.stringify(v);
    return json === undefined ? v : `json:${json}`;
  } catch {
    return v;
  }
}
