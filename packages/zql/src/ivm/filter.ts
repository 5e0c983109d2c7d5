// Filter: keeps the nodes whose condition holds. Used for conditions that mention
// EXISTS (simple conditions are pushed down into the source connection). EXISTS is read
// from the node's internal relationship, so a child change can flip a parent in or out.
import type {Condition, ExistsCondition} from '@zync/protocol';
import {compileCondition, type Predicate} from './condition.ts';
import type {Value} from './data.ts';
import {
  NULL_OUTPUT,
  type Change,
  type FetchRequest,
  type Input,
  type Node,
  type Output,
  type SourceSchema,
} from './operator.ts';

export class Filter implements Input, Output {
  readonly #input: Input;
  readonly #predicate: Predicate;
  readonly #existsNames: ReadonlySet<string>;
  #output: Output = NULL_OUTPUT;

  constructor(input: Input, condition: Condition, existsName: (c: ExistsCondition) => string) {
    this.#input = input;
    const names = new Set<string>();
    this.#predicate = compileCondition(condition, c => {
      const n = existsName(c);
      names.add(n);
      return n;
    });
    this.#existsNames = names;
    input.setOutput(this);
  }

  getSchema(): SourceSchema {
    return this.#input.getSchema();
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#input.destroy();
  }

  cleanup(constraint: Readonly<Record<string, Value>>, stillAsked: () => boolean): void {
    this.#input.cleanup?.(constraint, stillAsked);
  }

  /** Evaluates the condition; `override` replaces one EXISTS answer (the "before" state). */
  #test(node: Node, overrideName?: string, overrideValue?: boolean): boolean {
    return this.#predicate(node.row, name => {
      if (name === overrideName) return overrideValue as boolean;
      const rel = node.relationships[name];
      if (!rel) throw new Error(`Missing relationship ${name}`);
      for (const _ of rel()) return true;
      return false;
    });
  }

  *fetch(req: FetchRequest): Iterable<Node> {
    for (const node of this.#input.fetch(req)) {
      if (this.#test(node)) yield node;
    }
  }

  push(change: Change): void {
    switch (change.type) {
      case 'add':
      case 'remove':
        if (this.#test(change.node)) this.#output.push(change);
        return;
      case 'edit': {
        const oldPass = this.#test(change.oldNode);
        const pass = this.#test(change.node);
        if (oldPass && pass) this.#output.push(change);
        else if (pass) this.#output.push({type: 'add', node: change.node});
        else if (oldPass) this.#output.push({type: 'remove', node: change.oldNode});
        return;
      }
      case 'child': {
        const name = change.child.relationshipName;
        const pass = this.#test(change.node);
        let oldPass = pass;
        if (this.#existsNames.has(name)) {
          const inner = change.child.change.type;
          if (inner === 'add' || inner === 'remove') {
            // Before an add the relationship held one row fewer; before a remove, one more.
            let before = true;
            if (inner === 'add') {
              let count = 0;
              const rel = change.node.relationships[name];
              if (rel) for (const _ of rel()) if (++count > 1) break;
              before = count > 1;
            }
            oldPass = this.#test(change.node, name, before);
          }
        }
        if (oldPass && pass) this.#output.push(change);
        else if (pass) this.#output.push({type: 'add', node: change.node});
        else if (oldPass) this.#output.push({type: 'remove', node: change.node});
        return;
      }
    }
  }
}
