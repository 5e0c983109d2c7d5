// Token and session handling for the three auth modes.
//   secret: access tokens are HS256 JWTs; zero-cache verifies them with ZERO_AUTH_SECRET.
//   jwks:   access tokens are ES256 JWTs; zero-cache fetches the public key from our JWKS.
//   cookie: no token in the page at all; an HttpOnly session cookie that zero-cache forwards.
// In every mode the login also sets the HttpOnly session cookie, which is what /api/refresh
// trades for a new short-lived access token.
import type {CryptoKey, JWK} from 'jose';
import {exportJWK, generateKeyPair, jwtVerify, SignJWT} from 'jose';
import type {AuthData, Role} from '../shared/schema.ts';

export type AuthMode = 'secret' | 'jwks' | 'cookie';
export const AUTH_MODES: readonly AuthMode[] = ['secret', 'jwks', 'cookie'];

export function parseAuthMode(value: string | undefined): AuthMode {
  const v = value ?? 'secret';
  if (!(AUTH_MODES as readonly string[]).includes(v)) {
    throw new TypeError(`auth mode must be one of ${AUTH_MODES.join(', ')}, got "${v}"`);
  }
  return v as AuthMode;
}

export const SESSION_COOKIE = 'hello_session';
const SESSION_TTL_SECONDS = 8 * 3600;

export type TokenService = {
  readonly mode: AuthMode;
  /** A short-lived access token, or undefined in cookie mode. */
  issueAccessToken(user: AuthData): Promise<string | undefined>;
  verifyAccessToken(token: string): Promise<AuthData | undefined>;
  issueSession(user: AuthData): Promise<string>;
  verifySession(token: string): Promise<AuthData | undefined>;
  readonly sessionMaxAgeSeconds: number;
  /** The public JWKS (jwks mode); empty otherwise. */
  readonly jwks: {keys: JWK[]};
};

export async function createTokenService(opts: {
  mode: AuthMode;
  /** HS256 key for access tokens in secret mode (the same value as ZERO_AUTH_SECRET). */
  authSecret: string;
  /** HS256 key for session cookies; never leaves the API server. */
  sessionSecret: string;
  accessTokenTtlSeconds: number;
}): Promise<TokenService> {
  const sessionKey = new TextEncoder().encode(opts.sessionSecret);
  const hsKey = new TextEncoder().encode(opts.authSecret);
  let esPrivate: CryptoKey | undefined;
  let esPublic: CryptoKey | undefined;
  const kid = `hello-${crypto.randomUUID().slice(0, 8)}`;
  const jwks: {keys: JWK[]} = {keys: []};
  if (opts.mode === 'jwks') {
    const pair = await generateKeyPair('ES256', {extractable: true});
    esPrivate = pair.privateKey;
    esPublic = pair.publicKey;
    jwks.keys.push({...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig'});
  }

  const toAuthData = (payload: {sub?: unknown; role?: unknown}): AuthData | undefined => {
    if (typeof payload.sub !== 'string') return undefined;
    const role: Role = payload.role === 'admin' ? 'admin' : 'member';
    return {sub: payload.sub, role};
  };

  return {
    mode: opts.mode,
    sessionMaxAgeSeconds: SESSION_TTL_SECONDS,
    jwks,
    async issueAccessToken(user) {
      const jwt = new SignJWT({role: user.role})
        .setSubject(user.sub)
        .setIssuedAt()
        .setExpirationTime(`${opts.accessTokenTtlSeconds}s`);
      switch (opts.mode) {
        case 'secret':
          return jwt.setProtectedHeader({alg: 'HS256'}).sign(hsKey);
        case 'jwks':
          return jwt.setProtectedHeader({alg: 'ES256', kid}).sign(esPrivate!);
        case 'cookie':
          return undefined;
      }
    },
    async verifyAccessToken(token) {
      try {
        if (opts.mode === 'secret') {
          const {payload} = await jwtVerify(token, hsKey, {algorithms: ['HS256']});
          return toAuthData(payload);
        }
        if (opts.mode === 'jwks') {
          const {payload} = await jwtVerify(token, esPublic!, {algorithms: ['ES256']});
          return toAuthData(payload);
        }
        return undefined;
      } catch {
        return undefined;
      }
    },
    issueSession(user) {
      return new SignJWT({role: user.role})
        .setProtectedHeader({alg: 'HS256'})
        .setSubject(user.sub)
        .setIssuedAt()
        .setExpirationTime(`${SESSION_TTL_SECONDS}s`)
        .sign(sessionKey);
    },
    async verifySession(token) {
      try {
        const {payload} = await jwtVerify(token, sessionKey, {algorithms: ['HS256']});
        return toAuthData(payload);
      } catch {
        return undefined;
      }
    },
  };
}
