import type {ESLint} from 'eslint';

/** The `layering` plugin: its one rule, `package-boundary`. */
export declare const layeringPlugin: ESLint.Plugin;
