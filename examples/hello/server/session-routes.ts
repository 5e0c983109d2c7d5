// What both forms of the hello API server share: login, the session after a reload,
// logout, the user list and the page's config, and listening on a port.
import {serve} from '@hono/node-server';
import type {Context, Hono} from 'hono';
import {deleteCookie, getCookie, setCookie} from 'hono/cookie';
import type pg from 'pg';
import type {AuthData, Role} from '../shared/schema.ts';
import type {AuthMode, TokenService} from './tokens.ts';
import {SESSION_COOKIE} from './tokens.ts';

export type ApiStats = {logins: number; refreshes: number; pushes: number; getQueries: number};

export type ApiServer = {
  readonly url: string;
  readonly port: number;
  readonly tokens: TokenService;
  /** Counters a test can read. */
  readonly stats: ApiStats;
  close(): Promise<void>;
};

/** The caller of a request from its session cookie; `false` when the cookie is not valid. */
export async function cookieCaller(
  c: Context,
  tokens: TokenService,
): Promise<AuthData | undefined | false> {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie === undefined) return undefined;
  return (await tokens.verifySession(cookie)) ?? false;
}

export function addSessionRoutes(
  app: Hono,
  o: {
    mode: AuthMode;
    cachePort: number;
    tokens: TokenService;
    pool: pg.Pool;
    stats: ApiStats;
    /** Told to the page, which picks its form from it. */
    api?: '1x' | undefined;
  },
): void {
  const {tokens, pool, stats} = o;
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

  app.get('/api/config', c =>
    c.json({mode: o.mode, cachePort: o.cachePort, ...(o.api ? {api: o.api} : {})}),
  );

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
    const auth = await cookieCaller(c, tokens);
    if (!auth) return c.json({error: 'not logged in'}, 401);
    stats.refreshes++;
    return loginReply(c, auth);
  });

  app.post('/api/logout', c => {
    deleteCookie(c, SESSION_COOKIE, {path: '/'});
    return c.json({ok: true});
  });
}

/** Serves the app on a port (0: any free one) and closes it with its pool. */
export async function listen(
  app: Hono,
  o: {
    pool: pg.Pool;
    tokens: TokenService;
    stats: ApiStats;
    port?: number | undefined;
    host?: string | undefined;
  },
): Promise<ApiServer> {
  const host = o.host ?? '127.0.0.1';
  const {server, port} = await new Promise<{server: ReturnType<typeof serve>; port: number}>(
    resolve => {
      const s = serve({fetch: app.fetch, port: o.port ?? 0, hostname: host}, info =>
        resolve({server: s, port: info.port}),
      );
    },
  );
  return {
    url: `http://${host}:${port}`,
    port,
    tokens: o.tokens,
    stats: o.stats,
    async close() {
      await new Promise<void>(resolve => {
        (server as {closeAllConnections?: () => void}).closeAllConnections?.();
        server.close(() => resolve());
      });
      await o.pool.end();
    },
  };
}
