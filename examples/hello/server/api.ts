// The hello app's API server (Hono on Node): login, token refresh, JWKS, and the two
// endpoints zero-cache calls: push (custom mutators) and get-queries (synced queries).
import {serve} from '@hono/node-server';
import type {Context} from 'hono';
import {Hono} from 'hono';
import {deleteCookie, getCookie, setCookie} from 'hono/cookie';
import pg from 'pg';
import {withValidation} from 'zync';
import {handleGetQueriesRequest, PushProcessor, zeroNodePg} from 'zync/server';
import {createMutators} from '../shared/mutators.ts';
import {auditLog, issues, users} from '../shared/queries.ts';
import type {AuthData, Role} from '../shared/schema.ts';
import {schema} from '../shared/schema.ts';
import type {AuthMode, TokenService} from './tokens.ts';
import {createTokenService, SESSION_COOKIE} from './tokens.ts';

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

export type ApiServer = {
  readonly url: string;
  readonly port: number;
  readonly tokens: TokenService;
  /** Counters a test can read. */
  readonly stats: {logins: number; refreshes: number; pushes: number; getQueries: number};
  close(): Promise<void>;
};

const validated = {
  issues: withValidation(issues),
  users: withValidation(users),
  auditLog: withValidation(auditLog),
};

export function createApiApp(opts: ApiOptions, tokens: TokenService, pool: pg.Pool) {
  const processor = new PushProcessor(zeroNodePg(schema, pool));
  const stats = {logins: 0, refreshes: 0, pushes: 0, getQueries: 0};
  const app = new Hono();

  const sessionOf = async (c: Context): Promise<AuthData | undefined> => {
    const cookie = getCookie(c, SESSION_COOKIE);
    return cookie === undefined ? undefined : tokens.verifySession(cookie);
  };

  /**
   * Who is calling push/get-queries: from the forwarded cookie in cookie mode, from the
   * Bearer token otherwise. `false`: credentials were sent but are not valid (401).
   */
  const callerOf = async (c: Context): Promise<AuthData | undefined | false> => {
    if (opts.mode === 'cookie') {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie === undefined) return undefined;
      return (await tokens.verifySession(cookie)) ?? false;
    }
    const header = c.req.header('authorization');
    if (header === undefined) return undefined;
    const m = /^Bearer (.+)$/.exec(header);
    if (!m) return false;
    return (await tokens.verifyAccessToken(m[1]!)) ?? false;
  };

  const loadUser = async (id: string) => {
    const {rows} = await pool.query<{id: string; name: string; role: Role}>(
      'SELECT id, name, role FROM users WHERE id = $1',
      [id],
    );
    return rows[0];
  };

  const loginReply = async (c: Context, auth: AuthData) => {
    const user = await loadUser(auth.sub);
    if (!user) return c.json({error: 'unknown user'}, 401);
    const token = await tokens.issueAccessToken({sub: user.id, role: user.role});
    return c.json({user, ...(token === undefined ? {} : {token})});
  };

  app.get('/api/config', c => c.json({mode: opts.mode, cachePort: opts.cachePort}));

  app.get('/api/users', async c => {
    const {rows} = await pool.query('SELECT id, name, role FROM users ORDER BY name');
    return c.json(rows);
  });

  app.post('/api/login', async c => {
    const body: {userID?: unknown} = await c.req.json();
    if (typeof body.userID !== 'string') return c.json({error: 'userID required'}, 400);
    const user = await loadUser(body.userID);
    if (!user) return c.json({error: 'unknown user'}, 401);
    stats.logins++;
    const session = await tokens.issueSession({sub: user.id, role: user.role});
    setCookie(c, SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: tokens.sessionMaxAgeSeconds,
    });
    return loginReply(c, {sub: user.id, role: user.role});
  });

  // The current session (after a reload) and, outside cookie mode, a fresh access token.
  app.post('/api/refresh', async c => {
    const auth = await sessionOf(c);
    if (!auth) return c.json({error: 'not logged in'}, 401);
    stats.refreshes++;
    return loginReply(c, auth);
  });

  app.post('/api/logout', c => {
    deleteCookie(c, SESSION_COOKIE, {path: '/'});
    return c.json({ok: true});
  });

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
  const host = opts.host ?? '127.0.0.1';
  const {server, port} = await new Promise<{server: ReturnType<typeof serve>; port: number}>(
    resolve => {
      const s = serve({fetch: app.fetch, port: opts.port ?? 0, hostname: host}, info =>
        resolve({server: s, port: info.port}),
      );
    },
  );
  return {
    url: `http://${host}:${port}`,
    port,
    tokens,
    stats,
    async close() {
      await new Promise<void>(resolve => {
        (server as {closeAllConnections?: () => void}).closeAllConnections?.();
        server.close(() => resolve());
      });
      await pool.end();
    },
  };
}
