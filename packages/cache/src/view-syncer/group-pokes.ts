// The pokes a client group sends for its steps. See docs/view-syncer.md.
import type {CVR} from '../cvr/cvr.ts';
import type {StepPatch} from '../cvr/cvr-step.ts';
import {parseVersion} from '../cvr/cvr-version.ts';
import {encodePokeFrame, type PokeMeta} from './poke-encoder.ts';

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
