// Test helpers: key pairs and signed tokens made with jose, a connect body, a log capture.
import type {IncomingMessage} from 'node:http';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import type {CryptoKey, JWK, JWTPayload} from 'jose';
import {PROTOCOL_VERSION} from '@zync/protocol';
import type {ConnectBody} from '@zync/protocol';
import {createLogger, formatLogLine} from '@zync/shared';
import type {Logger} from '@zync/shared';

export type TestKey = {readonly alg: string; readonly privateKey: CryptoKey; readonly jwk: JWK};

export async function testKey(alg: string, kid?: string): Promise<TestKey> {
  const {privateKey, publicKey} = await generateKeyPair(alg, {extractable: true});
  const jwk = await exportJWK(publicKey);
  if (kid !== undefined) jwk.kid = kid;
  return {alg, privateKey, jwk};
}

/** Seconds since the epoch, offset by `deltaS`. */
export function nowS(deltaS = 0): number {
  return Math.floor(Date.now() / 1000) + deltaS;
}

export function sign(
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({...header, alg}).sign(key);
}

export function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** An unsigned `alg: none` token. */
export function unsignedToken(claims: JWTPayload): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({alg: 'none', typ: 'JWT'})}.${b64(claims)}.`;
}

export function connectBody(userID: string, auth?: string): ConnectBody {
  return {
    protocolVersion: PROTOCOL_VERSION,
    clientID: 'c1',
    clientGroupID: 'g1',
    userID,
    baseVersion: null,
    lastMutationID: 0,
    ...(auth !== undefined ? {auth} : {}),
    desiredQueries: [],
  };
}

export const fakeUpgrade = {headers: {}} as IncomingMessage;

export function captureLogger(): {logger: Logger; lines: string[]} {
  const lines: string[] = [];
  const logger = createLogger('debug', (level, msg, ctx) => {
    lines.push(formatLogLine(level, msg, ctx));
  });
  return {logger, lines};
}
