import {expect, test} from 'vitest';
import {CONFIG_VARS} from './config-table.ts';
import {configHelp, parseConfig} from './parse-config.ts';
import {parseErrorOf as errorOf} from '../../test/config-errors.ts';

const base = {ZERO_UPSTREAM_DB: 'postgres://u:hunter2@db.example:5432/app'};

test('defaults, frozen result, derived databases', () => {
  const c = parseConfig(base);
  expect(c.port).toBe(4848);
  expect(c.host).toBe('0.0.0.0');
  expect(c.appId).toBe('zero');
  expect(c.logLevel).toBe('info');
  expect(c.getQueriesRevalidateSeconds).toBe(300);
  expect(c.cvrGarbageCollectionInactivityThresholdHours).toBe(48);
  expect(c.cvrGarbageCollectionInitialIntervalSeconds).toBe(60);
  expect(c.cvrGarbageCollectionInitialBatchSize).toBe(25);
  expect(c.mutateForwardCookies).toBe(false);
  expect(c.cvrDb).toBe(base.ZERO_UPSTREAM_DB);
  expect(c.changeDb).toBe(base.ZERO_UPSTREAM_DB);
  expect(Object.isFrozen(c)).toBe(true);
});

test('aliases and lists', () => {
  const c = parseConfig({
    ...base,
    ZERO_PUSH_URL: 'http://localhost:3000/push',
    ZERO_QUERY_URL: 'https://api.example/q',
    ZERO_ALLOWED_ORIGINS: 'http://a.example, http://b.example',
    ZERO_GET_QUERIES_FORWARD_COOKIES: 'true',
  });
  expect(c.mutateUrl).toBe('http://localhost:3000/push');
  expect(c.getQueriesUrl).toBe('https://api.example/q');
  expect(c.allowedOrigins).toEqual(['http://a.example', 'http://b.example']);
  expect(c.getQueriesForwardCookies).toBe(true);
});

test('invalid values name the variable and what it needs', () => {
  expect(errorOf({...base, ZERO_PORT: '70000'}).message).toBe(
    'ZERO_PORT must be an integer between 1 and 65535, got "70000"',
  );
  expect(errorOf({...base, ZERO_APP_ID: 'My-App'}).message).toMatch(
    /^ZERO_APP_ID must be lowercase/,
  );
  expect(errorOf({...base, ZERO_LOG_LEVEL: 'loud'}).message).toMatch(
    /ZERO_LOG_LEVEL must be one of debug/,
  );
  expect(errorOf({...base, ZERO_MUTATE_URL: 'ftp://x'}).message).toMatch(
    /ZERO_MUTATE_URL must be an http/,
  );
  expect(errorOf({...base, ZERO_MUTATE_FORWARD_COOKIES: 'yes'}).kind).toBe('invalid');
  expect(errorOf({...base, ZERO_GET_QUERIES_REVALIDATE_SECONDS: '0'}).variable).toBe(
    'ZERO_GET_QUERIES_REVALIDATE_SECONDS',
  );
  expect(
    parseConfig({
      ...base,
      ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS: '0.5',
      ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE: '0',
    }),
  ).toMatchObject({
    cvrGarbageCollectionInactivityThresholdHours: 0.5,
    cvrGarbageCollectionInitialBatchSize: 0,
  });
  for (const bad of ['0', '-1', 'soon', '1e3']) {
    expect(
      errorOf({...base, ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS: bad}).message,
    ).toBe(
      `ZERO_CVR_GARBAGE_COLLECTION_INACTIVITY_THRESHOLD_HOURS must be a positive number, got ${JSON.stringify(bad)}`,
    );
  }
  expect(errorOf({...base, ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE: '-1'}).message).toBe(
    'ZERO_CVR_GARBAGE_COLLECTION_INITIAL_BATCH_SIZE must be an integer of 0 or more, got "-1"',
  );
  const missing = errorOf({});
  expect(missing.kind).toBe('missing');
  expect(missing.message).toMatch(/^ZERO_UPSTREAM_DB is required/);
});

test('secrets are never echoed', () => {
  const e1 = errorOf({ZERO_UPSTREAM_DB: 'mysql://u:hunter2@x/db'});
  expect(e1.message).toMatch(/ZERO_UPSTREAM_DB must be a postgres/);
  expect(e1.message).not.toContain('hunter2');
  const e2 = errorOf({...base, ZERO_AUTH_JWK: 'not json hunter2'});
  expect(e2.message).not.toContain('hunter2');
});

test('at most one auth key setting', () => {
  const e = errorOf({...base, ZERO_AUTH_SECRET: 's3cret', ZERO_AUTH_JWKS_URL: 'https://x/jwks'});
  expect(e.kind).toBe('conflict');
  expect(e.message).toContain('ZERO_AUTH_SECRET and ZERO_AUTH_JWKS_URL');
  expect(e.message).not.toContain('s3cret');
  expect(errorOf({...base, ZERO_MUTATE_URL: 'http://a', ZERO_PUSH_URL: 'http://b'}).kind).toBe(
    'conflict',
  );
});

test('help lists every variable with its default', () => {
  const help = configHelp();
  for (const v of CONFIG_VARS) expect(help).toContain(v.env);
  expect(help).toContain('[default: 4848]');
  expect(help).toContain('ZERO_PUSH_URL');
});

test('Zero 1.x names of the query endpoint settings are aliases', () => {
  const c = parseConfig({
    ...base,
    ZERO_QUERY_URL: 'https://api.example/query',
    ZERO_QUERY_API_KEY: 'k1',
    ZERO_QUERY_FORWARD_COOKIES: 'true',
  });
  expect(c.getQueriesUrl).toBe('https://api.example/query');
  expect(c.getQueriesApiKey).toBe('k1');
  expect(c.getQueriesForwardCookies).toBe(true);
  const e = errorOf({...base, ZERO_GET_QUERIES_API_KEY: 'k1', ZERO_QUERY_API_KEY: 'hunter2'});
  expect(e.kind).toBe('conflict');
  expect(e.message).not.toContain('hunter2');
  expect(errorOf({...base, ZERO_QUERY_FORWARD_COOKIES: 'yes'}).variable).toBe(
    'ZERO_GET_QUERIES_FORWARD_COOKIES',
  );
  expect(configHelp()).toContain('ZERO_GET_QUERIES_API_KEY (alias ZERO_QUERY_API_KEY)');
});
