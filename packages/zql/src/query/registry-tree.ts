// The tree shared by `defineQueries` and `defineMutators`: nested plain objects whose
// leaves are definitions. A leaf's name is its path joined with dots (`issue.byId`).

/** Marks a registry object; the value is the registry's kind. */
export const REGISTRY_KEY = '~';

export type Tree = {readonly [key: string]: unknown};

/** The type of `buildRegistry(…, base)`: `B` over `A`, nested levels merged, leaves replaced. */
export type DeepMerge<A, B, Leaf> = {
  readonly [K in keyof A | keyof B]: K extends keyof B
    ? K extends keyof A
      ? A[K] extends Leaf
        ? B[K]
        : B[K] extends Leaf
          ? B[K]
          : DeepMerge<A[K], B[K], Leaf>
      : B[K]
    : K extends keyof A
      ? A[K]
      : never;
};

/**
 * Builds a registry from definitions: each definition leaf becomes `make(name, def)`;
 * nested objects become nested registries. `base` (an earlier registry) is kept where
 * `defs` does not override it.
 */
export function buildRegistry(
  kind: string,
  defs: unknown,
  isDefinition: (v: unknown) => boolean,
  make: (name: string, def: unknown) => unknown,
  base?: Tree,
  path: readonly string[] = [],
): Tree {
  if (typeof defs !== 'object' || defs === null || Array.isArray(defs)) {
    const at = path.length ? `"${path.join('.')}"` : 'the definitions';
    throw new TypeError(`define${kind}s: ${at} must be an object of definitions`);
  }
  const out: Record<string, unknown> = {...base, [REGISTRY_KEY]: `${kind}Registry`};
  for (const [key, value] of Object.entries(defs)) {
    if (key === REGISTRY_KEY) continue;
    if (key === '' || key.includes('.') || key.includes('|')) {
      throw new TypeError(`define${kind}s: "${key}" is not a valid name (no dots, not empty)`);
    }
    const p = [...path, key];
    if (isDefinition(value)) {
      out[key] = make(p.join('.'), value);
    } else if (isRegistryOf(kind, value) || typeof value !== 'function') {
      const prev = out[key];
      const nestedBase = isRegistryOf(kind, prev) ? (prev as Tree) : undefined;
      out[key] = isRegistryOf(kind, value)
        ? {...nestedBase, ...value}
        : buildRegistry(kind, value, isDefinition, make, nestedBase, p);
    } else {
      throw new TypeError(
        `define${kind}s: "${p.join('.')}" must come from define${kind}(), not be a plain function`,
      );
    }
  }
  return Object.freeze(out);
}

export function isRegistryOf(kind: string, v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Tree)[REGISTRY_KEY] === `${kind}Registry`;
}

/** The leaf at a dotted (or `|`-separated) name, or undefined. */
export function leafAt(tree: Tree, name: string): unknown {
  if (typeof name !== 'string' || name === '') return undefined;
  let node: unknown = tree;
  for (const part of name.split(/[.|]/)) {
    if (typeof node !== 'object' && typeof node !== 'function') return undefined;
    if (node === null || part === REGISTRY_KEY || !Object.hasOwn(node, part)) return undefined;
    node = (node as Tree)[part];
  }
  return node;
}

/** Every leaf accepted by `isLeaf`, depth first. */
export function* leaves(tree: Tree, isLeaf: (v: unknown) => boolean): Iterable<unknown> {
  for (const [key, v] of Object.entries(tree)) {
    if (key === REGISTRY_KEY) continue;
    if (isLeaf(v)) yield v;
    else if (typeof v === 'object' && v !== null) yield* leaves(v as Tree, isLeaf);
  }
}
