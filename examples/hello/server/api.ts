// The hello app's API server (Hono on Node): login, token refresh, JWKS, and the two
// endpoints zero-cache calls: push (custom mutators) and get-queries (synced queries).
import type {Context} from 'hono';
import {Hono} from 'hono';
import pg from 'pg';
import {withValidation} from 'zync';
import {handleGetQueriesRequest, PushProcessor, zeroNodePg} from 'zync/server';
import {createMutators} from '../shared/mutators.ts';
import {auditLog, issues, users} from '../shared/queries.ts';
import type {AuthData} from '../shared/schema.ts';
import {schema} from '../shared/schema.ts';
import type {ApiServer} from './session-routes.ts';
import {addSessionRoutes, cookieCaller, listen} from './session-routes.ts';
import type {AuthMode, TokenService} from './tokens.ts';
import {createTokenService} from './tokens.ts';

export type ApiOptions = {
  upstreamUrl: string;
  mode: AuthMode;
  authSecret: string;
  sessionSecret: string;
  /** Lifetime of access tokens; short, so that the client's refresh is exercised. */
  accessTokenTtlSeconds?: number | undefined;
  /** zero-cache's port, told to the page (which connects to the same host name). */
  cachePort: number;
  port?: number | undefined;
  host?: string | undefined;
};

export type {ApiServer};

const validated = {
  issues: withValidation(issues),
  users: withValidation(users),
  auditLog: withValidation(auditLog),
};

export function createApiApp(opts: ApiOptions, tokens: TokenService, pool: pg.Pool) {
  const processor = new PushProcessor(zeroNodePg(schema, pool));
  const stats = {logins: 0, refreshes: 0, pushes: 0, getQueries: 0};
  const app = new Hono();

  addSessionRoutes(app, {mode: opts.mode, cachePort: opts.cachePort, tokens, pool, stats});

  /**
   * Who is calling push/get-queries: from the forwarded cookie in cookie mode, from the
   * Bearer token otherwise. `false`: credentials were sent but are not valid (401).
   */
  const callerOf = async (c: Context): Promise<AuthData | undefined | false> => {
    if (opts.mode === 'cookie') return cookieCaller(c, tokens);
    const header = c.req.header('authorization');
    if (header === undefined) return undefined;
    const m = /^Bearer (.+)$/.exec(header);
    if (!m) return false;
    return (await tokens.verifyAccessToken(m[1]!)) ?? false;
  };

  app.get('/.well-known/jwks.json', c => c.json(tokens.jwks));

  app.post('/api/push', async c => {
    stats.pushes++;
    const caller = await callerOf(c);
    if (caller === false) return c.json({error: 'invalid credentials'}, 401);
    return c.json(await processor.process(createMutators(caller) as never, c.req.raw));
  });

  app.post('/api/get-queries', async c => {
    stats.getQueries++;
    const caller = await callerOf(c);
    if (caller === false) return c.json({error: 'invalid credentials'}, 401);
    return c.json(
      await handleGetQueriesRequest(
        (name, args) => {
          switch (name) {
            case 'issues':
              return {query: validated.issues(caller, ...args)};
            case 'users':
              return {query: validated.users(caller, ...args)};
            case 'auditLog':
              return {query: validated.auditLog(caller, ...args)};
            default:
              return undefined;
          }
        },
        schema,
        c.req.raw,
      ),
    );
  });

  return {app, stats};
}

export async function startApiServer(opts: ApiOptions): Promise<ApiServer> {
  const tokens = await createTokenService({
    mode: opts.mode,
    authSecret: opts.authSecret,
    sessionSecret: opts.sessionSecret,
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 120,
  });
  const pool = new pg.Pool({connectionString: opts.upstreamUrl, max: 5});
  pool.on('error', () => {});
  const {app, stats} = createApiApp(opts, tokens, pool);
  return listen(app, {pool, tokens, stats, port: opts.port, host: opts.host});
}
