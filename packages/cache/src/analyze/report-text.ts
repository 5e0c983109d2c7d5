// The human-readable form of an analysis (`--json` prints the report object instead).
import type {AnalyzeReport} from './analyze-query.ts';
import type {PlanStep} from './replica-run.ts';

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function perTable(
  by: Readonly<Record<string, number>>,
  of?: Readonly<Record<string, number>>,
): string {
  const parts = Object.entries(by).map(([t, n]) =>
    of?.[t] === undefined ? `${t} ${n}` : `${t} ${n} of ${of[t]}`,
  );
  return parts.length > 0 ? `  (${parts.join(', ')})` : '';
}

/** The plan as SQLite's shell prints it: one line per step, children indented. */
export function planLines(plan: readonly PlanStep[]): string[] {
  const depth = new Map<number, number>();
  return plan.map(p => {
    const d = (depth.get(p.parent) ?? -1) + 1;
    depth.set(p.id, d);
    return `${'  '.repeat(d)}${p.detail}`;
  });
}

function ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}

export function reportText(r: AnalyzeReport): string {
  const out: string[] = [];
  const q = r.query;
  if (q.source === 'zql') out.push(`Query        ${q.text ?? ''}`);
  else if (q.source === 'synced') {
    out.push(`Query        ${q.name ?? ''}(${JSON.stringify(q.args ?? [])}), from the API server`);
  } else out.push(`Query        the AST of --ast (table ${q.ast.table})`);
  out.push(`Replica      ${r.replica.file} at version ${r.replica.version}`);
  out.push(
    `Permissions  ${
      r.permissions.applied
        ? `applied, for auth data ${JSON.stringify(r.permissions.authData)}`
        : 'not applied'
    }`,
  );
  for (const n of r.notes) out.push(`Note         ${n}`);
  out.push('');
  if (r.refused !== undefined) {
    out.push(`REFUSED      ${r.refused}`);
    out.push('             (what follows is the work done until the budget stopped it)');
  }
  out.push(`Synced rows  ${r.syncedRows}${perTable(r.syncedRowsByTable)}`);
  out.push(`Rows read    ${r.rowsRead}${perTable(r.rowsReadByTable, r.tableRows)}`);
  out.push(
    `Time         ${ms(r.totalMs)}: ${ms(r.prepareMs)} to prepare, ${ms(r.hydrateMs)} to hydrate`,
  );
  out.push('');
  out.push('Statements and their plans (EXPLAIN QUERY PLAN):');
  for (const s of r.statements) {
    out.push(
      `  ${s.table}: ${count(s.executions, 'run')}, ${count(s.rowsRead, 'row')} read`,
      `    ${s.sql}`,
      ...planLines(s.plan).map(l => `      ${l}`),
    );
  }
  if (r.statements.length === 0) out.push('  (none)');
  out.push('');
  if (r.missingIndexes.length === 0) {
    out.push('Missing indexes: none found.');
  } else {
    out.push('Missing indexes (create them upstream, in Postgres):');
    for (const m of r.missingIndexes) {
      out.push(`  ${m.table}: ${m.reason} (${count(m.tableRows, 'row')})`, `    ${m.createIndex}`);
    }
    out.push(
      '  The replica copies upstream indexes when it copies a table: an index added later',
      '  reaches it with the next resync of the replica.',
    );
  }
  return out.join('\n');
}
