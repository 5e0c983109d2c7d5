// The admin password check: HTTP Basic (any user name) or a Bearer token equal to
// ZERO_ADMIN_PASSWORD, compared in constant time (both sides hashed first, so neither the
// length nor a matching prefix shows in the time taken).
import {createHash, timingSafeEqual} from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The password an Authorization header carries, or undefined when it carries none. */
export function presentedPassword(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(Basic|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  if (m[1]!.toLowerCase() === 'bearer') return m[2];
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

export type PasswordCheck = (authorization: string | undefined) => boolean;

export function passwordCheck(password: string): PasswordCheck {
  const expected = digest(password);
  return authorization => {
    const given = presentedPassword(authorization);
    // A missing password is compared too: every refusal takes the same path.
    const ok = timingSafeEqual(digest(given ?? ''), expected);
    return ok && given !== undefined;
  };
}
