import {expect, test} from 'vitest';
import {ServerError} from './errors.ts';
import {mutationIDsOf, parsePushBody, parsePushParams} from './push-request.ts';

const good = {
  clientGroupID: 'g',
  pushVersion: 1,
  timestamp: 5,
  requestID: 'r',
  mutations: [{type: 'custom', id: 1, clientID: 'c', name: 'a|b', args: [{x: 1}], timestamp: 2}],
};

test('a valid body parses; type defaults to custom', () => {
  expect(parsePushBody(good).mutations[0]?.type).toBe('custom');
  const {type: _omit, ...noType} = good.mutations[0]!;
  expect(parsePushBody({...good, mutations: [noType]}).mutations[0]?.type).toBe('custom');
});

test.each([
  ['not an object', 'x'],
  ['no group', {...good, clientGroupID: ''}],
  ['no pushVersion', {...good, pushVersion: undefined}],
  ['bad id', {...good, mutations: [{...good.mutations[0], id: 0}]}],
  ['bad args', {...good, mutations: [{...good.mutations[0], args: 'token-abc'}]}],
  ['bad type', {...good, mutations: [{...good.mutations[0], type: 'token-abc'}]}],
])('%s is an invalidRequest that does not echo values', (_name, body) => {
  try {
    parsePushBody(body);
    expect.unreachable();
  } catch (e) {
    expect(e).toBeInstanceOf(ServerError);
    expect((e as ServerError).kind).toBe('invalidRequest');
    expect((e as ServerError).message).not.toContain('token-abc');
  }
});

test('query params: appID required and checked; schema optional', () => {
  expect(parsePushParams(new URLSearchParams('appID=zero&schema=zero_0'))).toEqual({
    appID: 'zero',
    schema: 'zero_0',
  });
  expect(parsePushParams({appID: 'app'})).toEqual({appID: 'app', schema: undefined});
  expect(() => parsePushParams({})).toThrow(ServerError);
  expect(() => parsePushParams({appID: 'a;drop'})).toThrow(ServerError);
  expect(() => parsePushParams({appID: 'a', schema: 'x"y'})).toThrow(ServerError);
});

test('mutationIDsOf picks what it can from a broken body', () => {
  expect(mutationIDsOf({mutations: [{id: 3, clientID: 'c'}, {id: 'x'}]})).toEqual([
    {id: 3, clientID: 'c'},
  ]);
  expect(mutationIDsOf(null)).toBeUndefined();
});
