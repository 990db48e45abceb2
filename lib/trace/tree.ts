/**
 * Trees of leaves: nested arrays and plain objects whose leaves are tensors, device arrays or
 * specs. Functions take and return trees (a parameter dict, a tuple of outputs), and the
 * tracer flattens them into the flat argument and result lists of `@main`.
 */

/** A leaf, an array of trees, or a plain object of trees. */
export type Tree<L> = L | readonly Tree<L>[] | { readonly [key: string]: Tree<L> };

/** A flattened tree: its leaves in order, and how to put leaves of another kind back in its shape. */
export interface Flattened<L> {
  readonly leaves: L[];
  /** The same structure with `leaves` (same count) in place of the original ones. */
  unflatten<M>(leaves: readonly M[]): Tree<M>;
  /** A string that is equal for trees of equal structure; leaves are written by `describeLeaf`. */
  describe(describeLeaf: (leaf: L) => string): string;
}

type Node = { kind: 'leaf' } | { kind: 'array'; children: Node[] } | { kind: 'object'; keys: string[]; children: Node[] };

/**
 * Flattens `tree`, depth first, array items in order and object keys in insertion order.
 * Sync; throws TypeError naming `what` and the path of any value that is neither a leaf
 * (`leafName` in the message), an array nor a plain object.
 */
export function flattenTree<L>(tree: unknown, isLeaf: (value: unknown) => value is L, what: string, leafName: string): Flattened<L> {
  const leaves: L[] = [];
  const walk = (value: unknown, path: string): Node => {
    if (isLeaf(value)) {
      leaves.push(value);
      return { kind: 'leaf' };
    }
    if (Array.isArray(value)) return { kind: 'array', children: value.map((item, i) => walk(item, `${path}[${i}]`)) };
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const keys = Object.keys(value);
      return { kind: 'object', keys, children: keys.map((key) => walk((value as Record<string, unknown>)[key], `${path}.${key}`)) };
    }
    throw new TypeError(`${what}: ${path || 'value'} is ${describeValue(value)}, expected ${leafName}, an array or a plain object of them`);
  };
  const root = walk(tree, '');
  return {
    leaves,
    unflatten<M>(replacements: readonly M[]): Tree<M> {
      if (replacements.length !== leaves.length) throw new RangeError(`expected ${leaves.length} leaves, got ${replacements.length}`);
      let next = 0;
      const build = (node: Node): Tree<M> => {
        if (node.kind === 'leaf') return replacements[next++]!;
        if (node.kind === 'array') return node.children.map(build);
        return Object.fromEntries(node.keys.map((key, i) => [key, build(node.children[i]!)]));
      };
      return build(root);
    },
    describe(describeLeaf: (leaf: L) => string): string {
      let next = 0;
      const text = (node: Node): string => {
        if (node.kind === 'leaf') return describeLeaf(leaves[next++]!);
        if (node.kind === 'array') return `[${node.children.map(text).join(',')}]`;
        return `{${node.keys.map((key, i) => `${JSON.stringify(key)}:${text(node.children[i]!)}`).join(',')}}`;
      };
      return text(root);
    },
  };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Applies `fn` leaf by leaf to trees of one structure (`first` and each of `others`), e.g. an
 * optimizer update over parameter and gradient dicts; returns a tree of that structure.
 * Sync; throws TypeError if the trees' structures differ or a value is not a leaf, array or
 * plain object.
 */
export function mapTree<L, M>(isLeaf: (value: unknown) => value is L, fn: (...leaves: L[]) => M, first: Tree<L>, ...others: Tree<L>[]): Tree<M> {
  const flat = flattenTree(first, isLeaf, 'mapTree', 'a leaf');
  const structure = flat.describe(() => '*');
  const rest = others.map((other, i) => {
    const flatOther = flattenTree(other, isLeaf, 'mapTree', 'a leaf');
    if (flatOther.describe(() => '*') !== structure) throw new TypeError(`mapTree: tree ${i + 1} has a different structure than tree 0`);
    return flatOther.leaves;
  });
  return flat.unflatten(flat.leaves.map((leaf, i) => fn(leaf, ...rest.map((leaves) => leaves[i]!))));
}
