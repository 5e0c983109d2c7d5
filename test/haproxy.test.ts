// The HAProxy harness with two real backends (HTTP and WebSocket): routing by clientGroupID,
// spread over backends, and failover when a backend stops.
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, describe, expect, test} from 'vitest';
import {WebSocket, WebSocketServer} from 'ws';
import {haproxyBinary, startHaproxy} from './haproxy.ts';
import type {Haproxy} from './haproxy.ts';

type Backend = {
  readonly name: string;
  port: number;
  /** Stops answering: health checks fail, WebSockets are closed. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Whether `/health` answers 200 (or 503); everything else keeps working either way. */
  healthy: boolean;
};

/** A tiny view syncer stand-in: says its name over HTTP and to each WebSocket. */
async function backend(name: string, port = 0): Promise<Backend> {
  let server: http.Server;
  let wss: WebSocketServer;
  const listen = async (p: number) => {
    server = http.createServer((req, res) => {
      const status = req.url === '/health' && !b.healthy ? 503 : 200;
      res.writeHead(status, {'content-type': 'text/plain', connection: 'close'}).end(name);
    });
    wss = new WebSocketServer({server});
    wss.on('connection', ws => ws.send(name));
    await new Promise<void>(r => server.listen(p, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };
  const b: Backend = {
    name,
    healthy: true,
    port: await listen(port),
    async stop() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>(r => server.close(() => r()));
      server.closeAllConnections();
    },
    async restart() {
      await listen(b.port);
    },
  };
  return b;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{lb: Haproxy; a: Backend; b: Backend}> {
  const a = await backend('a');
  cleanups.push(() => a.stop().catch(() => {}));
  const b = await backend('b');
  cleanups.push(() => b.stop().catch(() => {}));
  const lb = await startHaproxy({
    backends: [a, b].map(x => ({name: x.name, host: '127.0.0.1', port: x.port})),
    healthPath: '/health',
  });
  cleanups.push(() => lb.stop());
  await expect.poll(() => lb.states()).toEqual({a: 'UP', b: 'UP'});
  return {lb, a, b};
}

/** The name of the backend that answers a request for the group (one connection each). */
function who(lb: Haproxy, group: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const path = `/sync?clientGroupID=${encodeURIComponent(group)}`;
    http
      .get({host: '127.0.0.1', port: lb.port, path, agent: false}, res => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      })
      .once('error', reject);
  });
}

