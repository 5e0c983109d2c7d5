// The version a client holds is an opaque cookie `<epoch>:<seq>`. `seq` counts the CVR's
// steps for one client group; `epoch` is random per CVR lifetime, so a cookie issued by a
// CVR that was since reset (or lost, or taken over after a crash) never matches by accident.
import {randomBytes} from 'node:crypto';

export type CVRVersion = {readonly epoch: string; readonly seq: number};

export function newEpoch(): string {
  return randomBytes(6).toString('hex');
}

export function formatVersion(v: CVRVersion): string {
  return `${v.epoch}:${v.seq}`;
}

/** Parses a client's cookie; anything malformed is `undefined` (the client gets a reset). */
export function parseVersion(cookie: string): CVRVersion | undefined {
  const m = /^([0-9a-f]{1,64}):(\d{1,15})$/.exec(cookie);
  if (!m) return undefined;
  return {epoch: m[1] as string, seq: Number(m[2])};
}
