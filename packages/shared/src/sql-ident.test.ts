import {describe, expect, test} from 'vitest';
import {quoteIdent} from './sql-ident.ts';

describe('quoteIdent', () => {
  test('wraps a name in double quotes and doubles inner ones', () => {
    expect(quoteIdent('issue')).toBe('"issue"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent('')).toBe('""');
  });

  test('refuses a name that holds NUL', () => {
    expect(() => quoteIdent('a\u0000b')).toThrow(/NUL/);
  });
});
