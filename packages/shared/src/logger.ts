// The logger interface every library part takes as a parameter. Library code never uses
// `console` directly; the process that hosts it decides where lines go.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** How a process writes its lines: `text` for people, `json` (one object a line) for collectors. */
export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

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

/** The fields every JSON line starts with; a context field of the same name gets a `ctx.` prefix. */
const JSON_FIELDS = new Set(['time', 'level', 'msg', 'component']);

/**
 * Formats a line as one JSON object: `time` (ISO 8601), `level`, `msg`, `component` (the
 * context's, or `zero-cache`), then the context's other fields as they are.
 */
export function formatJsonLogLine(level: LogLevel, msg: string, ctx: LogContext): string {
  const out: Record<string, string | number | boolean | null> = {
    time: new Date().toISOString(),
    level,
    msg,
    component: typeof ctx['component'] === 'string' ? ctx['component'] : 'zero-cache',
  };
  for (const [k, v] of Object.entries(ctx)) {
    if (v === undefined || k === 'component') continue;
    out[JSON_FIELDS.has(k) ? `ctx.${k}` : k] = v;
  }
  return JSON.stringify(out);
}

/** The line formatter of a log format. */
export function logLineFormatter(
  format: LogFormat,
): (level: LogLevel, msg: string, ctx: LogContext) => string {
  return format === 'json' ? formatJsonLogLine : formatLogLine;
}
