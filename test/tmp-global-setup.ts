// The test run's temporary files (replicas, clusters, scratch apps) go to a RAM-backed
// folder when the machine has one with room to spare: the suite creates and deletes
// thousands of small SQLite files, and on a busy disk that, not the code under test, is
// what it waits for. TMPDIR is set for the run (test workers inherit it); the folder is
// removed at the end. ZYNC_TEST_TMPDIR=disk keeps the system's temporary folder.
import {mkdtempSync, rmSync, statfsSync} from 'node:fs';
import {join} from 'node:path';

const RAM_DIR = '/dev/shm';
/** Room the folder must have free: the largest tests write a few hundred MB. */
const MIN_FREE_BYTES = 4 * 1024 ** 3;

function ramFree(): number {
  try {
    const s = statfsSync(RAM_DIR);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

export default function setup(): (() => void) | undefined {
  if (process.env['ZYNC_TEST_TMPDIR'] === 'disk' || ramFree() < MIN_FREE_BYTES) return undefined;
  const dir = mkdtempSync(join(RAM_DIR, 'zync-test-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(dir, {recursive: true, force: true});
  };
}
