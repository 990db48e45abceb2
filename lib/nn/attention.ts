/**
 * The pieces every encoder family shares, as Hugging Face computes them: the additive
 * attention bias (padding, packed examples, sliding windows), multi-head self-attention with
 * optional rotary position embeddings, and the feed-forward activations by HF name.
 *
 * Shapes: hidden states [B, S, H]; heads split as [B, S, heads, d] with d = H / heads; scores
 * and probabilities [B, heads, S_q, S_k]; the bias broadcasts to them as [B, 1, S_q|1, S_k].
 */
import { ops, type Tensor } from '../trace/index.js';
import { type ComputeDType, type DropoutStream, finfoMin } from './layers.js';

/** Which keys each query may attend to. */
export interface AttentionMaskInputs {
  /** 1 for real tokens, 0 for padding, [B, S]. */
  readonly attentionMask?: Tensor;
  /** Packed rows: the 1-based example of each token, 0 for padding, [B, S]; attention stays inside an example. */
  readonly segmentIds?: Tensor;
  /** Local attention: a query sees keys at most `window / 2` positions away (ModernBERT's sliding window). */
  readonly window?: number;
}

/**
 * The additive bias of the attention scores, f32: 0 where a query may attend to a key and
 * `finfo(f32).min` where it may not (HF's extended mask). Without segments or a window it is
 * HF's [B, 1, 1, S] padding bias; otherwise [B, 1, S, S]. Undefined when everything attends to
 * everything. Sync; throws ShapeError for masks that are not [B, S].
 */
export function attentionBias(inputs: AttentionMaskInputs, batch: number, seqLen: number): Tensor | undefined {
  const { attentionMask, segmentIds, window } = inputs;
  if (segmentIds === undefined && window === undefined) {
    if (attentionMask === undefined) return undefined;
    return ops.reshape(ops.mul(ops.sub(1, ops.cast(attentionMask, 'f32')), finfoMin('f32')), [batch, 1, 1, seqLen]);
  }
  let allowed: Tensor | undefined; // pred [B, S, S]
  const and = (condition: Tensor) => (allowed = allowed === undefined ? condition : ops.where(allowed, condition, allowed));
  if (segmentIds !== undefined) {
    const query = ops.reshape(segmentIds, [batch, seqLen, 1]);
    const key = ops.reshape(segmentIds, [batch, 1, seqLen]);
    and(ops.broadcastTo(ops.equal(query, key), [batch, seqLen, seqLen]));
    and(ops.broadcastTo(ops.greater(key, 0), [batch, seqLen, seqLen]));
  }
  if (attentionMask !== undefined) and(ops.broadcastTo(ops.greater(ops.reshape(attentionMask, [batch, 1, seqLen]), 0), [batch, seqLen, seqLen]));
  if (window !== undefined) {
    const rows = ops.iota([seqLen, seqLen], 's32', 0);
    const cols = ops.iota([seqLen, seqLen], 's32', 1);
    const near = ops.lessEqual(ops.abs(ops.sub(rows, cols)), Math.floor(window / 2));
    and(ops.broadcastTo(ops.reshape(near, [1, seqLen, seqLen]), [batch, seqLen, seqLen]));
  }
  const bias = ops.where(allowed!, ops.zeros([batch, seqLen, seqLen], 'f32'), ops.full([batch, seqLen, seqLen], finfoMin('f32'), 'f32'));
  return ops.reshape(bias, [batch, 1, seqLen, seqLen]);
}

/** Rotary position embeddings (RoPE, HF's `rotate_half` convention): cos and sin of each position. */
export interface Rotary {
  /** f32 [B, S, 1, d]: broadcast over heads. */
  readonly cos: Tensor;
  readonly sin: Tensor;
}

/**
 * cos/sin of rotary embeddings for `positions` [B, S] (s32, each below `maxPosition`) and head
 * size `d` with base `theta`: frequencies `theta^(-2i/d)` for i < d/2, each used twice (HF's
 * `cat(freqs, freqs)`). The table is computed on the host with HF's float32 rounding: the
 * inverse frequencies `1 / theta^(2i/d)`, each step rounded to f32 as torch does, the angle
 * `position * inv_freq` rounded to f32, and only then its cos/sin (in double, rounded once).
 * At long positions the f32 angle is far from the exact one (4e-4 off at position 8191 with
 * d = 64), and HF's model was trained with it, so exact angles would not match HF to the
 * parity bounds; rounded like this the table is within 1 ulp of torch's. The table is then
 * gathered by position (so packed rows, whose positions restart, work too). Sync.
 */
