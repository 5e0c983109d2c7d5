// The `zero-deploy-permissions` command: loads the app's schema file (ZERO_SCHEMA_PATH, or
// --schema-path <file>, default ./schema.ts), validates schema and permissions, and prints a
// summary. zero-cache reads the file itself at start, so there is nothing to upload: this is
// the check to run before deploying. Exit code 1 with a clear message when the file is bad.
import {loadSchemaFile} from '../permissions/load-schema-file.ts';
import {SelectPermissions} from '../permissions/select-permissions.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    out('Usage: zero-deploy-permissions [--schema-path <file>]');
    out(
      'Validates the schema file (default: $ZERO_SCHEMA_PATH, else ./schema.ts) and prints its permissions.',
    );
    return 0;
  }
  const path = arg('--schema-path') ?? process.env['ZERO_SCHEMA_PATH'] ?? 'schema.ts';
  try {
    const loaded = await loadSchemaFile(path);
    const tables = Object.keys(loaded.schema.tables);
    out(`${loaded.file}: schema with ${tables.length} tables`);
    if (!loaded.permissions) {
      out('No `permissions` exported: zero-cache will not filter reads.');
      return 0;
    }
    const needing = new SelectPermissions({permissions: loaded.permissions, claims: 'verified'})
      .tablesNeedingClaims;
    const count = (policy: readonly unknown[] | undefined) =>
      policy === undefined ? 'deny' : `${policy.length} rule(s)`;
    for (const t of tables) {
      const row = loaded.permissions.tables[t]?.row;
      out(
        `  ${t}: select ${count(row?.select)}${needing.has(t) ? ' (reads claims)' : ''}, ` +
          `insert ${count(row?.insert)}, update ${count(row?.update?.preMutation)}/` +
          `${count(row?.update?.postMutation)}, delete ${count(row?.delete)}`,
      );
    }
    out('Permissions are valid.');
    return 0;
  } catch (e) {
    process.stderr.write(
      `zero-deploy-permissions: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    return 1;
  }
}

process.exitCode = await main();
