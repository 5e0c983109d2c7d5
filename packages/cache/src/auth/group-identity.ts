// The identity a client group is bound to (group-pins.ts). The userID a client declares
// proves nothing; what does is a verified token. So a group is bound to:
// - `sub:<sub>` when the connection's token was verified (the default authenticator with a
//   ZERO_AUTH_* key, or a hook that returns `identity`); a refreshed token with the same
//   `sub` keeps the same identity;
// - `unverified:<userID>` when the connection carries a credential zero-cache cannot read
//   (an opaque token, or cookies it may forward to the API server, which alone checks
//   them): the declared userID is all there is, so a group made this way is only as safe
//   as its ID is secret. A tokenless, cookieless connection still cannot join it;
// - `anonymous` when the connection carries no credential at all.
import type {ConnectBody} from '@zync/protocol';

export const ANONYMOUS_IDENTITY = 'anonymous';

/** Who asks to join a group: the declared userID (for old pins) and the bound identity. */
export type GroupClaimant = {readonly userID: string; readonly identity: string};

export function groupIdentity(
  connect: Pick<ConnectBody, 'auth' | 'userID'>,
  verifiedSubject: string | undefined,
  cookie: string | undefined,
): string {
  if (verifiedSubject !== undefined) return `sub:${verifiedSubject}`;
  if (
    (connect.auth !== undefined && connect.auth !== '') ||
    (cookie !== undefined && cookie !== '')
  ) {
    return `unverified:${connect.userID}`;
  }
  return ANONYMOUS_IDENTITY;
}
