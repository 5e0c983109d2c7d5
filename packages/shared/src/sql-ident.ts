// Quoting of SQL identifiers, the same in Postgres and SQLite: double quotes, with inner
// double quotes doubled. Neither database can store a NUL in a name, and a NUL would end
// the statement early in some drivers, so a name that holds one is refused.

/** A safely quoted SQL identifier; throws a TypeError for a name containing NUL. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new TypeError('identifier contains a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}
