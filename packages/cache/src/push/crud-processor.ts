// CRUD mutations of one push, applied upstream in one transaction. Each mutation runs under
// its own SAVEPOINT: one that fails (constraint, missing row, permission) is rolled back
// alone and answered with an error, and the next still runs. The clients' last mutation ids
// are bumped in the same transaction, failed mutations included (they were processed: the
// client must drop them, not resend them forever).
import type pg from 'pg';
import {
  CRUD_MUTATION_NAME,
  crudOpSchema,
  ProtocolError,
  type CrudOp,
  type Mutation,
} from '@zync/protocol';
import {
  ensureClientsTable,
  inlineStatements,
  lastMutationIDsOf,
  lockLastMutationIDsSql,
  writeLastMutationIDsSql,
  type PgCatalog,
} from '@zync/pg';
import type {Logger} from '@zync/shared';
import * as v from 'valibot';
import {applyCrudOp, crudOpStatement, resolveTable} from './crud-ops.ts';
import {MutationFailure} from './push-failure.ts';
import type {MutationOutcome} from './push-types.ts';
import type {WriteAuthorizer} from './write-authorizer.ts';

const crudArgsSchema = v.tuple([v.strictObject({ops: v.array(crudOpSchema)})]);

export type CrudContext = {
  readonly clientGroupID: string;
  readonly authorizer: WriteAuthorizer;
  /** When set, every CRUD mutation is refused with this message (and still marked processed). */
  readonly refusal: string | undefined;
};

export type CrudProcessorOptions = {
  readonly db: pg.Pool;
  readonly catalog: PgCatalog;
  /** The schema of the `clients` table (last mutation ids), e.g. `zync_<appID>`. */
  readonly shardSchema: string;
  readonly logger: Logger;
};

export class CrudProcessor {
  readonly #o: CrudProcessorOptions;
  #clientsTable: Promise<void> | undefined;

  constructor(options: CrudProcessorOptions) {
    this.#o = options;
  }

  /** Creates the `clients` table when missing, once (outside any transaction). */
  #ensureClientsTable(): Promise<void> {
    if (!this.#clientsTable) {
      const {db, shardSchema} = this.#o;
      const p = ensureClientsTable(shardSchema, statement => db.query(statement));
      p.catch(() => {
        if (this.#clientsTable === p) this.#clientsTable = undefined; // tried again next push
      });
      this.#clientsTable = p;
    }
    return this.#clientsTable;
  }

