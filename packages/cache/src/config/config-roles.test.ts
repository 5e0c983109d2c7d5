// ZERO_ROLE and the settings of zero-cache on several nodes: defaults, and combinations that
// cannot work refused with one line that names the fix.
import {expect, test} from 'vitest';
import {parseConfig} from './parse-config.ts';
import {parseErrorOf as errorOf} from '../../test/config-errors.ts';

const base = {ZERO_UPSTREAM_DB: 'postgres://u:hunter2@db.example:5432/app'};
const secret = {ZERO_ADMIN_PASSWORD: 'correct horse battery staple'};
const viewSyncer = {
  ...base,
  ...secret,
  ZERO_ROLE: 'view-syncer',
  ZERO_CHANGE_STREAMER_URI: 'http://manager:4849',
};

test('defaults: role all, streamer port ZERO_PORT + 1, a unique task id, 60 s node timeout', () => {
  const c = parseConfig(base);
  expect(c.role).toBe('all');
  expect(c.changeStreamerUri).toBeUndefined();
  expect(c.changeStreamerPort).toBe(4849);
  expect(c.changeLogNodeTimeoutSeconds).toBe(60);
  expect(c.taskId).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]*-\d+-[0-9a-f]{8}$/);
  expect(c.taskId).toContain(`-${process.pid}-`);
  expect(parseConfig(base).taskId).not.toBe(c.taskId);
  expect(parseConfig({...base, ZERO_PORT: '5000'}).changeStreamerPort).toBe(5001);
});

test('the three roles with what each needs', () => {
  const m = parseConfig({...base, ...secret, ZERO_ROLE: 'replication-manager'});
  expect(m.role).toBe('replication-manager');
  expect(m.changeStreamerPort).toBe(4849);
  const v = parseConfig({...viewSyncer, ZERO_TASK_ID: 'vs-1.eu:a_b'});
  expect(v).toMatchObject({
    role: 'view-syncer',
    changeStreamerUri: 'http://manager:4849',
    taskId: 'vs-1.eu:a_b',
  });
  const e = parseConfig({
    ...base,
    ...secret,
    ZERO_ROLE: 'replication-manager',
    ZERO_PORT: '6000',
    ZERO_CHANGE_STREAMER_PORT: '7000',
    ZERO_CHANGE_LOG_NODE_TIMEOUT_SECONDS: '5',
    ZERO_CHANGE_DB: 'postgres://x@changes.example/log',
  });
  expect(e).toMatchObject({
    changeStreamerPort: 7000,
    changeLogNodeTimeoutSeconds: 5,
    changeDb: 'postgres://x@changes.example/log',
  });
  // One env file for every node: the manager ignores the URI meant for the view-syncers.
  expect(
    parseConfig({...viewSyncer, ZERO_ROLE: 'replication-manager', ZERO_CHANGE_STREAMER_PORT: '9'})
      .role,
  ).toBe('replication-manager');
});

test('a bad role or task id names the variable and what it needs', () => {
  expect(errorOf({...base, ZERO_ROLE: 'manager'}).message).toBe(
    'ZERO_ROLE must be one of all, replication-manager, view-syncer, got "manager"',
  );
  for (const bad of ['-x', 'a b', 'a/b', 'x'.repeat(129)]) {
    const e = errorOf({...base, ZERO_TASK_ID: bad});
    expect(e.variable).toBe('ZERO_TASK_ID');
    expect(e.message).toMatch(/^ZERO_TASK_ID must be letters, digits/);
  }
  expect(errorOf({...viewSyncer, ZERO_CHANGE_STREAMER_URI: 'ws://manager:4849'}).message).toBe(
    'ZERO_CHANGE_STREAMER_URI must be an http:// or https:// URL, got "ws://manager:4849"',
  );
  expect(errorOf({...base, ZERO_CHANGE_LOG_NODE_TIMEOUT_SECONDS: '0'}).variable).toBe(
    'ZERO_CHANGE_LOG_NODE_TIMEOUT_SECONDS',
  );
});

test('the non-all roles fail closed without ZERO_ADMIN_PASSWORD, in one line', () => {
  for (const role of ['replication-manager', 'view-syncer']) {
    const e = errorOf({
      ...base,
      ZERO_ROLE: role,
      ZERO_CHANGE_STREAMER_URI: 'http://manager:4849',
    });
    expect(e.kind).toBe('missing');
    expect(e.variable).toBe('ZERO_ADMIN_PASSWORD');
    expect(e.message).toBe(
      `ZERO_ADMIN_PASSWORD is required with ZERO_ROLE=${role}: it authenticates replica snapshot downloads between nodes; set the same long random secret on every node`,
    );
    expect(e.message).not.toContain('\n');
  }
});

test('combinations that cannot work are refused with the fix', () => {
  const noUri = errorOf({...base, ...secret, ZERO_ROLE: 'view-syncer'});
  expect(noUri).toMatchObject({kind: 'missing', variable: 'ZERO_CHANGE_STREAMER_URI'});
  expect(noUri.message).toMatch(/required with ZERO_ROLE=view-syncer: set it to the replication/);
  const uriOnAll = errorOf({...base, ZERO_CHANGE_STREAMER_URI: 'http://manager:4849'});
  expect(uriOnAll).toMatchObject({kind: 'conflict', variable: 'ZERO_CHANGE_STREAMER_URI'});
  expect(uriOnAll.message).toMatch(/set ZERO_ROLE=view-syncer .*or unset ZERO_CHANGE_STREAMER_URI/);
  const portOnAll = errorOf({...base, ZERO_CHANGE_STREAMER_PORT: '4849'});
  expect(portOnAll.message).toMatch(/set ZERO_ROLE=replication-manager, or unset/);
  const manager = {...base, ...secret, ZERO_ROLE: 'replication-manager'};
  const same = errorOf({...manager, ZERO_PORT: '5000', ZERO_CHANGE_STREAMER_PORT: '5000'});
  expect(same.message).toBe(
    'ZERO_CHANGE_STREAMER_PORT and ZERO_PORT are both 5000: the snapshot server needs a port of its own; set ZERO_CHANGE_STREAMER_PORT to another port',
  );
  expect(errorOf({...manager, ZERO_PORT: '65535'}).message).toMatch(
    /ZERO_PORT is 65535: set ZERO_CHANGE_STREAMER_PORT to a free port/,
  );
  // A view-syncer on port 65535 does not need the manager's port.
  expect(parseConfig({...viewSyncer, ZERO_PORT: '65535'}).role).toBe('view-syncer');
});
