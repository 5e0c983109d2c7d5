/**
 * Reads the `exp` claim of a JWT without verifying it (the server verifies). Returns epoch
 * ms, or undefined when the token is opaque or has no numeric `exp`.
 */
export function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) {
    return undefined;
  }
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const json = new TextDecoder().decode(Uint8Array.from(atob(padded), c => c.charCodeAt(0)));
    const payload: unknown = JSON.parse(json);
    if (payload && typeof payload === 'object' && 'exp' in payload) {
      const exp = payload.exp;
      return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
    }
  } catch {
    // Not a JWT: opaque tokens are never decoded further.
  }
  return undefined;
}
