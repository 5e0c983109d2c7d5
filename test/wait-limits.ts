// Tests wait for conditions, never for a length of time, so the limit of such a wait only
// decides how long a broken test takes to fail. vitest's defaults (1 s for `vi.waitFor`;
// `expect.poll`'s is raised in vitest.config.ts) fail healthy tests on a loaded machine;
// here `vi.waitFor` gets the same 10 s unless a test gives its own limit.
import {vi} from 'vitest';

/** Default limit of `vi.waitFor` and `expect.poll` (ms). */
export const WAIT_LIMIT_MS = 10_000;

const waitFor = vi.waitFor.bind(vi);
vi.waitFor = (callback, options) =>
  waitFor(
    callback,
    typeof options === 'number'
      ? options
      : {...options, timeout: options?.timeout ?? WAIT_LIMIT_MS},
  );
