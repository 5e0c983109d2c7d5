import type {ZeroOptions} from '@zync/client';
import {replaceContext, Zero} from '@zync/client';
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
 * Survives StrictMode's mount, unmount, mount: each mount makes its own instance. A new
 * `server`/`cacheURL`, `userID`, `storageKey`, schema or kvStore makes a new instance (the
 * old one is closed); a new `auth` or `context` goes to the live one.
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

  useEffect(() => {
    if (!options) return;
    const z = new Zero<S, MD>(options);
    init?.(z);
    setMade(z);
    return () => {
      setMade(undefined);
      void z.close();
    };
    // The instance depends on its identity (key), the schema and the kvStore. Not on the
    // context: a new one is handed to the live instance below.
  }, [key, options?.schema, options?.kvStore]);

  // A changed context does not make a new instance (its data and connection stay): defined
  // queries and mutators called from this render on get the new one. Set while rendering so
  // the children rendered with it already bind their queries to it.
  if (made && options && made.context !== options.context) {
    replaceContext(made, options.context);
  }

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
