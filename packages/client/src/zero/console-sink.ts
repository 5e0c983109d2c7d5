import type {LogSink} from '@zync/shared';

/** The client's default log sink: the browser console, which is where app developers look. */
export const consoleSink: LogSink = (level, msg, ctx) => {
  const args = Object.keys(ctx).length ? [msg, ctx] : [msg];
  // eslint-disable-next-line no-console -- the one place the client writes to the console
  console[level](...args);
};
