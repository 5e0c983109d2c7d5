// The logger interface every library part takes as a parameter. Library code never uses
// `console` directly; the process that hosts it decides where lines go.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export type LogContext = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  debug(msg: string, ctx?: LogContext): void;
  info(msg: string, ctx?: LogContext): void;
  warn(msg: string, ctx?: LogContext): void;
  error(msg: string, ctx?: LogContext): void;
  /** A logger that adds `ctx` to every line. */
  with(ctx: LogContext): Logger;
}

export type LogSink = (level: LogLevel, msg: string, ctx: LogContext) => void;

/**
 * Builds a logger that drops lines below `level` and hands the rest to `sink`.
 * Callers must never pass tokens, secrets, cookies or row contents in `msg` or `ctx`.
 */
export function createLogger(level: LogLevel, sink: LogSink, base: LogContext = {}): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (l: LogLevel, msg: string, ctx?: LogContext) => {
    if (LOG_LEVELS.indexOf(l) >= min) {
      sink(l, msg, ctx ? {...base, ...ctx} : base);
    }
  };
  return {
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
    with: ctx => createLogger(level, sink, {...base, ...ctx}),
  };
}

/** A logger that discards everything (for tests and quiet embedding). */
export const silentLogger: Logger = createLogger('error', () => {}, {});
silentLogger.error = () => {};

/** Formats a line as `time level msg key=value ...`. */
export function formatLogLine(level: LogLevel, msg: string, ctx: LogContext): string {
  const parts = [new Date().toISOString(), level.toUpperCase().padEnd(5), msg];
  for (const [k, v] of Object.entries(ctx)) {
    if (v !== undefined) {
      parts.push(`${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`);
    }
  }
  return parts.join(' ');
}
