// Frames are `[type, body]` JSON arrays. Both sides validate every frame they receive.
import * as v from 'valibot';
import {
  authUpdatedBodySchema,
  connectBodySchema,
  connectedBodySchema,
  updateAuthBodySchema,
} from './connect.ts';
import {errorBodySchema, ProtocolError} from './error.ts';
import {pokeBodySchema, pokePartBodySchema} from './poke.ts';
import {parsePokeBody, parsePokePartBody} from './poke-validate.ts';
import {changeDesiredQueriesBodySchema} from './queries.ts';
import {pushBodySchema, pushResponseBodySchema} from './push.ts';
import {
  describeUnstorable,
  findUnstorableString,
  mayHoldUnstorableString,
} from './storable-strings.ts';

const emptyBodySchema = v.strictObject({});

/** Frames a client sends. */
export const upstreamSchemas = {
  connect: connectBodySchema,
  changeDesiredQueries: changeDesiredQueriesBodySchema,
  push: pushBodySchema,
  updateAuth: updateAuthBodySchema,
  ping: emptyBodySchema,
} as const;

/** Frames the server sends. */
export const downstreamSchemas = {
  connected: connectedBodySchema,
  authUpdated: authUpdatedBodySchema,
  poke: pokeBodySchema,
  pokePart: pokePartBodySchema,
  pushResponse: pushResponseBodySchema,
  pong: emptyBodySchema,
  error: errorBodySchema,
} as const;

type Bodies<S extends Record<string, v.GenericSchema>> = {
  [K in keyof S]: [K, v.InferOutput<S[K]>];
}[keyof S];

export type UpstreamFrame = Bodies<typeof upstreamSchemas>;
export type DownstreamFrame = Bodies<typeof downstreamSchemas>;
export type UpstreamType = UpstreamFrame[0];
export type DownstreamType = DownstreamFrame[0];

/** The largest frame either side accepts by default (bytes of JSON text). */
export const DEFAULT_MAX_FRAME_BYTES = 10 * 1024 * 1024;

/**
 * Hand-written validators that accept exactly what the schema of their frame type accepts,
 * for the frames where valibot is too slow (a poke may carry 100k rows). Bodies here are
 * JSON.parse output.
 */
const downstreamFastParsers: Partial<Record<DownstreamType, (body: unknown) => unknown>> = {
  poke: body => parsePokeBody(body, true),
  pokePart: body => parsePokePartBody(body, true),
};

function decode<S extends Record<string, v.GenericSchema>>(
  schemas: S,
  text: string,
  maxBytes: number,
  fastParsers: Partial<Record<string, (body: unknown) => unknown>> = {},
): Bodies<S> {
  // String length is UTF-16 units; a frame over the limit in units is over it in bytes too.
  if (text.length > maxBytes) {
    throw new ProtocolError(
      'MessageTooLarge',
      `Frame of ${text.length} characters exceeds the limit of ${maxBytes} bytes`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError('InvalidMessage', 'Frame is not valid JSON', {cause: e});
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string') {
    throw new ProtocolError('InvalidMessage', 'Frame must be a JSON array [type, body]');
  }
  const type: string = parsed[0];
  if (!Object.hasOwn(schemas, type)) {
    throw new ProtocolError(
      'InvalidMessage',
      `Unknown frame type ${JSON.stringify(type.slice(0, 40))}`,
    );
  }
  const fast = fastParsers[type];
  if (fast) return [type, fast(parsed[1])] as Bodies<S>;
  const schema = schemas[type] as v.GenericSchema;
  const result = v.safeParse(schema, parsed[1]);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map(p => String(p.key)).join('.') ?? '';
    // The issue message describes the expectation, not the value received.
    throw new ProtocolError(
      'InvalidMessage',
      `Invalid ${type} frame${path ? ` at ${path}` : ''}: ${issue.expected ? `expected ${issue.expected}` : issue.message.split(' but ')[0]}`,
    );
  }
  return [type, result.output] as Bodies<S>;
}

/**
 * Parses and validates a frame from a client. Throws ProtocolError. Strings Postgres cannot
 * store (NUL, unpaired surrogates) are refused anywhere in the frame: they would otherwise
 * fail a write shared with other clients (see storable-strings.ts).
 */
export function decodeUpstream(text: string, maxBytes = DEFAULT_MAX_FRAME_BYTES): UpstreamFrame {
  const frame = decode(upstreamSchemas, text, maxBytes);
  if (mayHoldUnstorableString(text)) {
    const bad = findUnstorableString(frame[1]);
    if (bad) {
      throw new ProtocolError(
        'InvalidMessage',
        describeUnstorable(bad, `Invalid ${frame[0]} frame`),
      );
    }
  }
  return frame;
}

/** Parses and validates a frame from the server. Throws ProtocolError. */
export function decodeDownstream(
  text: string,
  maxBytes = Number.POSITIVE_INFINITY,
): DownstreamFrame {
  return decode(downstreamSchemas, text, maxBytes, downstreamFastParsers);
}

export function encodeFrame(frame: UpstreamFrame | DownstreamFrame): string {
  return JSON.stringify(frame);
}
