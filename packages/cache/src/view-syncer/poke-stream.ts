// A large hydration is one long step in zero-cache and then one long apply in the client,
// one after the other. A PokeStream sends the rows the step gives contents ahead, as
// `pokePart` frames, while the step still runs, so that clients decode them meanwhile; the
// poke that ends the step carries what the parts did not: for a client connecting with
// nothing, see CVR.catchUp's `afterParts`; for a query added to a connected group,
// CVRStep.finish's `partsSent`. See docs/view-syncer.md.
import type {CVRRow} from '../cvr/cvr.ts';
import type {CVRStep} from '../cvr/cvr-step.ts';
import {encodePokePartFrame, type PatchRow} from './poke-encoder.ts';

export class PokeStream {
  readonly #pokeID: string;
  readonly #send: (text: string) => void;
  readonly #partRows: number;
  /** Rows not sent yet; a reset starts with `clear`. */
  #buffer: PatchRow[];
  /** Every record streamed (sent or buffered), to unmark and to check at the end. */
  readonly #records: CVRRow[] = [];
  #partsSent = 0;

  /** `reset`: the parts start a reset catch-up (the first one begins with `clear`). */
  constructor(pokeID: string, partRows: number, send: (text: string) => void, reset: boolean) {
    this.#pokeID = pokeID;
    this.#partRows = Math.max(1, partRows);
    this.#send = send;
    this.#buffer = reset ? [{op: 'clear'}] : [];
  }

  /** Whether any part went out (the poke must then follow the parts). */
  get streamed(): boolean {
    return this.#partsSent > 0;
  }

  /** Streams a record the step just gave contents (once per record). */
  add(step: CVRStep, rec: CVRRow): void {
    if (rec.streamed !== undefined) return;
    const value = step.contents(rec);
    if (value === undefined) return;
    rec.streamed = value;
    this.#records.push(rec);
    this.#buffer.push({op: 'put', table: rec.table, value});
    if (this.#buffer.length >= this.#partRows) this.#flush();
  }

  #flush(): void {
    this.#send(encodePokePartFrame(this.#pokeID, this.#buffer));
    this.#buffer = [];
    this.#partsSent++;
  }

  /**
   * Ends the streaming part of the step, before it settles: what is buffered goes out as a
   * last part if parts were sent, and is otherwise left to the poke (nothing was streamed).
   */
  endParts(): void {
    if (this.#partsSent > 0) {
      if (this.#buffer.length > 0) this.#flush();
    } else {
      this.unmark();
    }
    this.#buffer = [];
  }

  /**
   * After the step settled and the catch-up was taken with `afterParts`: deletes for rows
   * the parts put that the step then dropped (their records are tombstones, or forgotten,
   * which only happens to tombstones). Unmarks every record.
   */
  finish(): PatchRow[] {
    const dels: PatchRow[] = [];
    for (const rec of this.#records) {
      if (rec.deleted) dels.push({op: 'del', table: rec.table, id: rec.id});
    }
    this.unmark();
    return dels;
  }

  /** Clears the marks of every streamed record (the stream is not used afterwards). */
  unmark(): void {
    for (const rec of this.#records) rec.streamed = undefined;
    this.#records.length = 0;
  }
}
