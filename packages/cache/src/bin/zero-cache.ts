// The `zero-cache` command. `--help` and the peer check come first and load only what they
// need, so they answer without loading the server.
import {missingPeersHint} from './peers.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  const {configHelp} = await import('../config/parse-config.ts');
  process.stdout.write(`${configHelp()}\n`);
} else {
  const hint = missingPeersHint();
  if (hint !== undefined) {
    process.stderr.write(`${hint}\n`);
    process.exitCode = 1;
  } else {
    await import('../main.ts');
  }
}
