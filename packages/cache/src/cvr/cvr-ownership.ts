// Which node holds a client group's CVR. Several view-syncer nodes share one CVR database;
// a group is served by one of them at a time. Loading a group takes it over: its
// `owner_epoch` goes up by one and the loader remembers the value. Every later write of
// the group is conditional on that value, so a node that lost the group (another node
// loaded it since) writes nothing more. See docs/cvr.md ("Ownership").
import {randomBytes} from 'node:crypto';
import {hostname} from 'node:os';

/** At most this many characters in a node id (it is stored with every group). */
const MAX_NODE_ID_LENGTH = 200;

/**
 * A CVR write (or release, or delete) was refused because another node loaded the group
 * after this one: nothing of it was written. The group must be dropped from memory here
 * and its clients sent to the node that holds it now.
 */
export class CVROwnershipLost extends Error {
  override readonly name = 'CVROwnershipLost';
  readonly groupID: string;

  constructor(groupID: string) {
    super('Another node took this client group over; this node no longer writes its CVR');
    this.groupID = groupID;
  }
}

export function isOwnershipLost(e: unknown): e is CVROwnershipLost {
  return e instanceof CVROwnershipLost;
}

let processNodeID: string | undefined;

/** A node id unique to this process: host, pid and a random part. */
export function defaultNodeID(): string {
  processNodeID ??= `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return processNodeID;
}

/** The node id to record as a group's owner; throws a TypeError naming the problem. */
export function checkNodeID(id: string): string {
  if (id.length === 0) {
    throw new TypeError('The CVR owner id (ZERO_TASK_ID) is empty; set a non-empty id or unset it');
  }
  if (id.length > MAX_NODE_ID_LENGTH || /[\u0000-\u001f]/.test(id)) {
    throw new TypeError(
      `The CVR owner id (ZERO_TASK_ID) must be at most ${MAX_NODE_ID_LENGTH} printable ` +
        'characters; choose a shorter id without control characters',
    );
  }
  return id;
}
