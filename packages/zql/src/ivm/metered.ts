// Metered: counts the rows a source connection hands to its pipeline, so that the owner of
// a pipeline can bound what one query may read (every row fetched counts, those that
// EXISTS checks read included). Changes pass through uncounted.
import type {Value} from './data.ts';
import type {FetchRequest, Input, Node, Output, SourceSchema} from './operator.ts';

/** Called once per row fetched; may throw to stop the fetch (and the hydration). */
export type RowMeter = () => void;

export class Metered implements Input {
  readonly #input: Input;
  readonly #meter: RowMeter;
  readonly cleanup?: (
    constraint: Readonly<Record<string, Value>>,
    stillAsked: () => boolean,
  ) => void;

  constructor(input: Input, meter: RowMeter) {
    this.#input = input;
    this.#meter = meter;
    // Only where the input has one: a join asks for cleanup only when there is some.
    if (input.cleanup) this.cleanup = (c, stillAsked) => input.cleanup?.(c, stillAsked);
  }

  getSchema(): SourceSchema {
    return this.#input.getSchema();
  }

  setOutput(output: Output): void {
    this.#input.setOutput(output);
  }

  destroy(): void {
    this.#input.destroy();
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    const meter = this.#meter;
    for (const node of this.#input.fetch(req)) {
      meter();
      yield node;
    }
  }
}
