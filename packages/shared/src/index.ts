export {assert, unreachable} from './assert.ts';
export {hashOf, hashString, stableStringify} from './hash.ts';
export type {JSONObject, JSONValue, ReadonlyJSONObject, ReadonlyJSONValue} from './json.ts';
export {createLogger, formatLogLine, LOG_LEVELS, silentLogger} from './logger.ts';
export type {LogContext, Logger, LogLevel, LogSink} from './logger.ts';
export {quoteIdent} from './sql-ident.ts';
