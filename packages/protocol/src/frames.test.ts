import fc from 'fast-check';
import {describe, expect, test} from 'vitest';
import {ProtocolError} from './error.ts';
import {decodeDownstream, decodeUpstream, encodeFrame} from './frames.ts';
import type {DownstreamFrame, UpstreamFrame} from './frames.ts';
import {PROTOCOL_VERSION} from './version.ts';

const connect: UpstreamFrame = [
  'connect',
  {
    protocolVersion: PROTOCOL_VERSION,
    clientID: 'c1',
    clientGroupID: 'g1',
    userID: 'alice',
    baseVersion: null,
    lastMutationID: 0,
    auth: 'tok',
    desiredQueries: [
      {
        op: 'put',
        hash: 'h1',
        ast: {
          kind: 'query',
          table: 'issue',
          where: {
            kind: 'simple',
            op: '=',
            left: {kind: 'column', name: 'open'},
            right: {kind: 'literal', value: true},
          },
          orderBy: [['id', 'asc']],
          limit: 10,
        },
      },
    ],
  },
];

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('decodeUpstream', () => {
  test('round-trips every upstream frame type', () => {
    const frames: UpstreamFrame[] = [
      connect,
      ['changeDesiredQueries', {patch: [{op: 'del', hash: 'h1'}, {op: 'clear'}]}],
      [
        'push',
        {
          clientGroupID: 'g1',
          requestID: 'r1',
          mutations: [
            {
              type: 'custom',
              id: 1,
              clientID: 'c1',
              name: 'issue.add',
              args: [{a: 1}],
              timestamp: 5,
            },
          ],
        },
      ],
      ['updateAuth', {auth: 'x'}],
      ['ping', {}],
    ];
    for (const f of frames) {
      expect(decodeUpstream(encodeFrame(f))).toEqual(f);
    }
  });

  test('rejects malformed frames with InvalidMessage and no echo of values', () => {
    expect(errorOf(() => decodeUpstream('not json')).kind).toBe('InvalidMessage');
    expect(errorOf(() => decodeUpstream('{"a":1}')).kind).toBe('InvalidMessage');
    expect(errorOf(() => decodeUpstream('["nope",{}]')).message).toMatch(/Unknown frame type/);
    const bad = errorOf(() => decodeUpstream(JSON.stringify(['updateAuth', {auth: 12345678}])));
    expect(bad.kind).toBe('InvalidMessage');
    expect(bad.message).toContain('auth');
    expect(bad.message).not.toContain('12345678');
    const extra = errorOf(() =>
      decodeUpstream(JSON.stringify(['ping', {secretToken: 'sekrit-value'}])),
    );
    expect(extra.message).not.toContain('sekrit-value');
  });

  test('rejects oversized frames with MessageTooLarge', () => {
    const big = JSON.stringify(['updateAuth', {auth: 'x'.repeat(2000)}]);
    expect(errorOf(() => decodeUpstream(big, 1000)).kind).toBe('MessageTooLarge');
  });

  test('a token over 64 KiB is refused', () => {
    const big = JSON.stringify(['updateAuth', {auth: 'x'.repeat(70 * 1024)}]);
    expect(errorOf(() => decodeUpstream(big)).kind).toBe('InvalidMessage');
  });

  test('never throws anything but ProtocolError on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .tuple(
              fc.constantFrom('connect', 'push', 'ping', 'changeDesiredQueries', 'updateAuth'),
              fc.jsonValue(),
            )
            .map(x => JSON.stringify(x)),
        ),
        text => {
          try {
            decodeUpstream(text);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        },
      ),
      {numRuns: 500},
    );
  });
});

describe('decodeDownstream', () => {
  test('round-trips a poke and an error', () => {
    const frames: DownstreamFrame[] = [
      [
        'poke',
        {
          pokeID: 'p1',
          baseVersion: null,
          version: '01',
          rows: [
            {op: 'clear'},
            {op: 'put', table: 'issue', value: {id: 'i1', title: 't', meta: {a: [1]}}},
            {op: 'del', table: 'issue', id: {id: 'i2'}},
          ],
          gotQueries: [{op: 'put', hash: 'h1'}],
          lastMutationIDChanges: {c1: 3},
        },
      ],
      ['error', {kind: 'AuthInvalidated', message: 'Token expired'}],
      ['connected', {wsid: 'w', tokenExpiresAt: null}],
      ['pong', {}],
    ];
    for (const f of frames) {
      expect(decodeDownstream(encodeFrame(f))).toEqual(f);
    }
  });

  test('rejects an unknown error kind', () => {
    expect(
      errorOf(() => decodeDownstream(JSON.stringify(['error', {kind: 'Nope', message: ''}]))).kind,
    ).toBe('InvalidMessage');
  });
});