export function rotaryTables(positions: Tensor, headSize: number, theta: number, maxPosition: number): Rotary {
  const [batch, seqLen] = positions.shape as [number, number];
  const half = headSize / 2;
  const f32 = Math.fround;
  // torch: 1.0 / (base ** (torch.arange(0, d, 2, dtype=float32) / d)), all in float32
  const inverse = Array.from({ length: half }, (_, i) => f32(1 / f32(f32(theta) ** f32((2 * i) / headSize))));
  const cos = new Float32Array(maxPosition * headSize);
  const sin = new Float32Array(maxPosition * headSize);
  for (let p = 0; p < maxPosition; p++) {
    for (let i = 0; i < headSize; i++) {
      const angle = f32(p * inverse[i % half]!); // torch: position_ids.float() * inv_freq, in float32
      cos[p * headSize + i] = Math.cos(angle);
      sin[p * headSize + i] = Math.sin(angle);
    }
  }
  const gather = (table: Float32Array) => ops.reshape(ops.take(ops.constant(table, [maxPosition, headSize]), positions), [batch, seqLen, 1, headSize]);
  return { cos: gather(cos), sin: gather(sin) };
}

/** `x * cos + rotate_half(x) * sin` over the last axis of x [B, S, heads, d], in f32. */
function applyRotary(x: Tensor, rotary: Rotary): Tensor {
  const [b, s, heads, d] = x.shape as [number, number, number, number];
  const f = ops.cast(x, 'f32');
  const first = ops.slice(f, [0, 0, 0, 0], [b, s, heads, d / 2]);
  const second = ops.slice(f, [0, 0, 0, d / 2], [b, s, heads, d]);
  const rotated = ops.concatenate([ops.neg(second), first], 3);
  return ops.add(ops.mul(f, rotary.cos), ops.mul(rotated, rotary.sin));
}

/** Settings of {@link selfAttention}. */
export interface SelfAttentionOptions {
  readonly heads: number;
  /** Additive bias from {@link attentionBias}. */
  readonly bias?: Tensor;
  /** Dropout on the attention probabilities (the stream and its rate). */
  readonly dropout?: DropoutStream;
  readonly dropoutRate?: number;
  readonly compute: ComputeDType;
  /** Rotary embeddings applied to queries and keys. */
  readonly rotary?: Rotary;
  /** Scale of the scores; default 1/sqrt(d). */
  readonly scale?: number;
}

/**
 * Scaled dot-product self-attention of projected queries, keys and values [B, S, H] (any
 * float dtype): scores in f32, bias added, softmax in f32, dropout, then the context [B, S, H]
 * in f32. The batched products return the compute dtype, as torch autocast does. Sync;
 * throws ShapeError when shapes differ or H is not a multiple of `heads`.
 */
export function selfAttention(query: Tensor, key: Tensor, value: Tensor, options: SelfAttentionOptions): Tensor {
  const [batch, seqLen, hidden] = query.shape as [number, number, number];
  const { heads, compute } = options;
  const headSize = hidden / heads;
  // [B, S, H] -> [B, S, heads, d]
  const split = (x: Tensor): Tensor => ops.reshape(x, [batch, seqLen, heads, headSize]);
  let q = split(query);
  let k = split(key);
  if (options.rotary) {
    q = applyRotary(q, options.rotary);
    k = applyRotary(k, options.rotary);
  }
  q = ops.cast(q, compute);
  k = ops.cast(k, compute);
  const v = ops.cast(split(value), compute);
  // scores [B, heads, S_q, S_k]
  let scores = ops.cast(ops.dotGeneral(q, k, { lhsBatch: [0, 2], rhsBatch: [0, 2], lhsContracting: [3], rhsContracting: [3] }), 'f32');
  scores = ops.mul(scores, options.scale ?? headSize ** -0.5);
  if (options.bias) scores = ops.add(scores, options.bias);
  let probs = ops.softmax(scores, -1);
  if (options.dropout) probs = options.dropout.apply(probs, options.dropoutRate ?? 0);
  // context [B, heads, S_q, d] -> [B, S_q, heads, d] -> [B, S, H]
  const context = ops.cast(ops.dotGeneral(ops.cast(probs, compute), v, { lhsBatch: [0, 1], rhsBatch: [0, 2], lhsContracting: [3], rhsContracting: [1] }), 'f32');
  return ops.reshape(ops.transpose(context, [0, 2, 1, 3]), [batch, seqLen, hidden]);
}

/** The tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh`). */
function geluTanh(x: Tensor): Tensor {
  return ops.mul(ops.mul(x, 0.5), ops.add(1, ops.tanh(ops.mul(ops.add(x, ops.mul(ops.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
}

/** HF activation names this package computes. */
export const ACTIVATIONS: Readonly<Record<string, (x: Tensor) => Tensor>> = {
  gelu: ops.gelu,
  relu: ops.relu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  silu: (x) => ops.mul(x, ops.sigmoid(x)),
  swish: (x) => ops.mul(x, ops.sigmoid(x)),
  tanh: ops.tanh,
};

/** The activation named `name` (HF `hidden_act`). Sync; throws RangeError listing the supported ones. */
export function activation(name: string, family = 'encoder'): (x: Tensor) => Tensor {
  const fn = ACTIVATIONS[name];
  if (!fn) throw new RangeError(`${family} activation '${name}' is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  return fn;
}
