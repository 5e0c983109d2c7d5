export {assert, unreachable} from './assert.ts';
export {hashOf, hashString, stableStringify} from './hash.ts';
export type {JSONObject, JSONValue, ReadonlyJSONObject, ReadonlyJSONValue} from './json.ts';
export {
  createLogger,
  formatJsonLogLine,
  formatLogLine,
  LOG_FORMATS,
  LOG_LEVELS,
  logLineFormatter,
  silentLogger,
} from './logger.ts';
export type {LogContext, LogFormat, Logger, LogLevel, LogSink} from './logger.ts';
export {quoteIdent} from './sql-ident.ts';
