// Type-level tests: the result types follow related(), one() and the schema.
import {expectTypeOf, test} from 'vitest';
import type {Condition} from '@zync/protocol';
import {createBuilder} from './query-impl.ts';
import type {ExpressionBuilder} from './expression.ts';
import type {HumanReadable, Query, QueryRowType, Row} from './query.ts';
import {syncedQuery} from './named.ts';
import {schema, type TestSchema} from '../../test/test-schema.ts';

const b = createBuilder(schema);
type Issue = Row<typeof schema.tables.issue>;
type User = Row<typeof schema.tables.user>;
type Comment = Row<typeof schema.tables.comment>;
type Label = Row<typeof schema.tables.label>;

test('roots and plain rows', () => {
  expectTypeOf(b.issue).toEqualTypeOf<Query<TestSchema, 'issue'>>();
  expectTypeOf<Row<typeof b.issue>>().toEqualTypeOf<Issue>();
  expectTypeOf<HumanReadable<QueryRowType<typeof b.issue>>>().toEqualTypeOf<Issue[]>();
  expectTypeOf<ReturnType<(typeof b.issue)['run']>>().resolves.toEqualTypeOf<Issue[]>();
});

test('one() gives row | undefined', () => {
  const q = b.issue.one();
  expectTypeOf(q.ast).toBeObject();
  expectTypeOf<Row<typeof q>>().toEqualTypeOf<Issue | undefined>();
  expectTypeOf<ReturnType<(typeof q)['run']>>().resolves.toEqualTypeOf<Issue | undefined>();
});

test('related: one → object | undefined, many → array, nested, two-hop', () => {
  const q = b.issue
    .related('owner')
    .related('comments', c => c.related('author'))
    .related('labels');
  type R = Row<typeof q>;
  expectTypeOf(q.ast.table).toBeString();
  expectTypeOf<R['owner']>().toEqualTypeOf<User | undefined>();
  expectTypeOf<R['comments'][number]['author']>().toEqualTypeOf<User | undefined>();
  expectTypeOf<R['comments'][number]['body']>().toEqualTypeOf<Comment['body']>();
  expectTypeOf<R['labels']>().toEqualTypeOf<readonly Label[]>();
  expectTypeOf<R['title']>().toEqualTypeOf<string>();
  const one = b.issue.related('comments', c => c.one()).one();
  expectTypeOf<NonNullable<Row<typeof one>>['comments']>().toEqualTypeOf<Comment | undefined>();
  expectTypeOf(one.ast.one).toEqualTypeOf<boolean | undefined>();
});

// Never called: the @ts-expect-error lines would throw TypeErrors at run time.
export function whereTypes(): void {
  b.issue.where('priority', '>', 1);
  b.issue.where('ownerID', 'IN', ['a']);
  b.issue.where('priority', 'IS', null);
  b.user.where('role', 'admin');
  // @ts-expect-error a number column takes numbers
  b.issue.where('priority', '>', 'x');
  // @ts-expect-error unknown column
  b.issue.where('nope', 1);
  // @ts-expect-error enum values only
  b.user.where('role', 'owner');
  // @ts-expect-error json columns cannot be compared
  b.issue.where('meta', null);
  // @ts-expect-error unknown relationship
  b.issue.related('nope');
}

test('where values are typed by column and operator', () => {
  expectTypeOf(whereTypes).toBeFunction();
});

test('ExpressionBuilder<S, T>', () => {
  const rule = (eb: ExpressionBuilder<TestSchema, 'issue'>): Condition =>
    eb.and(
      eb.cmp('ownerID', 'u1'),
      eb.exists('comments', c => c.where('authorID', 'u1')),
    );
  expectTypeOf(rule).returns.toEqualTypeOf<Condition>();
  b.issue.where(({cmp, or}) => or(cmp('open', true), cmp('priority', '<', 2)));
});

test('synced queries keep the query type', () => {
  const byOwner = syncedQuery(
    'byOwner',
    (args: unknown[]) => args as [string],
    (owner: string) => b.issue.where('ownerID', owner),
  );
  expectTypeOf(byOwner).parameters.toEqualTypeOf<[string]>();
  expectTypeOf<Row<typeof byOwner>>().toEqualTypeOf<Issue>();
});
