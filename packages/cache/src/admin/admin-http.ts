// The admin endpoints on zero-cache's HTTP port (docs/operations.md): /metrics (Prometheus
// text), /admin (the status page), /admin/statz, /admin/history, /admin/groups/<id> and
// POST /admin/groups/<id>/drop. All of them need ZERO_ADMIN_PASSWORD; without one set they
// do not exist (404), with one set a request without it gets 401 whatever the path.
import {randomBytes} from 'node:crypto';
import type {IncomingMessage, ServerResponse} from 'node:http';
import type {Logger} from '@zync/shared';
import {passwordCheck} from './admin-auth.ts';
import type {AdminSource} from './admin-source.ts';
import {statusPage} from './status-page.ts';

export type AdminHttpOptions = {
  /** ZERO_ADMIN_PASSWORD; undefined turns every admin endpoint off. */
  readonly password: string | undefined;
  readonly source: AdminSource;
  readonly logger: Logger;
};

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, {...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8'})
    .end(JSON.stringify(body));
}

function isAdminPath(path: string): boolean {
  return path === '/metrics' || path === '/admin' || path.startsWith('/admin/');
}

/**
 * A state-changing request must come from the status page itself or from a tool (no
 * Origin): a page elsewhere must not use a browser's remembered Basic credentials.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export function adminHttpHandler(o: AdminHttpOptions): HttpHandler {
  const lc = o.logger.with({component: 'admin'});
  const password = o.password;
  if (password === undefined) return () => false;
  const allowed = passwordCheck(password);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!isAdminPath(path)) return false;
    if (!allowed(req.headers.authorization)) {
      lc.debug('Admin request without the right password', {path: path.slice(0, 100)});
      res
        .writeHead(401, {
          ...COMMON_HEADERS,
          'www-authenticate': 'Basic realm="zero-cache admin", charset="UTF-8"',
          'content-type': 'text/plain',
        })
        .end('Unauthorized');
      return true;
    }
    route(o.source, lc, req, res, path).catch((e: unknown) => {
      lc.warn('Admin request failed', {path: path.slice(0, 100), error: errorName(e)});
      if (!res.headersSent) json(res, 500, {error: 'internal'});
      else res.destroy();
    });
    return true;
  };
}

/** A path segment's client group ID (percent-decoded), undefined when malformed. */
function groupID(segment: string): string | undefined {
  try {
    const id = decodeURIComponent(segment);
    return id.length > 0 && id.length <= 1000 ? id : undefined;
  } catch {
    return undefined;
  }
}

const errorName = (e: unknown) => (e instanceof Error ? e.name : 'unknown');

async function route(
  source: AdminSource,
  lc: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const read = method === 'GET' || method === 'HEAD';
  const drop = /^\/admin\/groups\/([^/]+)\/drop$/.exec(path);
  if (drop) {
    if (method !== 'POST') {
      res.writeHead(405, {...COMMON_HEADERS, allow: 'POST'}).end();
      return;
    }
    if (!sameOrigin(req)) {
      json(res, 403, {error: 'cross-origin request refused'});
      return;
    }
    const id = groupID(drop[1]!);
    if (id === undefined) {
      json(res, 400, {error: 'malformed client group ID'});
      return;
    }
    const result = await source.dropGroup(id);
    lc.info('Client group dropped by an operator', {clientGroupID: id.slice(0, 200), ...result});
    json(res, 200, result);
    return;
  }
  if (!read) {
    res.writeHead(405, {...COMMON_HEADERS, allow: 'GET, HEAD'}).end();
    return;
  }
  if (path === '/metrics') {
    const m = await source.metrics();
    res.writeHead(200, {...COMMON_HEADERS, 'content-type': m.contentType}).end(m.text);
    return;
  }
  if (path === '/admin' || path === '/admin/') {
    const nonce = randomBytes(16).toString('base64');
    res
      .writeHead(200, {
        ...COMMON_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        // Nothing but this page's own script and style, and requests to this server.
        'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      })
      .end(statusPage(nonce));
    return;
  }
  if (path === '/admin/statz') {
    json(res, 200, await source.statz());
    return;
  }
  if (path === '/admin/history') {
    json(res, 200, await source.history());
    return;
  }
  const group = /^\/admin\/groups\/([^/]+)$/.exec(path);
  const id = group ? groupID(group[1]!) : undefined;
  if (id !== undefined) {
    const detail = await source.group(id);
    if (detail) json(res, 200, detail);
    else json(res, 404, {error: 'no such client group in memory here'});
    return;
  }
  json(res, 404, {error: 'not found'});
}
