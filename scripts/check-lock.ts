// Fails when package-lock.json does not match the package.json files, i.e. when
// `npm install` in a fresh clone would rewrite it. The lock file is left as it was.
import {execFileSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

const lockFile = join(import.meta.dirname, '..', 'package-lock.json');
const before = readFileSync(lockFile, 'utf8');
try {
  execFileSync(
    'npm',
    ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'],
    {cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'ignore', 'inherit']},
  );
  const after = readFileSync(lockFile, 'utf8');
  if (after !== before) {
    process.stderr.write(
      'package-lock.json does not match package.json: run `npm install` and commit the lock file\n',
    );
    process.exitCode = 1;
  }
} finally {
  writeFileSync(lockFile, before);
}
