// The hello app's API server in its Zero 1.x form (Hono on Node). Auth is a session
// cookie only: zero-cache forwards it (ZERO_QUERY_FORWARD_COOKIES,
// ZERO_MUTATE_FORWARD_COOKIES) and each request's context is computed from it here, so
// what the page claims about its user never decides anything.
import type {Context as HonoContext} from 'hono';
import {Hono} from 'hono';
import pg from 'pg';
import {mustGetMutator, mustGetQuery} from 'zync';
import {handleMutateRequest, handleQueryRequest} from 'zync/server';
import {zeroNodePg} from 'zync/server/adapters/pg';
import {mutators} from '../shared-1x/mutators.ts';
import {queries} from '../shared-1x/queries.ts';
import type {Context} from '../shared-1x/schema.ts';
import {schema} from '../shared-1x/schema.ts';
import type {ApiServer} from './session-routes.ts';
import {addSessionRoutes, cookieCaller, listen} from './session-routes.ts';
import {createTokenService} from './tokens.ts';

export type Api1xOptions = {
  upstreamUrl: string;
  sessionSecret: string;
  /** zero-cache's port, told to the page (which connects to the same host name). */
  cachePort: number;
  port?: number | undefined;
  host?: string | undefined;
};

export async function startApi1xServer(opts: Api1xOptions): Promise<ApiServer> {
  const tokens = await createTokenService({
    mode: 'cookie',
    authSecret: '',
    sessionSecret: opts.sessionSecret,
    accessTokenTtlSeconds: 0,
  });
  const pool = new pg.Pool({connectionString: opts.upstreamUrl, max: 5});
  pool.on('error', () => {});
  const dbProvider = zeroNodePg(schema, pool);
  const stats = {logins: 0, refreshes: 0, pushes: 0, getQueries: 0};
  const app = new Hono();
  addSessionRoutes(app, {
    mode: 'cookie',
    cachePort: opts.cachePort,
    tokens,
    pool,
    stats,
    api: '1x',
  });

  /** The request's context; `false` when a cookie was sent but is not valid. */
  const contextOf = async (c: HonoContext): Promise<Context | false> => {
    const caller = await cookieCaller(c, tokens);
    if (caller === false) return false;
    return caller && {userID: caller.sub, role: caller.role};
  };

  app.post('/api/query', async c => {
    stats.getQueries++;
    const ctx = await contextOf(c);
    if (ctx === false) return c.json({error: 'invalid credentials'}, 401);
    return c.json(
      await handleQueryRequest({
        handler: (name, args) => mustGetQuery(queries, name).fn({args, ctx}),
        schema,
        request: c.req.raw,
        userID: ctx?.userID ?? null,
      }),
    );
  });

  app.post('/api/mutate', async c => {
    stats.pushes++;
    const ctx = await contextOf(c);
    if (ctx === false) return c.json({error: 'invalid credentials'}, 401);
    return c.json(
      await handleMutateRequest({
        dbProvider,
        handler: transact =>
          transact((tx, name, args) => mustGetMutator(mutators, name).fn({tx, args, ctx})),
        request: c.req.raw,
        userID: ctx?.userID ?? null,
      }),
    );
  });

  return listen(app, {pool, tokens, stats, port: opts.port, host: opts.host});
}
