// Builds, once at start, what a token is verified against: the key (or key resolver) and
// the algorithms allowed for it. The allow-list follows the key type, so an HS token never
// meets a public key (algorithm confusion) and `none` is never allowed.
import type {JWK, JWTVerifyGetKey} from 'jose';
import type {Logger} from '@zync/shared';
import {ConfigError} from '../config/config-error.ts';
import {JwksCache} from './jwks-cache.ts';

export type AuthKeyConfig = {
  readonly authSecret?: string | undefined;
  readonly authJwk?: Readonly<Record<string, unknown>> | undefined;
  readonly authJwksUrl?: string | undefined;
};

export type VerifyKey = {
  readonly source: 'secret' | 'jwk' | 'jwks';
  readonly key: Uint8Array | JWK | JWTVerifyGetKey;
  readonly algorithms: readonly string[];
  /** Set for a JWKS URL. */
  readonly jwks?: JwksCache | undefined;
};

const HMAC = ['HS256', 'HS384', 'HS512'] as const;
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const EC_BY_CURVE: Readonly<Record<string, string>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
};
const ASYMMETRIC = [...RSA, 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export type VerifyKeyOptions = {
  readonly jwksCooldownMs?: number | undefined;
  readonly jwksMaxAgeMs?: number | undefined;
  readonly jwksTimeoutMs?: number | undefined;
  /** The JWKS cache's clock (default `Date.now`); tests drive the cooldown and max age with it. */
  readonly jwksNow?: (() => number) | undefined;
};

/** Returns undefined when no key is configured (opaque tokens). */
export function verifyKeyFromConfig(
  config: AuthKeyConfig,
  logger: Logger,
  options: VerifyKeyOptions = {},
): VerifyKey | undefined {
  const set = [config.authSecret, config.authJwk, config.authJwksUrl].filter(v => v !== undefined);
  if (set.length > 1) {
    throw new ConfigError(
      'conflict',
      'ZERO_AUTH_SECRET',
      'Set at most one of ZERO_AUTH_SECRET, ZERO_AUTH_JWK and ZERO_AUTH_JWKS_URL',
    );
  }
  if (config.authSecret !== undefined) {
    if (config.authSecret.length === 0) {
      throw new ConfigError('invalid', 'ZERO_AUTH_SECRET', 'ZERO_AUTH_SECRET must not be empty');
    }
    return {source: 'secret', key: hmacKeys(config.authSecret), algorithms: HMAC};
  }
  if (config.authJwk !== undefined) return fromJwk(config.authJwk);
  if (config.authJwksUrl !== undefined) {
    const jwks = new JwksCache({
      url: config.authJwksUrl,
      logger,
      cooldownMs: options.jwksCooldownMs,
      maxAgeMs: options.jwksMaxAgeMs,
      timeoutMs: options.jwksTimeoutMs,
      now: options.jwksNow,
    });
    return {source: 'jwks', key: jwks.getKey, algorithms: ASYMMETRIC, jwks};
  }
  return undefined;
}

/**
 * The secret imported once per HS algorithm (jose would re-import raw bytes on every
 * verification, about half of an HS256 check's cost). jose checks the header's `alg`
 * against the allow-list before it asks for the key.
 */
function hmacKeys(secret: string): JWTVerifyGetKey {
  const bytes = new TextEncoder().encode(secret);
  const keys = new Map<string, Promise<CryptoKey>>();
  return header => {
    const alg = header.alg ?? '';
    let key = keys.get(alg);
    if (!key) {
      key = crypto.subtle.importKey(
        'raw',
        bytes,
        {name: 'HMAC', hash: `SHA-${alg.slice(2)}`},
        false,
        ['verify'],
      );
      keys.set(alg, key);
    }
    return key;
  };
}

function fromJwk(raw: Readonly<Record<string, unknown>>): VerifyKey {
  const bad = (why: string) => new ConfigError('invalid', 'ZERO_AUTH_JWK', `ZERO_AUTH_JWK: ${why}`);
  if (PRIVATE_MEMBERS.some(m => m in raw)) {
    throw bad(
      raw.kty === 'oct'
        ? 'a symmetric key belongs in ZERO_AUTH_SECRET'
        : 'give the public key only (the private members must not be on the server)',
    );
  }
  const jwk = Object.freeze({...raw}) as JWK;
  let allowed: readonly string[];
  switch (jwk.kty) {
    case 'RSA':
      allowed = RSA;
      break;
    case 'EC': {
      const alg = EC_BY_CURVE[String(jwk.crv)];
      if (!alg) throw bad('unsupported EC curve');
      allowed = [alg];
      break;
    }
    case 'OKP':
      if (jwk.crv !== 'Ed25519') throw bad('only the Ed25519 OKP curve is supported');
      allowed = ['EdDSA', 'Ed25519'];
      break;
    default:
      throw bad('kty must be RSA, EC or OKP');
  }
  if (typeof jwk.alg === 'string') {
    if (!allowed.includes(jwk.alg)) throw bad('its alg does not fit its key type');
    allowed = [jwk.alg];
  }
  return {source: 'jwk', key: jwk, algorithms: allowed};
}
