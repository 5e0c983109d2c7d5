// The pokes a client group sends for its steps. See docs/view-syncer.md.
import type {CVR} from '../cvr/cvr.ts';
import type {StepPatch} from '../cvr/cvr-step.ts';
import {parseVersion} from '../cvr/cvr-version.ts';
import type {Metrics} from '../metrics/metrics.ts';
import type {GroupClients} from './group-clients.ts';
import {encodePokeFrame, type PokeMeta} from './poke-encoder.ts';

/** Numbers, encodes and sends a group's pokes (and reports their sizes). */
export class GroupPokes {
  readonly #cvr: () => CVR;
  readonly #clients: GroupClients;
  readonly #metrics: Metrics;
  #counter = 0;

  constructor(cvr: () => CVR, clients: GroupClients, metrics: Metrics) {
    this.#cvr = cvr;
    this.#clients = clients;
    this.#metrics = metrics;
  }

  nextID(): string {
    return `${this.#cvr().state.epoch}.${++this.#counter}`;
  }

  encode(
    baseVersion: string | null,
    patch: StepPatch,
    lastMutationIDChanges: Record<string, number> = {},
    pokeID = this.nextID(),
  ): string {
    const text = encodeStepPoke(this.#cvr(), pokeID, baseVersion, patch, lastMutationIDChanges);
    this.#metrics.poke(text);
    return text;
  }

  /** Sends one step to every connected client (if it changed anything they can see). */
  send(base: string, p: StepPatch, lmids: Record<string, number> = {}): void {
    if (this.#clients.size === 0 || isEmptyStep(p, lmids)) return;
    this.#clients.sendText(this.encode(base, p, lmids));
  }

  /** The poke that ends a step whose rows went ahead in parts: always sent, never cut off. */
  sendAfterParts(base: string, p: StepPatch, pokeID: string): void {
    this.#clients.sendText(this.encode(base, p, {}, pokeID), false);
  }
}

/** The poke frame of a step, from `baseVersion` to the CVR's current cookie. */
export function encodeStepPoke(
  cvr: CVR,
  pokeID: string,
  baseVersion: string | null,
  patch: StepPatch,
  lastMutationIDChanges: Record<string, number>,
): string {
  const meta: PokeMeta = {
    pokeID,
    baseVersion,
    version: cvr.cookie,
    gotQueries: patch.gotQueries,
    lastMutationIDChanges,
  };
  if (patch.queryErrors.length > 0) meta.queryErrors = patch.queryErrors;
  return encodePokeFrame(meta, patch.rows);
}

/** Whether a step changed nothing a client can see (then it gets no poke). */
export function isEmptyStep(p: StepPatch, lmids: Record<string, number>): boolean {
  return (
    p.rows.length === 0 &&
    p.gotQueries.length === 0 &&
    p.queryErrors.length === 0 &&
    Object.keys(lmids).length === 0
  );
}

/** The step a client's cookie stands for, or null when it cannot be served as a delta. */
export function servableSeq(cvr: CVR, baseVersion: string | null): number | null {
  if (baseVersion === null) return null;
  const v = parseVersion(baseVersion);
  if (!v || v.epoch !== cvr.state.epoch) return null;
  if (v.seq > cvr.state.seq || v.seq < cvr.state.horizon) return null;
  return v.seq;
}
