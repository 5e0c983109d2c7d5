import {expect, test} from 'vitest';
import {createLogger, formatJsonLogLine, formatLogLine, logLineFormatter} from './logger.ts';

test('a JSON line is one object with time, level, msg, component, then the fields', () => {
  const line = formatJsonLogLine('warn', 'Query slow', {
    component: 'view-syncer',
    hash: 'abc',
    ms: 12.5,
    ok: false,
    none: null,
    skipped: undefined,
  });
  expect(line).not.toContain('\n');
  const o = JSON.parse(line) as Record<string, unknown>;
  expect(Object.keys(o)).toEqual(['time', 'level', 'msg', 'component', 'hash', 'ms', 'ok', 'none']);
  expect(o).toMatchObject({level: 'warn', msg: 'Query slow', component: 'view-syncer', ms: 12.5});
  expect(new Date(o['time'] as string).toISOString()).toBe(o['time']);
});

test('a line without a component says zero-cache; fields named like the fixed ones are prefixed', () => {
  const o = JSON.parse(formatJsonLogLine('info', 'm', {level: 'x', time: 1, msg: 'y'})) as Record<
    string,
    unknown
  >;
  expect(o).toMatchObject({
    level: 'info',
    msg: 'm',
    component: 'zero-cache',
    'ctx.level': 'x',
    'ctx.time': 1,
    'ctx.msg': 'y',
  });
});

test('messages with newlines and quotes stay one parseable line', () => {
  const line = formatJsonLogLine('error', 'a\nb "c"', {error: 'x\ny'});
  expect(line.split('\n')).toHaveLength(1);
  expect(JSON.parse(line)).toMatchObject({msg: 'a\nb "c"', error: 'x\ny'});
});

test('logLineFormatter picks the format; a logger with it writes JSON lines', () => {
  expect(logLineFormatter('text')).toBe(formatLogLine);
  const lines: string[] = [];
  const fmt = logLineFormatter('json');
  const lc = createLogger('info', (l, m, c) => lines.push(fmt(l, m, c))).with({component: 'c'});
  lc.debug('hidden');
  lc.info('shown', {n: 1});
  expect(lines.map(l => JSON.parse(l) as unknown)).toEqual([
    expect.objectContaining({level: 'info', msg: 'shown', component: 'c', n: 1}),
  ]);
});
