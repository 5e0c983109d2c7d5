export {
  createAuthenticator,
  MAX_HEADER_CHARS,
  MAX_TOKEN_CHARS,
  TOKEN_CLOCK_TOLERANCE_MS,
} from './authenticator.ts';
export type {AuthConfig, AuthenticatorOptions} from './authenticator.ts';
export {MemoryGroupPins, PgGroupPins} from './group-pins.ts';
export {ANONYMOUS_IDENTITY, groupIdentity} from './group-identity.ts';
export type {GroupClaimant} from './group-identity.ts';
export type {GroupPins} from './group-pins.ts';
export {JwksCache} from './jwks-cache.ts';
export type {JwksCacheOptions} from './jwks-cache.ts';
export {allowedOrigins, originCheck} from './origins.ts';
export type {OriginCheck, OriginConfig} from './origins.ts';
export {rejectReason} from './reject-reason.ts';
export {verifyKeyFromConfig} from './verify-key.ts';
export type {AuthKeyConfig, VerifyKey, VerifyKeyOptions} from './verify-key.ts';
