// Turns a failure to bind zero-cache's port into one line that names the port and the
// setting to change, instead of a raw socket error.
import type {ZeroConfig} from '../config/parse-config.ts';

/** zero-cache could not listen on ZERO_HOST:ZERO_PORT. The message says what to change. */
export class ListenError extends Error {
  /** The system error code (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...), if there was one. */
  readonly code: string | undefined;
  readonly port: number;
  constructor(message: string, port: number, code: string | undefined) {
    super(message);
    this.name = 'ListenError';
    this.port = port;
    this.code = code;
  }
}

function errorCode(e: unknown): string | undefined {
  const code = (e as {code?: unknown} | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `portVar`: the setting that names the port (ZERO_PORT, or the snapshot server's). */
export function listenError(
  e: unknown,
  config: Pick<ZeroConfig, 'host' | 'port'>,
  portVar = 'ZERO_PORT',
): ListenError {
  const code = errorCode(e);
  const where = `port ${config.port} on ${config.host}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ListenError(
        `cannot listen on ${where}: the port is already in use by another process; ` +
          `set ${portVar} to a free port or stop the other process`,
        config.port,
        code,
      );
    case 'EACCES':
      return new ListenError(
        `cannot listen on ${where}: permission denied (ports below 1024 need privileges); ` +
          `set ${portVar} to a port of 1024 or more`,
        config.port,
        code,
      );
    case 'EADDRNOTAVAIL':
      return new ListenError(
        `cannot listen on ${where}: ${config.host} is not an address of this machine; ` +
          'set ZERO_HOST to one of its addresses (0.0.0.0 for all)',
        config.port,
        code,
      );
    default:
      return new ListenError(
        `cannot listen on ${where}: ${e instanceof Error ? e.message : String(e)}; ` +
          `check ZERO_HOST and ${portVar}`,
        config.port,
        code,
      );
  }
}
