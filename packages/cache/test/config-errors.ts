// The ConfigError a configuration is refused with, for the config tests.
import {ConfigError} from '../src/config/config-error.ts';
import {parseConfig} from '../src/config/parse-config.ts';

/** The ConfigError `f` throws; fails if it throws something else or nothing. */
export function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** The ConfigError `parseConfig(env)` throws. */
export function parseErrorOf(env: Record<string, string>): ConfigError {
  return errorOf(() => parseConfig(env));
}