/** Opens a WebSocket for the group; resolves with the socket and the backend's name. */
function wsWho(lb: Haproxy, group: string): Promise<{ws: WebSocket; name: string}> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${lb.port}/sync?clientGroupID=${encodeURIComponent(group)}`,
    );
    ws.once('message', (d: Buffer) => resolve({ws, name: `200 ${d.toString()}`}));
    ws.once('error', reject);
  });
}

const GROUPS = Array.from({length: 40}, (_, i) => `group-${i}`);

async function mapping(lb: Haproxy): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const g of GROUPS) out.set(g, await who(lb, g));
  return out;
}

describe('HAProxy harness', () => {
  test('a group always reaches the same backend, over HTTP and WebSocket; groups spread', async () => {
    const {lb} = await setup();
    const first = await mapping(lb);
    expect(await mapping(lb)).toEqual(first);
    expect(await mapping(lb)).toEqual(first);
    const counts = {a: 0, b: 0};
    for (const v of first.values()) {
      expect(['200 a', '200 b']).toContain(v);
      counts[v === '200 a' ? 'a' : 'b']++;
    }
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.b).toBeGreaterThan(0);
    for (const g of GROUPS.slice(0, 10)) {
      const {ws, name} = await wsWho(lb, g);
      expect(name).toBe(first.get(g));
      ws.close();
    }
  });

  test('a stopped backend’s groups move to the other one, and come back when it does', async () => {
    const {lb, a} = await setup();
    const before = await mapping(lb);
    const onA = GROUPS.filter(g => before.get(g) === '200 a');
    const onB = GROUPS.filter(g => before.get(g) === '200 b');
    expect(onA.length).toBeGreaterThan(0);

    // A WebSocket on `a` is closed when `a` stops; its group reconnects to `b`.
    const {ws} = await wsWho(lb, onA[0]!);
    const closed = new Promise(r => ws.once('close', r));
    await a.stop();
    await closed;
    await expect.poll(() => lb.states()).toEqual({a: 'DOWN', b: 'UP'});
    for (const g of onA) expect(await who(lb, g)).toBe('200 b');
    for (const g of onB) expect(await who(lb, g)).toBe('200 b');
    const again = await wsWho(lb, onA[0]!);
    expect(again.name).toBe('200 b');
    again.ws.close();

    // Back up: consistent hashing returns exactly a's groups to it.
    await a.restart();
    await expect.poll(() => lb.states()).toEqual({a: 'UP', b: 'UP'});
    expect(await mapping(lb)).toEqual(before);
  });

  test('a backend that fails its health checks loses its WebSockets and its groups', async () => {
    const {lb, a} = await setup();
    const before = await mapping(lb);
    const onA = GROUPS.filter(g => before.get(g) === '200 a');
    const {ws} = await wsWho(lb, onA[0]!);
    const closed = new Promise(r => ws.once('close', r));
    // Still running and still holding the socket, but no longer healthy: haproxy cuts it.
    a.healthy = false;
    await expect.poll(() => lb.states()).toEqual({a: 'DOWN', b: 'UP'});
    await closed;
    for (const g of onA) expect(await who(lb, g)).toBe('200 b');
    a.healthy = true;
    await expect.poll(() => lb.states()).toEqual({a: 'UP', b: 'UP'});
    expect(await mapping(lb)).toEqual(before);
  });

  test('requests sent right after a backend stops never reach it and never hang', async () => {
    const {lb, a} = await setup();
    const before = await mapping(lb);
    const onA = GROUPS.filter(g => before.get(g) === '200 a');
    await a.stop();
    // Before the checks mark `a` down, a refused connection is retried and then redispatched
    // to `b`; a request still retrying when `a` is marked down is cut with a 502 (that is
    // what on-marked-down shutdown-sessions does), which a client answers by reconnecting.
    const early = await Promise.all(onA.map(g => who(lb, g)));
    for (const r of early)
      expect(['200 b', '502']).toContain(r.slice(0, r.startsWith('502') ? 3 : 5));
    await expect.poll(() => lb.states()).toEqual({a: 'DOWN', b: 'UP'});
    for (const g of onA) expect(await who(lb, g)).toBe('200 b');
  });

  test('reload adds a backend on the same port and moves only some groups to it', async () => {
    const {lb, a, b} = await setup();
    const before = await mapping(lb);
    const c = await backend('c');
    cleanups.push(() => c.stop().catch(() => {}));
    const port = lb.port;
    const pid = lb.pid;
    await lb.reload([a, b, c].map(x => ({name: x.name, host: '127.0.0.1', port: x.port})));
    expect(lb.port).toBe(port);
    expect(lb.pid).not.toBe(pid);
    await expect.poll(() => lb.states()).toEqual({a: 'UP', b: 'UP', c: 'UP'});
    const after = await mapping(lb);
    const moved = GROUPS.filter(g => after.get(g) !== before.get(g));
    expect(moved.length).toBeGreaterThan(0);
    // Consistent hashing: a group that moved, moved to the new backend.
    for (const g of moved) expect(after.get(g)).toBe('200 c');
  });

  test('bad options are refused', async () => {
    await expect(startHaproxy({backends: []})).rejects.toThrow(/at least one backend/);
    await expect(
      startHaproxy({backends: [{name: 'a b', host: '127.0.0.1', port: 1}]}),
    ).rejects.toThrow(/names/);
    await expect(
      startHaproxy({backends: [{name: 'a', host: '127.0.0.1\nx', port: 1}]}),
    ).rejects.toThrow(/host/);
    await expect(
      startHaproxy({backends: [{name: 'a', host: '127.0.0.1', port: 1}], healthPath: 'x'}),
    ).rejects.toThrow(/healthPath/);
  });

  test('a missing haproxy is named with its fix when this process may not install it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-haproxy-'));
    expect(() => haproxyBinary({dirs: [empty], uid: 1000})).toThrow(
      'Fix: run as root `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy`',
    );
    writeFileSync(join(empty, 'haproxy'), '#!/bin/sh\n');
    chmodSync(join(empty, 'haproxy'), 0o755);
    expect(haproxyBinary({dirs: [empty], uid: 1000})).toBe(join(empty, 'haproxy'));
  });
});
