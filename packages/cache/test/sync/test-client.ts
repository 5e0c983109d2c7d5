// A WebSocket client for tests: records every frame, waits for frames by type.
import WebSocket from 'ws';
import type {ReadonlyJSONValue} from '@zync/shared';
import {
  decodeDownstream,
  PROTOCOL_VERSION,
  SYNC_PATH,
  type ConnectBody,
  type DownstreamFrame,
  type PokeBody,
  type UpstreamFrame,
} from '@zync/protocol';

/**
 * The frame with every `puts` op written as one `put` per row, so that tests compare rows
 * whatever run they were encoded in (the encoder has its own tests).
 */
function expandPuts(frame: DownstreamFrame): DownstreamFrame {
  if (frame[0] !== 'poke' && frame[0] !== 'pokePart') return frame;
  const body = frame[1];
  if (!body.rows.some(r => r.op === 'puts')) return frame;
  const rows: PokeBody['rows'] = [];
  for (const r of body.rows) {
    if (r.op !== 'puts') {
      rows.push(r);
      continue;
    }
    for (const values of r.values) {
      const value: Record<string, ReadonlyJSONValue> = {};
      r.columns.forEach((c, i) => (value[c] = values[i] as ReadonlyJSONValue));
      rows.push({op: 'put', table: r.table, value});
    }
  }
  return frame[0] === 'poke' ? ['poke', {...frame[1], rows}] : ['pokePart', {...frame[1], rows}];
}

type Waiter = {pred: (f: DownstreamFrame) => boolean; resolve: (f: DownstreamFrame) => void};

export class TestClient {
  readonly ws: WebSocket;
  readonly frames: DownstreamFrame[] = [];
  readonly closed: Promise<{code: number; reason: string}>;
  #seen = 0;
  #waiters: Waiter[] = [];
  /** The version of the last poke applied, as a client would track it. */
  version: string | null = null;
  /** Rows of `pokePart` frames waiting for their poke. */
  #partRows: {pokeID: string; rows: PokeBody['rows']} | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise(resolve => {
      ws.on('close', (code, reason) => resolve({code, reason: reason.toString()}));
    });
    ws.on('message', data => {
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      let frame = expandPuts(decodeDownstream(text));
      // A poke sent in parts is recorded as the parts and then the whole poke (parts' rows
      // first), as a client applies it.
      if (frame[0] === 'pokePart') {
        const part = frame[1];
        if (this.#partRows && this.#partRows.pokeID !== part.pokeID) {
          throw new Error('poke part of another poke');
        }
        this.#partRows ??= {pokeID: part.pokeID, rows: []};
        this.#partRows.rows.push(...part.rows);
      } else if (frame[0] === 'poke' && this.#partRows) {
        if (this.#partRows.pokeID !== frame[1].pokeID) throw new Error('poke after other parts');
        frame = ['poke', {...frame[1], rows: [...this.#partRows.rows, ...frame[1].rows]}];
        this.#partRows = undefined;
      }
      this.frames.push(frame);
      if (frame[0] === 'poke') this.version = frame[1].version;
      this.#waiters = this.#waiters.filter(w => {
        if (!w.pred(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    ws.on('error', () => {});
  }

  static open(port: number, path = SYNC_PATH): Promise<TestClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const c = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  send(frame: UpstreamFrame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  connect(body: Partial<ConnectBody> & Pick<ConnectBody, 'clientID' | 'clientGroupID'>): void {
    this.send([
      'connect',
      {
        protocolVersion: PROTOCOL_VERSION,
        userID: 'u1',
        baseVersion: null,
        lastMutationID: 0,
        desiredQueries: [],
        ...body,
      },
    ]);
  }

  /**
   * The next frame (not yet returned by `next`) of `type`; waits if none. The limit only
   * bounds how long a broken test takes to fail.
   */
  next<T extends DownstreamFrame[0]>(
    type: T,
    timeoutMs = 20_000,
  ): Promise<Extract<DownstreamFrame, [T, unknown]>> {
    const idx = this.frames.findIndex((f, i) => i >= this.#seen && f[0] === type);
    if (idx >= 0) {
      this.#seen = idx + 1;
      return Promise.resolve(this.frames[idx] as Extract<DownstreamFrame, [T, unknown]>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs);
      this.#waiters.push({
        pred: f => f[0] === type,
        resolve: f => {
          clearTimeout(timer);
          this.#seen = this.frames.length;
          resolve(f as Extract<DownstreamFrame, [T, unknown]>);
        },
      });
    });
  }

  async poke(timeoutMs = 20_000): Promise<PokeBody> {
    return (await this.next('poke', timeoutMs))[1];
  }

  /** Pokes received so far that `next` has not returned. */
  pendingPokes(): PokeBody[] {
    return this.frames
      .slice(this.#seen)
      .filter((f): f is ['poke', PokeBody] => f[0] === 'poke')
      .map(f => f[1]);
  }

  close(): Promise<{code: number; reason: string}> {
    this.ws.close();
    return this.closed;
  }
}
