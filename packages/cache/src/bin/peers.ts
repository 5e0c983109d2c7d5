// zero-cache needs packages that the client side of zync does not, and which are therefore
// optional peer dependencies of the published package. Checked before anything imports them,
// so a missing one is one clear line instead of a module-resolution stack trace.
import {createRequire} from 'node:module';

const SERVER_PEERS = {'better-sqlite3': '^12'} as const;

/** The install command for the server peers that cannot be resolved, or undefined. */
export function missingPeersHint(from: string = import.meta.url): string | undefined {
  const require = createRequire(from);
  const missing = Object.entries(SERVER_PEERS).filter(([name]) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  const names = missing.map(([n]) => n).join(', ');
  const install = missing.map(([n, v]) => `${n}@${v}`).join(' ');
  return `zero-cache needs ${names}, which is not installed: run \`npm install ${install}\``;
}
