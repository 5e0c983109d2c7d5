// The analyze-query command's body: options, schema file, analysis, output. The entry point
// (bin/analyze-query.ts) passes argv, the environment and where to write.
import {createLogger, formatLogLine} from '@zync/shared';
import {legacyAPI} from '../permissions/legacy-api.ts';
import {loadSchemaFile} from '../permissions/load-schema-file.ts';
import {SchemaFileError} from '../permissions/schema-file-error.ts';
import {AnalyzeError} from './analyze-error.ts';
import {analyzeQuery} from './analyze-query.ts';
import {parseCliOptions, USAGE} from './cli-options.ts';
import {reportText} from './report-text.ts';

export type CliIO = {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
};

type Env = Readonly<Record<string, string | undefined>>;

/** Runs the command; resolves with its exit code. */
export async function runAnalyzeQuery(
  argv: readonly string[],
  env: Env,
  io: CliIO,
): Promise<number> {
  const fail = (message: string) => {
    io.err(`analyze-query: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  };
  try {
    const o = parseCliOptions(argv, env);
    if (o.help) {
      io.out(`${USAGE}\n`);
      return 0;
    }
    let loaded;
    try {
      loaded = await loadSchemaFile(o.schemaPath);
    } catch (e) {
      if (e instanceof SchemaFileError) {
        throw new AnalyzeError(
          'schema',
          `schema file ${e.message} (set --schema-path or ZERO_SCHEMA_PATH)`,
        );
      }
      throw e;
    }
    const logger = createLogger(o.logLevel, (level, msg, ctx) =>
      io.err(`${formatLogLine(level, msg, ctx)}\n`),
    );
    const report = await analyzeQuery({
      replicaFile: o.replicaFile,
      schema: loaded.schema,
      permissions: loaded.permissions,
      applyPermissions: o.applyPermissions,
      authData: o.authData,
      userID: o.userID,
      token: o.token,
      input: o.input,
      budget: o.budget,
      maxHydrationRows: o.maxHydrationRows,
      syncedQueries: o.syncedQueries,
      legacyQueries: legacyAPI(o.legacyApi, loaded.schema).queries,
      logger,
    });
    io.out(`${o.json ? JSON.stringify(report, null, 2) : reportText(report)}\n`);
    if (report.refused !== undefined)
      return fail(`zero-cache would refuse the query: ${report.refused}`);
    return 0;
  } catch (e) {
    if (e instanceof AnalyzeError) return fail(e.message);
    return fail(`unexpected error: ${e instanceof Error ? e.message : String(e)}`);
  }
}
