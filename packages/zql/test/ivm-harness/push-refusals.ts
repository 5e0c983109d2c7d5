// The changes a Source must refuse (docs/ivm.md, "One base for every source"), with the
// same TypeError whatever stores the rows, and without a trace: no connection hears of
// the change and fetches answer as before.
import {expect} from 'vitest';
import type {Change} from '../../src/ivm/operator.ts';
import type {Row} from '../../src/ivm/data.ts';
import type {Source, SourceChange} from '../../src/ivm/source.ts';

/**
 * `a` and `b` are stored rows of `source` (whose primary key is `id`), `absent` a row
 * whose key is not stored.
 */
export function expectPushRefusals(source: Source, a: Row, b: Row, absent: Row): void {
  const conns = [source.connect([]), source.connect([['id', 'desc']])];
  const heard: Change[] = [];
  for (const c of conns) c.setOutput({push: change => heard.push(change)});
  const before = conns.map(c => [...c.fetch({})].map(n => n.row));
  const table = source.tableName;
  const bID = b.id ?? null;
  const absentID = absent.id ?? null;
  const refused: [SourceChange, RegExp][] = [
    [{type: 'add', row: {...a}}, new RegExp(`^Row already exists in ${table}$`)],
    [{type: 'remove', row: absent}, new RegExp(`^Row not found in ${table}$`)],
    [{type: 'edit', oldRow: absent, row: {...absent}}, new RegExp(`^Row not found in ${table}$`)],
    [
      {type: 'edit', oldRow: a, row: {...a, id: bID}},
      new RegExp(`^Row already exists in ${table}$`),
    ],
  ];
  for (const [change, message] of refused) {
    expect(() => source.push(change)).toThrow(TypeError);
    expect(() => source.push(change)).toThrow(message);
  }
  expect(heard).toEqual([]);
  expect(conns.map(c => [...c.fetch({})].map(n => n.row))).toEqual(before);
  // The source still takes changes: an edit onto the absent key moves the row.
  source.push({type: 'edit', oldRow: a, row: {...a, id: absentID}});
  expect(heard.map(c => c.type)).toEqual(['remove', 'add', 'remove', 'add']);
  for (const c of conns) c.destroy();
}
