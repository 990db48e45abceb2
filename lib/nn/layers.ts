/**
 * Layers over traced tensors, with PyTorch's parameter layouts so Hugging Face weights load
 * as they are: `Linear` keeps its weight as [out, in] (y = x W^T + b), `Embedding` as
 * [vocab, dim], `LayerNorm` as weight/bias [dim]. Each layer takes a compute dtype: with
 * `bf16`, operands of matrix products are cast to bf16 and accumulate in f32, while
 * normalisation statistics and softmax stay in f32; parameters stay f32 (master weights)
 * and are cast inside the program, so their gradients come back in f32.
 */
import type { DType } from '../stablehlo/dtype.js';
import { ops, ShapeError, type Tensor } from '../trace/index.js';

/** The dtype of matrix products and activations: `f32`, or `bf16` with f32 accumulation. */
export type ComputeDType = 'f32' | 'bf16';

/**
 * `x @ weight^T + bias` over the last axis of `x` ([..., in] -> [..., out]) with a PyTorch
 * `Linear` weight [out, in]. Operands are cast to `compute`; the product accumulates in and
 * returns f32 (the bias, cast to f32, is added there). Sync; throws ShapeError naming both
 * operands when `in` differs.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | undefined, compute: ComputeDType = 'f32'): Tensor {
  const lhs = ops.cast(x, compute);
  const rhs = ops.cast(weight, compute);
  const product = ops.dotGeneral(lhs, rhs, {
    lhsBatch: [],
    rhsBatch: [],
    lhsContracting: [x.rank - 1],
    rhsContracting: [1],
    resultDType: compute === 'f32' ? undefined : 'f32',
  });
  return bias === undefined ? product : ops.add(product, ops.cast(bias, 'f32'));
}

/** Rows of an embedding `table` [V, D] at integer `ids` [...] -> [..., D], in f32. Sync; throws ShapeError. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  return ops.cast(ops.take(table, ids), 'f32');
}

/**
 * Rows of an embedding `table` [V, D] at integer `ids` [B, S] -> [B, S, D] in f32, as
 * `torch.nn.Embedding(padding_idx=paddingIdx)`: the padding row gets no gradient (its lookups
 * pass through a stop-gradient), so a loss over padded positions (token heads) leaves it as HF
 * does. Sync; throws ShapeError.
 */
export function embeddingWithPadding(table: Tensor, ids: Tensor, paddingIdx: number): Tensor {
  const rows = embedding(table, ids);
  const padding = ops.broadcastTo(ops.reshape(ops.equal(ids, paddingIdx), [...ids.shape, 1]), rows.shape);
  return ops.where(padding, ops.stopGradient(rows), rows);
}

/**
 * `torch.nn.LayerNorm` over the last axis, its statistics computed in f32 whatever the input
 * dtype; returns f32. Sync; throws ShapeError.
 */
export function layerNormF32(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  return ops.layerNorm(ops.cast(x, 'f32'), ops.cast(weight, 'f32'), ops.cast(bias, 'f32'), { eps });
}

/**
 * A stream of dropout masks for the sites of one forward pass, in a fixed order, so the masks
 * depend only on the key(s) and the order of the sites (deterministic, and different at every
 * site). Two kinds of key:
 * - one s64[2] key for the whole batch: each site draws from the key left by the previous one;
 * - per-row keys, u32 [B, 2] (B the leading dimension of every input): site n draws row b's
 *   mask from `keys[b]` and stream n (`ops.dropoutRows`), so an example's masks do not depend
 *   on the rest of its batch (how a global batch is split over replicas or micro-batches).
 * Without a key (evaluation, or every rate 0) dropout is the identity.
 */
export class DropoutStream {
  #key: Tensor | undefined;
  readonly #rowKeys: Tensor | undefined;
  #site = 0;

  /**
   * Sync. `key` is an s64[2] tensor, u32 [B, 2] per-row keys, or undefined to disable dropout.
   * Throws ShapeError for a key of another type.
   */
  constructor(key: Tensor | undefined) {
    if (key !== undefined && key.dtype === 'u32' && key.rank === 2 && key.shape[1] === 2) this.#rowKeys = key;
    else if (key !== undefined && (key.dtype !== 's64' || key.shape.join() !== '2')) {
      throw new ShapeError('DropoutStream', 'the key must be s64[2] (one for the batch) or u32 [B, 2] (one per row)', [['key', key.type]]);
    } else this.#key = key;
  }

  /** Whether dropout is applied at all. */
  get active(): boolean {
    return this.#key !== undefined || this.#rowKeys !== undefined;
  }

  /**
   * Inverted dropout of `x` at `rate` (zeroed with probability `rate`, the rest scaled by
   * 1/(1-rate)); the identity when the stream is inactive or `rate` is 0. Every call is a new
   * site, whatever its rate, so a site's masks do not depend on the rates of the others.
   * With per-row keys, an `x` of fewer rows than keys (packed rows, keyed per example) takes
   * the first keys. Sync; throws RangeError unless 0 <= rate < 1, ShapeError when `x` has more
   * rows than keys.
   */
  apply(x: Tensor, rate: number): Tensor {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
    const site = this.#site++;
    if (this.#rowKeys !== undefined) {
      // packed rows: fewer rows than examples; row r takes the key of example r
      const [keyRows] = this.#rowKeys.shape as [number, number];
      const rows = x.shape[0] ?? keyRows;
      const keys = rows < keyRows ? ops.slice(this.#rowKeys, [0, 0], [rows, 2]) : this.#rowKeys;
      return ops.dropoutRows(x, rate, keys, site);
    }
    if (this.#key === undefined || rate === 0) return x;
    const [out, next] = ops.dropout(x, rate, this.#key);
    this.#key = next;
    return out;
  }

  /** The s64[2] key after every mask drawn so far (undefined when inactive or keyed per row). */
  get key(): Tensor | undefined {
    return this.#key;
  }
}

/**
 * `count` independent s64[2] keys derived from `key` (one draw of its generator, so a
 * train step can take a fresh dropout key and carry another to the next step). Returns
 * `[next, keys]`: `next` continues `key`'s stream, `keys[i]` start new streams. Sync; throws
 * ShapeError for a key that is not s64[2], RangeError for a count below 1.
 */
export function splitKey(key: Tensor, count: number): [Tensor, Tensor[]] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`splitKey: count must be a positive integer, got ${count}`);
  const [next, bits] = ops.randomBits(key, [count, 2]); // u32 [count, 2]
  const wide = ops.cast(bits, 's64');
  const keys = Array.from({ length: count }, (_, i) => ops.reshape(ops.slice(wide, [i, 0], [i + 1, 2]), [2])); // [1, 2] -> [2]
  return [next, keys];
}

/** The lowest finite value of a float dtype (`torch.finfo(dtype).min`). Sync; throws RangeError for other dtypes. */
export function finfoMin(dtype: DType): number {
  switch (dtype) {
    case 'f32':
      return -3.4028234663852886e38;
    case 'bf16':
      return -3.3895313892515355e38;
    case 'f16':
      return -65504;
    case 'f64':
      return -Number.MAX_VALUE;
    default:
      throw new RangeError(`finfoMin: ${dtype} is not a float dtype`);
  }
}
