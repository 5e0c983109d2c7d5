export function assert(cond: unknown, msg = 'Assertion failed'): asserts cond {
  if (!cond) {
    throw new Error(msg);
  }
}

export function unreachable(x: never): never {
  throw new Error(`Unreachable: ${String(x)}`);
}
