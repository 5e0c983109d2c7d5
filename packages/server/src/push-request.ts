// The push request zero-cache POSTs to the app's API server and the response it expects
// (docs/api-server.md). Validated by hand so that messages name what was expected and
// never echo a received value.
import {isValidAppID, shardNames} from '@zync/pg';
import type {ReadonlyJSONValue} from '@zync/shared';
import {ServerError} from './errors.ts';

export const PUSH_VERSION = 1;

export type PushMutation = {
  readonly type: 'custom' | 'crud';
  readonly id: number;
  readonly clientID: string;
  readonly name: string;
  readonly args: readonly ReadonlyJSONValue[];
  readonly timestamp: number;
};

export type PushRequestBody = {
  readonly clientGroupID: string;
  readonly mutations: readonly PushMutation[];
  readonly pushVersion: number;
  readonly schemaVersion?: number | undefined;
  readonly timestamp: number;
  readonly requestID: string;
};

export type PushParams = {readonly appID: string; readonly schema: string | undefined};

export type MutationID = {readonly id: number; readonly clientID: string};

export type MutationOk = {readonly data?: ReadonlyJSONValue};
export type MutationError =
  | {readonly error: 'app'; readonly message: string; readonly details?: ReadonlyJSONValue}
  | {readonly error: 'oooMutation' | 'alreadyProcessed'; readonly details?: ReadonlyJSONValue};
export type MutationResult = MutationOk | MutationError;
export type MutationResponse = {readonly id: MutationID; readonly result: MutationResult};

export type PushOk = {readonly mutations: MutationResponse[]};
export type PushError =
  | {
      readonly error: 'unsupportedPushVersion' | 'unsupportedSchemaVersion';
      readonly mutationIDs?: MutationID[];
    }
  | {
      readonly error: 'http';
      readonly status: number;
      readonly details: string;
      readonly mutationIDs?: MutationID[];
    };
export type PushResponse = PushOk | PushError;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The internal upstream schema of an app id (`zync_<appID>`, where `clients` lives). */
export function upstreamSchemaOf(appID: string): string {
  if (!isValidAppID(appID)) {
    throw new ServerError('invalidRequest', 'appID must match /^[a-z0-9_]+$/');
  }
  return shardNames(appID).schema;
}

function fail(what: string): never {
  throw new ServerError('invalidRequest', `invalid push request: ${what}`);
}

export function parsePushParams(params: URLSearchParams | Record<string, string>): PushParams {
  const get = (k: string): string | null =>
    params instanceof URLSearchParams
      ? params.get(k)
      : Object.hasOwn(params, k) && typeof params[k] === 'string'
        ? params[k]
        : null;
  const appID = get('appID');
  if (appID === null || !isValidAppID(appID)) {
    fail('query parameter appID must match /^[a-z0-9_]+$/');
  }
  const schema = get('schema');
  if (schema !== null && !/^[A-Za-z0-9_]+$/.test(schema)) {
    fail('query parameter schema must match /^[A-Za-z0-9_]+$/');
  }
  return {appID, schema: schema ?? undefined};
}

function parseMutation(m: unknown, i: number): PushMutation {
  const at = `mutations[${i}]`;
  if (!isObject(m)) fail(`${at} must be an object`);
  const type = m['type'] ?? 'custom';
  if (type !== 'custom' && type !== 'crud') fail(`${at}.type must be "custom" or "crud"`);
  const id = m['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    fail(`${at}.id must be a positive integer`);
  }
  const clientID = m['clientID'];
  if (typeof clientID !== 'string' || clientID === '') {
    fail(`${at}.clientID must be a non-empty string`);
  }
  const name = m['name'];
  if (typeof name !== 'string') fail(`${at}.name must be a string`);
  const args = m['args'];
  if (!Array.isArray(args)) fail(`${at}.args must be an array`);
  const timestamp = m['timestamp'];
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    fail(`${at}.timestamp must be a number`);
  }
  return {type, id, clientID, name, args: args as ReadonlyJSONValue[], timestamp};
}

/** Validates a push body; throws ServerError('invalidRequest') naming what is wrong. */
export function parsePushBody(body: unknown): PushRequestBody {
  if (!isObject(body)) fail('the body must be a JSON object');
  const clientGroupID = body['clientGroupID'];
  if (typeof clientGroupID !== 'string' || clientGroupID === '') {
    fail('clientGroupID must be a non-empty string');
  }
  const pushVersion = body['pushVersion'];
  if (typeof pushVersion !== 'number') fail('pushVersion must be a number');
  const schemaVersion = body['schemaVersion'];
  if (schemaVersion !== undefined && typeof schemaVersion !== 'number') {
    fail('schemaVersion must be a number when present');
  }
  const timestamp = body['timestamp'];
  if (typeof timestamp !== 'number') fail('timestamp must be a number');
  const requestID = body['requestID'];
  if (typeof requestID !== 'string') fail('requestID must be a string');
  const mutations = body['mutations'];
  if (!Array.isArray(mutations)) fail('mutations must be an array');
  return {
    clientGroupID,
    mutations: mutations.map(parseMutation),
    pushVersion,
    ...(schemaVersion === undefined ? {} : {schemaVersion}),
    timestamp,
    requestID,
  };
}

/** Best effort: the ids of the mutations of an invalid body, so the caller can fail them. */
export function mutationIDsOf(body: unknown): MutationID[] | undefined {
  if (!isObject(body) || !Array.isArray(body['mutations'])) return undefined;
  const ids: MutationID[] = [];
  for (const m of body['mutations'] as unknown[]) {
    if (isObject(m) && typeof m['id'] === 'number' && typeof m['clientID'] === 'string') {
      ids.push({id: m['id'], clientID: m['clientID']});
    }
  }
  return ids;
}
