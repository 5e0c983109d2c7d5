// Turns a verification failure into a short, fixed reason. The reason goes to the client
// and into logs, so it is built only from our own words and claim names: never from the
// token, a claim value or a library message that could quote either.
import {errors} from 'jose';
import type {AuthFailureKind} from '../metrics/metrics.ts';

/** The metrics kind of a reason given by `rejectReason` or the authenticator. */
export function reasonKind(reason: string): AuthFailureKind {
  if (reason === 'token expired') return 'expired';
  if (reason === 'signature invalid') return 'bad_signature';
  if (reason === 'malformed token') return 'malformed';
  if (reason.includes('too large')) return 'too_large';
  if (reason.includes('sub')) return 'subject';
  if (/\((nbf|iat|iss|aud)\)|claim/.test(reason)) return 'claims';
  if (reason.startsWith('algorithm')) return 'algorithm';
  if (reason === 'no matching key' || reason === 'more than one key matches') {
    return 'no_matching_key';
  }
  if (reason.startsWith('key set')) return 'key_unavailable';
  return 'unverifiable';
}

export function rejectReason(e: unknown): string {
  if (!(e instanceof errors.JOSEError)) return 'token could not be verified';
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = e instanceof errors.JWTClaimValidationFailed ? e.claim : '';
      switch (claim) {
        case 'nbf':
          return 'token not yet valid (nbf)';
        case 'iat':
          return 'token issued in the future (iat)';
        case 'iss':
          return 'wrong issuer (iss)';
        case 'aud':
          return 'wrong audience (aud)';
        case 'sub':
          return 'token has no sub';
        default:
          return 'a claim failed validation';
      }
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'algorithm not supported';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed token';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no matching key';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'more than one key matches';
    case 'ERR_JWKS_TIMEOUT':
      return 'key set unavailable (timeout)';
    case 'ERR_JWKS_INVALID':
      return 'key set invalid';
    default:
      return 'token could not be verified';
  }
}
