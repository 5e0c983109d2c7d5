// zero-cache's entry point: the only place that reads process.env.
import {createLogger, logLineFormatter, type LogFormat} from '@zync/shared';
import {ConfigError} from './config/config-error.ts';
import {configHelp, parseConfig} from './config/parse-config.ts';
import {ListenError} from './server/listen-error.ts';
import {runZeroCache} from './server/run-zero-cache.ts';
import {ProcessFailure, runZeroCacheProcesses} from './processes/dispatcher.ts';
import {processLayout} from './server/role-rules.ts';
import {legacyAPI} from './permissions/legacy-api.ts';
import {permissionsPolicy} from './permissions/permissions-policy.ts';
import {loadPermissionsHooks} from './permissions/permissions-hooks.ts';
import {SchemaFileError} from './permissions/schema-file-error.ts';

function write(line: string): void {
  process.stderr.write(`${line}\n`);
}

// Known once the config is parsed; a config error is printed in the format asked for, if valid.
let format: LogFormat = process.env['ZERO_LOG_FORMAT'] === 'json' ? 'json' : 'text';

/** A line that stops start-up: `zero-cache: <message>` (text) or an error object (json). */
function fatal(message: string): void {
  write(
    format === 'json'
      ? logLineFormatter('json')('error', `zero-cache: ${message}`, {})
      : `zero-cache: ${message}`,
  );
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${configHelp()}\n`);
    return 0;
  }
  let config;
  try {
    config = parseConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      fatal(e.message);
      return 2;
    }
    throw e;
  }
  format = config.logFormat;
  const formatLine = logLineFormatter(format);
  const lc = createLogger(config.logLevel, (level, msg, ctx) => write(formatLine(level, msg, ctx)));
  let perms;
  let policy;
  let legacy;
  try {
    perms = await loadPermissionsHooks(config, lc);
    legacy = legacyAPI(config.legacyApi, perms.loaded?.schema);
    if (!legacy.queries || !legacy.mutators) {
      lc.info('Legacy API', {rawQueries: legacy.queries, crudMutations: legacy.mutators});
    }
    policy = permissionsPolicy(config, {
      // With nothing raw accepted, permissions have nothing to check: the API server decides.
      hasPermissions: perms.permissions !== undefined || (!legacy.queries && !legacy.mutators),
      file: perms.loaded?.file,
    });
  } catch (e) {
    if (e instanceof SchemaFileError) {
      fatal(`ZERO_SCHEMA_PATH ${e.message}`);
      return 1;
    }
    if (e instanceof ConfigError) {
      fatal(e.message);
      return 2;
    }
    throw e;
  }
  if (policy.kind === 'allow-all') lc.warn(policy.line);
  // Printed whatever ZERO_LOG_LEVEL says: running without permissions must not go unseen.
  if (policy.kind === 'allow-all-warning') {
    for (const line of policy.lines) write(formatLine('warn', line, {}));
  }
  // One sync worker: everything in this process, as before. More: this process dispatches
  // sockets to worker processes, which load the schema file themselves (docs/processes.md).
  // A replication-manager runs no sync workers (server/role-rules.ts).
  const layout = processLayout(config);
  const zc = !layout.multiProcess
    ? runZeroCache(config, lc, {
        permissions: perms.permissions,
        legacy,
        prepareQuery: perms.prepareQuery,
        cells: perms.selectPermissions,
      })
    : runZeroCacheProcesses(config, lc, {workers: layout.syncWorkers, env: process.env});
  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    lc.info('stopping', {signal: sig});
    void zc.stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    await zc.done;
    lc.info('stopped');
    return 0;
  } catch (e) {
    if (e instanceof ListenError || e instanceof ProcessFailure) {
      fatal(e.message);
      return 1;
    }
    lc.error('zero-cache failed', {
      kind: (e as {kind?: string}).kind,
      error: e instanceof Error ? e.message : String(e),
    });
    return 1;
  }
}

process.exitCode = await main();
