#!/usr/bin/env node
// zero-deploy-permissions: loads the app's schema file (ZERO_SCHEMA_PATH, or --schema-path
// <file>, default ./schema.ts), validates schema and permissions, and prints a summary.
// zero-cache reads the file itself at start, so there is nothing to upload: this is the
// check to run before deploying. Exit code 1 with a clear message when the file is bad.
import {register} from 'tsx/esm/api';

register();
const {loadSchemaFile, SelectPermissions} = await import('@zync/cache');

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: zero-deploy-permissions [--schema-path <file>]\n' +
      'Validates the schema file (default: $ZERO_SCHEMA_PATH, else ./schema.ts) and prints its permissions.\n',
  );
  process.exit(0);
}

const path = arg('--schema-path') ?? process.env.ZERO_SCHEMA_PATH ?? 'schema.ts';
try {
  const loaded = await loadSchemaFile(path);
  const tables = Object.keys(loaded.schema.tables);
  process.stdout.write(`${loaded.file}: schema with ${tables.length} tables\n`);
  if (!loaded.permissions) {
    process.stdout.write('No `permissions` exported: zero-cache will not filter reads.\n');
    process.exit(0);
  }
  const needing = new SelectPermissions({permissions: loaded.permissions, claims: 'verified'})
    .tablesNeedingClaims;
  const count = policy => (policy === undefined ? 'deny' : `${policy.length} rule(s)`);
  for (const t of tables) {
    const row = loaded.permissions.tables[t]?.row;
    process.stdout.write(
      `  ${t}: select ${count(row?.select)}${needing.has(t) ? ' (reads claims)' : ''}, ` +
        `insert ${count(row?.insert)}, update ${count(row?.update?.preMutation)}/` +
        `${count(row?.update?.postMutation)}, delete ${count(row?.delete)}\n`,
    );
  }
  process.stdout.write('Permissions are valid.\n');
} catch (e) {
  process.stderr.write(`zero-deploy-permissions: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
