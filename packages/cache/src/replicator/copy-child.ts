// The initial-copy child's entry point (started by copyInChildProcess): receives one job over
// the IPC channel, copies, reports, and exits.
import {createLogger} from '@zync/shared';
import {safeErrorMessage} from '../pg/redact-url.ts';
import {copyAll} from './copy-process.ts';
import type {CopyJob, FromChild} from './copy-process.ts';

if (process.env['ZYNC_COPY_CHILD'] === '1' && process.send) {
  const send = (m: FromChild) => process.send!(m);
  const lc = createLogger('debug', (level, msg, ctx) => send({type: 'log', level, msg, ctx}));
  let finished = false;
  // a parent that dies (even by SIGKILL) closes the channel: never copy for nobody
  process.once('disconnect', () => {
    if (!finished) process.exit(1);
  });
  process.once('message', (job: CopyJob) => {
    copyAll(job, lc).then(
      summary => {
        finished = true;
        send({type: 'done', summary});
        process.disconnect();
      },
      (e: unknown) => {
        finished = true;
        process.exitCode = 1;
        send({type: 'failed', message: safeErrorMessage(e), code: (e as {code?: string}).code});
        process.disconnect();
      },
    );
  });
}
