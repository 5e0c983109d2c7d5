// The `analyze-query` command: how zero-cache's replica answers one query (statements,
// plans, rows read and synced, time, missing indexes). See docs/analyze-query.md.
// `--help` and the peer check come first and load only what they need.
import {missingPeersHint} from './peers.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  const {USAGE} = await import('../analyze/cli-options.ts');
  process.stdout.write(`${USAGE}\n`);
} else {
  const hint = missingPeersHint();
  if (hint !== undefined) {
    process.stderr.write(`analyze-query: ${hint}\n`);
    process.exitCode = 1;
  } else {
    const {runAnalyzeQuery} = await import('../analyze/cli.ts');
    process.exitCode = await runAnalyzeQuery(argv, process.env, {
      out: t => process.stdout.write(t),
      err: t => process.stderr.write(t),
    });
  }
}
