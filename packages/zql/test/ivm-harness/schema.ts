// The tables and relationships the property tests draw queries over.
import type {CorrelatedSubquery} from '@zync/protocol';
import type {PrimaryKey, Value} from '../../src/ivm/data.ts';

export type ColumnKind = 'id' | 'ref' | 'int' | 'str';

export type TableSpec = {
  readonly name: string;
  readonly primaryKey: PrimaryKey;
  readonly columns: Readonly<Record<string, ColumnKind>>;
  /** Domain size for generated ids / references. */
  readonly ids: number;
};

export type RelSpec = {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly parentField: readonly string[];
  readonly childField: readonly string[];
  readonly one: boolean;
  /** Two-hop: `to` is the junction table, `then` the hop from it. */
  readonly then?: RelSpec;
};

export const TABLES: readonly TableSpec[] = [
  {
    name: 'issue',
    primaryKey: ['id'],
    columns: {id: 'id', ownerId: 'ref', parentId: 'ref', a: 'int', b: 'str'},
    ids: 10,
  },
  {
    name: 'comment',
    primaryKey: ['id'],
    columns: {id: 'id', issueId: 'ref', authorId: 'ref', a: 'int', b: 'str'},
    ids: 16,
  },
  {name: 'user', primaryKey: ['id'], columns: {id: 'id', a: 'int', b: 'str'}, ids: 5},
  {name: 'label', primaryKey: ['id'], columns: {id: 'id', b: 'str'}, ids: 4},
  {
    name: 'issueLabel',
    primaryKey: ['issueId', 'labelId'],
    columns: {issueId: 'ref', labelId: 'ref', a: 'int'},
    ids: 8,
  },
];

const rel = (
  name: string,
  from: string,
  to: string,
  parentField: string[],
  childField: string[],
  one = false,
  then?: RelSpec,
): RelSpec =>
  then
    ? {name, from, to, parentField, childField, one, then}
    : {name, from, to, parentField, childField, one};

export const RELATIONSHIPS: readonly RelSpec[] = [
  rel('comments', 'issue', 'comment', ['id'], ['issueId']),
  rel('sameA', 'issue', 'comment', ['id', 'a'], ['issueId', 'a']),
  rel('owner', 'issue', 'user', ['ownerId'], ['id'], true),
  rel('parent', 'issue', 'issue', ['parentId'], ['id'], true),
  rel('children', 'issue', 'issue', ['id'], ['parentId']),
  rel(
    'labels',
    'issue',
    'issueLabel',
    ['id'],
    ['issueId'],
    false,
    rel('labels', 'issueLabel', 'label', ['labelId'], ['id']),
  ),
  rel('issue', 'comment', 'issue', ['issueId'], ['id'], true),
  rel('author', 'comment', 'user', ['authorId'], ['id'], true),
  rel('issues', 'user', 'issue', ['id'], ['ownerId']),
  rel('comments', 'user', 'comment', ['id'], ['authorId']),
];

export const table = (name: string): TableSpec => TABLES.find(t => t.name === name) as TableSpec;

export function correlation(r: RelSpec): CorrelatedSubquery['correlation'] {
  return {parentField: r.parentField, childField: r.childField};
}

export const INTS: readonly Value[] = [null, 0, 1, 2, 3];
export const STRS: readonly Value[] = [null, 'a', 'B', 'ab', 'Ab', 'a_b', 'x%y', 'b\\c'];
