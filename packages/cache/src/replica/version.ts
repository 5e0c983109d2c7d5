// Replica versions are derived from upstream commit LSNs: 16 zero-padded lowercase hex
// digits, so that plain string comparison orders them like the LSNs themselves.

/** What a replica version looks like. */
export const REPLICA_VERSION_RE = /^[0-9a-f]{16}$/;

/** Parses a Postgres LSN (`16/B374D848`) into a bigint. */
export function parseLsn(lsn: string): bigint {
  const slash = lsn.indexOf('/');
  if (slash < 0) {
    throw new TypeError('invalid LSN');
  }
  return (BigInt(`0x${lsn.slice(0, slash)}`) << 32n) | BigInt(`0x${lsn.slice(slash + 1)}`);
}

/** Formats a bigint LSN the way Postgres does (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The replica version for a commit LSN. */
export function lsnToVersion(lsn: bigint): string {
  return lsn.toString(16).padStart(16, '0');
}

/** The commit LSN a replica version was derived from. */
export function versionToLsn(version: string): bigint {
  return BigInt(`0x${version}`);
}
