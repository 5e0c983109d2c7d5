import {createBuilder} from '@zync/zql';
import type {ReadonlyJSONValue} from '@zync/shared';
import {describe, expect, test} from 'vitest';
import {handleQueryRequest, type QueryRequestHandler} from './query-request.ts';
import {schema} from '../test/fixture.ts';

const builder = createBuilder(schema);

/** A validation failure shaped like a defined query's (message + JSON details). */
class InputValidationError extends Error {
  readonly details: ReadonlyJSONValue;
  constructor(message: string) {
    super(message);
    this.name = 'InputValidationError';
    this.details = {type: 'InputValidationError', issues: ['ownerID: expected string']};
  }
}

const seen: [string, unknown][] = [];
const handler: QueryRequestHandler = (name, args) => {
  seen.push([name, args]);
  switch (name) {
    case 'issuesByOwner': {
      const ownerID = (args as {ownerID?: unknown} | undefined)?.ownerID;
      if (typeof ownerID !== 'string') {
        throw new InputValidationError('Validation failed for query issuesByOwner');
      }
      return builder.issue.where('ownerID', ownerID).related('comments');
    }
    case 'allUsers':
      return builder.user;
    case 'legacyShape':
      return Promise.resolve({query: builder.comment});
    default:
      throw new Error(`Query not found: ${name}`);
  }
};

function transform(items: {id: string; name: string; args: unknown[]}[]): ReadonlyJSONValue {
  return ['transform', items] as unknown as ReadonlyJSONValue;
}

describe('handleQueryRequest', () => {
  test('passes the one args value, answers ASTs in server names and echoes the user', async () => {
    seen.length = 0;
    const request = new Request('http://api/query?schema=zync_zero&appID=zero', {
      method: 'POST',
      body: JSON.stringify(
        transform([
          {id: 'q1', name: 'issuesByOwner', args: [{ownerID: 'u1'}]},
          {id: 'q2', name: 'allUsers', args: []},
          {id: 'q3', name: 'legacyShape', args: []},
        ]),
      ),
    });
    const res = await handleQueryRequest({handler, schema, request, userID: 'u1'});
    expect(seen).toEqual([
      ['issuesByOwner', {ownerID: 'u1'}],
      ['allUsers', undefined],
      ['legacyShape', undefined],
    ]);
    if (res.kind !== 'QueryResponse') throw new Error('expected a QueryResponse');
    expect(res.userID).toBe('u1');
    const [q1, q2, q3] = res.queries as readonly unknown[];
    expect(q1).toMatchObject({id: 'q1', name: 'issuesByOwner', ast: {table: 'issue'}});
    expect(JSON.stringify(q1)).toContain('"owner_id"');
    expect(JSON.stringify(q1)).toContain('"issue_id"');
    expect(q2).toMatchObject({id: 'q2', ast: {table: 'users'}});
    expect(q3).toMatchObject({id: 'q3', ast: {table: 'comment'}});
  });

  test('a handler error fails that query alone, with its message and details', async () => {
    const res = await handleQueryRequest({
      handler,
      schema,
      query: {schema: 'zync_zero', appID: 'zero'},
      body: transform([
        {id: 'a', name: 'issuesByOwner', args: [{ownerID: 7}]},
        {id: 'b', name: 'missing', args: []},
        {id: 'c', name: 'allUsers', args: [1, 2]},
        {id: 'd', name: 'allUsers', args: []},
      ]),
      userID: null,
    });
    expect(res).toEqual({
      kind: 'QueryResponse',
      userID: null,
      queries: [
        {
          error: 'app',
          id: 'a',
          name: 'issuesByOwner',
          message: 'Validation failed for query issuesByOwner',
          details: {type: 'InputValidationError', issues: ['ownerID: expected string']},
        },
        {error: 'app', id: 'b', name: 'missing', message: 'Query not found: missing'},
        {
          error: 'app',
          id: 'c',
          name: 'allUsers',
          message: 'bad args: a defined query takes one args value',
        },
        expect.objectContaining({id: 'd', ast: expect.objectContaining({table: 'users'})}),
      ],
    });
  });

  test('a handler returning nothing or a non-query is an error for that query', async () => {
    const odd = ((name: string) => (name === 'none' ? undefined : {rows: []})) as never;
    const res = await handleQueryRequest({
      handler: odd,
      schema,
      body: transform([
        {id: 'x', name: 'none', args: []},
        {id: 'y', name: 'odd', args: []},
      ]),
      query: {},
      userID: undefined,
    });
    expect(res).toEqual({
      kind: 'QueryResponse',
      userID: null,
      queries: [
        {error: 'app', id: 'x', name: 'none', message: 'Query not found: none'},
        {error: 'app', id: 'y', name: 'odd', message: 'the resolver did not return a query'},
      ],
    });
  });

  test('the positional form works and names no user', async () => {
    const res = await handleQueryRequest(
      handler,
      schema,
      transform([{id: 'p', name: 'allUsers', args: []}]),
    );
    expect(res).toMatchObject({kind: 'QueryResponse', queries: [{id: 'p'}]});
    expect('userID' in res).toBe(false);
  });

  test('a malformed request fails as a whole without echoing it', async () => {
    const secret = 'secret-cookie-value';
    for (const body of [null, {x: secret}, ['transform', [{id: 1, name: secret}]], [secret]]) {
      const res = await handleQueryRequest({handler, schema, body, query: {}, userID: 'u1'});
      expect(res).toMatchObject({kind: 'TransformFailed', origin: 'server', reason: 'parse'});
      expect(JSON.stringify(res)).not.toContain(secret);
    }
    const notJSON = new Request('http://api/query', {method: 'POST', body: `{${secret}`});
    const res = await handleQueryRequest({handler, schema, request: notJSON, userID: 'u1'});
    expect(res).toMatchObject({kind: 'TransformFailed', reason: 'parse'});
    expect(JSON.stringify(res)).not.toContain(secret);
  });

  test('misuse throws a TypeError at once', async () => {
    await expect(
      handleQueryRequest({handler: 5 as never, schema, body: [], query: {}, userID: 'u'}),
    ).rejects.toThrow(TypeError);
    await expect(
      handleQueryRequest({handler, schema, body: [], query: {}, userID: 5 as never}),
    ).rejects.toThrow(/userID must be a string/);
  });
});
