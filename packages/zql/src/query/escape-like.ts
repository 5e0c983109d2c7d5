/** Escapes `%`, `_` and `\` so that a user's text matches literally in LIKE/ILIKE. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, c => `\\${c}`);
}
