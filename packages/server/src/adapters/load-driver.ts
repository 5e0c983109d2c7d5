// The database drivers are optional peer dependencies: an app installs the one it uses. An
// adapter needs its driver's code only to open a connection from a connection string, so it
// is loaded then, and a missing driver is a clear error rather than a failed import of
// every server helper.
import {createRequire} from 'node:module';
import {ServerError} from '../errors.ts';

const require = createRequire(import.meta.url);

export function loadDriver<T>(name: 'pg' | 'postgres', adapter: string): T {
  try {
    return require(name) as T;
  } catch (e) {
    if ((e as {code?: string}).code !== 'MODULE_NOT_FOUND') throw e;
    throw new ServerError(
      'database',
      `${adapter} was given a connection string, which needs the \`${name}\` package: run \`npm install ${name}\``,
      {cause: e},
    );
  }
}
