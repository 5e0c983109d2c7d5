// The default Authenticator: verifies a connection's JWT against the configured key (built
// once at start), checks that its `sub` is the connection's userID, and returns its claims
// as the connection's authData. With no key configured, tokens are opaque: never decoded,
// only kept for forwarding to the API server. See docs/auth.md.
import {jwtVerify} from 'jose';
import type {JWTPayload} from 'jose';
import type {Logger, ReadonlyJSONValue} from '@zync/shared';
import type {AuthResult, Authenticator} from '../server/hooks.ts';
import {reasonKind, rejectReason} from './reject-reason.ts';
import {verifyKeyFromConfig} from './verify-key.ts';
import type {AuthKeyConfig, VerifyKeyOptions} from './verify-key.ts';

export type AuthConfig = AuthKeyConfig & {
  readonly authIssuer?: string | undefined;
  readonly authAudience?: string | undefined;
};

/** Clock skew allowed on `exp`, `nbf` and `iat`; a live connection is cut this long after `exp`. */
export const TOKEN_CLOCK_TOLERANCE_MS = 5_000;
/** Longest token accepted (the connect frame allows 64 KiB). */
export const MAX_TOKEN_CHARS = 32 * 1024;
/** Longest encoded JOSE header accepted: real headers are well under 1 KiB. */
export const MAX_HEADER_CHARS = 2 * 1024;

export type AuthenticatorOptions = VerifyKeyOptions;

const ANONYMOUS: AuthResult = Object.freeze({
  ok: true,
  authData: Object.freeze({}),
  tokenExpiresAt: null,
});

function rejected(reason: string): AuthResult {
  return {
    ok: false,
    kind: 'AuthInvalidated',
    message: `Token rejected: ${reason}`,
    reason: reasonKind(reason),
  };
}

export function createAuthenticator(
  config: AuthConfig,
  logger: Logger,
  options: AuthenticatorOptions = {},
): Authenticator {
  const lc = logger.with({component: 'auth'});
  const verifyKey = verifyKeyFromConfig(config, lc, options);
  if (!verifyKey) {
    lc.info('No auth key configured: tokens are opaque (forwarded, never decoded)');
    return connect =>
      Promise.resolve(
        connect.auth ? {ok: true, authData: Object.freeze({}), tokenExpiresAt: null} : ANONYMOUS,
      );
  }
  lc.info('Verifying tokens', {
    source: verifyKey.source,
    algorithms: verifyKey.algorithms.join(','),
  });
  const verifyOptions = {
    algorithms: [...verifyKey.algorithms],
    clockTolerance: TOKEN_CLOCK_TOLERANCE_MS / 1000,
    ...(config.authIssuer !== undefined ? {issuer: config.authIssuer} : {}),
    ...(config.authAudience !== undefined ? {audience: config.authAudience} : {}),
  };

  const fail = (reason: string, userID: string): AuthResult => {
    lc.info('Token rejected', {reason, userID});
    return rejected(reason);
  };

  return async connect => {
    const token = connect.auth;
    if (token === undefined || token === '') return ANONYMOUS;
    if (token.length > MAX_TOKEN_CHARS) return fail('token too large', connect.userID);
    const dot = token.indexOf('.');
    if ((dot < 0 ? token.length : dot) > MAX_HEADER_CHARS) {
      return fail('token header too large', connect.userID);
    }
    let payload: JWTPayload;
    try {
      ({payload} = await jwtVerify(token, verifyKey.key, verifyOptions));
    } catch (e) {
      return fail(rejectReason(e), connect.userID);
    }
    // jose checks `iat` only against a maximum age; a token stamped as issued later than
    // now (beyond the skew) was minted by a wrong clock or is forged to outlive its issuer.
    if (
      typeof payload.iat === 'number' &&
      payload.iat * 1000 > Date.now() + TOKEN_CLOCK_TOLERANCE_MS
    ) {
      return fail('token issued in the future (iat)', connect.userID);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      return fail('token has no sub', connect.userID);
    }
    if (payload.sub !== connect.userID) {
      return fail('token sub does not match userID', connect.userID);
    }
    const tokenExpiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : null;
    lc.debug('Token accepted', {userID: connect.userID, tokenExpiresAt});
    return {
      ok: true,
      authData: Object.freeze(payload as Record<string, ReadonlyJSONValue>),
      tokenExpiresAt,
      identity: payload.sub,
    };
  };
}