  /**
   * Applies `mutations` (all CRUD, in the order pushed). Ids at or below the client's last
   * one are skipped (already processed: `alreadyProcessed`); an id past last + 1 is a protocol error
   * (ProtocolError 'InvalidMessage'), and then nothing of this call is applied.
   */
  async process(mutations: readonly Mutation[], ctx: CrudContext): Promise<MutationOutcome[]> {
    const {db, shardSchema} = this.#o;
    await this.#ensureClientsTable();
    const clientIDs = [...new Set(mutations.map(m => m.clientID))];
    if ([ctx.clientGroupID, ...clientIDs].some(id => id.includes('\u0000'))) {
      throw new ProtocolError('InvalidMessage', 'A client id contains a NUL character');
    }
    const client = await db.connect();
    let broken: unknown;
    try {
      // One round trip: BEGIN, and the clients' rows locked and read.
      const lock = lockLastMutationIDsSql(shardSchema, ctx.clientGroupID, clientIDs);
      const locked = await client.query(`BEGIN; ${inlineStatements(lock)}`);
      const lmids = lastMutationIDsOf(lastResult(locked).rows, clientIDs);
      const todo: Mutation[] = [];
      // Processed by an earlier push whose answer may have been lost: said so, so that the
      // client's promise for it settles.
      const outcomes: MutationOutcome[] = [];
      for (const m of mutations) {
        const last = lmids.get(m.clientID) ?? 0;
        if (m.id <= last) {
          outcomes.push({clientID: m.clientID, id: m.id, result: {type: 'alreadyProcessed'}});
          continue;
        }
        if (m.id > last + 1) {
          throw new ProtocolError(
            'InvalidMessage',
            `Mutation ${m.id} of client ${m.clientID} is out of order: expected ${last + 1}`,
          );
        }
        lmids.set(m.clientID, m.id);
        todo.push(m);
      }
      const write = writeLastMutationIDsSql(shardSchema, ctx.clientGroupID, lmids);
      const finish = `${inlineStatements(write)}; COMMIT`;
      const statements: (string[] | undefined)[] = [];
      for (const m of todo) statements.push(await this.#statements(client, m, ctx));
      let committed = false;
      for (let i = 0; i < todo.length;) {
        if (statements[i] === undefined) {
          outcomes.push(await this.#applyAlone(client, todo[i]!, ctx, i));
          i++;
          continue;
        }
        // Consecutive mutations that are plain statements go in one simple query, under one
        // savepoint; the last batch also carries the lmids and COMMIT. When the batch fails
        // (some mutation's error, or an update/delete of a missing row) it is rolled back
        // and its mutations are applied one by one, each under its own savepoint, which
        // tells the failing ones apart.
        let j = i;
        while (j < todo.length && statements[j] !== undefined) j++;
        const sp = `b${i}`;
        const last = j === todo.length;
        const sql = [`SAVEPOINT ${sp}`, ...statements.slice(i, j).flat()];
        if (last) sql.push(finish);
        try {
          await client.query(sql.join('; '));
          for (const m of todo.slice(i, j)) {
            outcomes.push({clientID: m.clientID, id: m.id, result: {type: 'ok'}});
          }
          committed = last;
        } catch (e) {
          if (typeof (e as {code?: unknown}).code !== 'string') throw e;
          try {
            await client.query(`ROLLBACK TO SAVEPOINT ${sp}`);
          } catch {
            throw e; // COMMIT itself failed: the transaction is gone
          }
          for (let k = i; k < j; k++) {
            outcomes.push(await this.#applyAlone(client, todo[k]!, ctx, k));
          }
        }
        i = j;
      }
      if (!committed) await client.query(finish);
      return outcomes;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      if (e instanceof ProtocolError) throw e;
      const code = (e as {code?: unknown}).code;
      throw new ProtocolError(
        'PushFailed',
        `The mutations could not be written upstream${typeof code === 'string' ? ` (SQLSTATE ${code})` : ''}`,
        {cause: e},
      );
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /**
   * The mutation's ops as statements with literal values, or undefined when it must go
   * through `#apply` (see `crudOpStatement`; also anything refused or malformed, so that
   * the error is produced in one place).
   */
  async #statements(
    client: pg.PoolClient,
    m: Mutation,
    ctx: CrudContext,
  ): Promise<string[] | undefined> {
    if (ctx.refusal !== undefined || m.name !== CRUD_MUTATION_NAME) return undefined;
    const args = v.safeParse(crudArgsSchema, m.args);
    if (!args.success) return undefined;
    const out: string[] = [];
    try {
      for (const op of args.output[0].ops) {
        const table = await resolveTable(client, this.#o.catalog, op);
        const sql = crudOpStatement(op, table, ctx.authorizer);
        if (sql === undefined) return undefined;
        out.push(sql);
      }
    } catch (e) {
      if (e instanceof MutationFailure) return undefined;
      throw e;
    }
    return out;
  }

  /** Applies one mutation under its own savepoint: a failure is rolled back alone. */
  async #applyAlone(
    client: pg.PoolClient,
    m: Mutation,
    ctx: CrudContext,
    n: number,
  ): Promise<MutationOutcome> {
    const sp = `m${n}`;
    await client.query(`SAVEPOINT ${sp}`);
    try {
      await this.#apply(client, m, ctx);
      await client.query(`RELEASE SAVEPOINT ${sp}`);
      return {clientID: m.clientID, id: m.id, result: {type: 'ok'}};
    } catch (e) {
      const failure = toFailure(e);
      if (!failure) throw e;
      await client.query(`ROLLBACK TO SAVEPOINT ${sp}`);
      this.#o.logger.info('CRUD mutation refused', {
        clientID: m.clientID,
        id: m.id,
        kind: failure.kind,
      });
      return {
        clientID: m.clientID,
        id: m.id,
        result: {type: 'error', error: 'zero', message: failure.message},
      };
    }
  }

  async #apply(client: pg.PoolClient, m: Mutation, ctx: CrudContext): Promise<void> {
    if (ctx.refusal !== undefined) throw new MutationFailure('unsupported', ctx.refusal);
    if (m.name !== CRUD_MUTATION_NAME) {
      throw new MutationFailure(
        'unsupported',
        `a CRUD mutation must be named ${CRUD_MUTATION_NAME}`,
      );
    }
    const args = v.safeParse(crudArgsSchema, m.args);
    if (!args.success) {
      throw new MutationFailure('invalid-value', 'CRUD arguments must be [{ops: CrudOp[]}]');
    }
    for (const op of args.output[0].ops) {
      try {
        await applyCrudOp(client, op, this.#o.catalog, ctx.authorizer);
      } catch (e) {
        throw toFailure(e, op) ?? e;
      }
    }
  }
}

const VERBS: Record<CrudOp['op'], string> = {
  insert: 'insert into',
  upsert: 'upsert into',
  update: 'update of',
  delete: 'delete from',
};

/** SQLSTATE classes caused by the mutation itself (as opposed to the server or network). */
function toFailure(e: unknown, op?: CrudOp): MutationFailure | undefined {
  if (e instanceof MutationFailure) return e;
  const err = e as {code?: unknown; table?: unknown; column?: unknown; constraint?: unknown};
  if (typeof err.code !== 'string') return undefined;
  // Postgres's own messages can quote values (e.g. "invalid input syntax ...: \"x\""), so
  // only the table, column and constraint names are passed on.
  const table = typeof err.table === 'string' ? err.table : (op?.table ?? 'the table');
  const what = op ? `${VERBS[op.op]} ${table}` : `write to ${table}`;
  const constraint = typeof err.constraint === 'string' ? ` (${err.constraint})` : '';
  switch (err.code) {
    case '23505':
      return new MutationFailure(
        'constraint',
        `${what} violates a unique constraint${constraint}`,
        {cause: e},
      );
    case '23503':
      return new MutationFailure(
        'constraint',
        `${what} violates a foreign key constraint${constraint}`,
        {cause: e},
      );
    case '23502':
      return new MutationFailure(
        'constraint',
        `${what} leaves column ${typeof err.column === 'string' ? err.column : '?'} null, which it does not allow`,
        {cause: e},
      );
    case '23514':
      return new MutationFailure('constraint', `${what} violates a check constraint${constraint}`, {
        cause: e,
      });
  }
  if (err.code.startsWith('23')) {
    return new MutationFailure('constraint', `${what} violates a constraint${constraint}`, {
      cause: e,
    });
  }
  if (err.code.startsWith('22')) {
    return new MutationFailure(
      'invalid-value',
      `a value does not fit its column's type (SQLSTATE ${err.code})`,
      {cause: e},
    );
  }
  if (err.code === 'P0001') {
    return new MutationFailure('constraint', `a trigger refused the write (SQLSTATE P0001)`, {
      cause: e,
    });
  }
  return undefined;
}

/** A simple query with several statements answers with one result each. */
function lastResult(r: pg.QueryResult | pg.QueryResult[]): pg.QueryResult {
  return Array.isArray(r) ? r[r.length - 1]! : r;
}
