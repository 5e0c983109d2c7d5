export {ConfigError} from './config-error.ts';
export type {ConfigErrorKind} from './config-error.ts';
export {CONFIG_VARS} from './config-table.ts';
export type {ConfigType, ConfigVar} from './config-table.ts';
export {configHelp, parseConfig} from './parse-config.ts';
export type {ZeroConfig} from './parse-config.ts';
