// Runs every benchmark file (`bench/*.bench.ts` and `packages/**/*.bench.ts`) in its own
// process, one after another, so that they never compete for the two cores.
// Usage: npm run bench [-- <substring filter>]
import {spawnSync} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';

const root = join(import.meta.dirname, '..');
const filter = process.argv[2];

function find(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) find(path, out);
    else if (entry.endsWith('.bench.ts')) out.push(path);
  }
  return out;
}

const files = [...find(join(root, 'bench'), []), ...find(join(root, 'packages'), [])]
  .map(f => relative(root, f))
  .filter(f => !filter || f.includes(filter))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const res = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=zync-source', '--import', 'tsx', file],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (res.status !== 0) {
    failed++;
    console.log(`!!! ${file} exited with ${res.status}`);
  }
}
console.log(`\n${files.length} benchmark files, ${failed} failed`);
process.exit(failed ? 1 : 0);
