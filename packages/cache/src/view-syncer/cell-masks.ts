// The cell masks of a client group's queries (cell select rules, docs/permissions.md).
// Each query has the mask of the claims it was prepared with; a query loaded from the CVR
// and not prepared again yet has the strictest one. A row is sent without every column
// that the mask of any query holding it hides, so a row shared by two queries is the same
// for both and leaves out the most.
import type {AST, RowValue} from '@zync/protocol';
import {refHashes, type CVRRow} from '../cvr/cvr.ts';
import type {CellMask, CellVisibility, QueryContext} from './group-client.ts';

export class CellMasks {
  readonly #source: CellVisibility | undefined;
  readonly #masks = new Map<string, CellMask>();

  constructor(source: CellVisibility | undefined) {
    this.#source = source;
  }

  #maskOf(ast: AST, ctx: QueryContext | undefined): CellMask | undefined {
    return this.#source?.mask(ast, ctx);
  }

  /** Sets the mask of query `hash` for `ast` as prepared for `ctx` (undefined: unknown). */
  set(hash: string, ast: AST, ctx: QueryContext | undefined): void {
    const mask = this.#maskOf(ast, ctx);
    if (mask) this.#masks.set(hash, mask);
    else this.#masks.delete(hash);
  }

  /** Whether `ast` prepared for `ctx` would hide other columns than query `hash` does now. */
  differs(hash: string, ast: AST, ctx: QueryContext): boolean {
    return this.#maskOf(ast, ctx)?.key !== this.#masks.get(hash)?.key;
  }

  delete(hash: string): void {
    this.#masks.delete(hash);
  }

  /** `row` (the full contents of `rec`) without the columns its queries' masks hide. */
  project(rec: CVRRow, row: RowValue): RowValue {
    if (this.#masks.size === 0) return row;
    let hidden: Set<string> | undefined;
    for (const hash of refHashes(rec)) {
      const mask = this.#masks.get(hash);
      if (!mask) continue;
      for (const c of mask.hidden(rec.table, row)) (hidden ??= new Set()).add(c);
    }
    if (!hidden) return row;
    const out: Record<string, RowValue[string]> = {...row};
    for (const c of hidden) delete out[c];
    return out;
  }
}
