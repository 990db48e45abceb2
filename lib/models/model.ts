/**
 * A model: an encoder family with its config, and a task head on top. Its parameters are a
 * record by Hugging Face name (the family's `<prefix>.*` and the head's), host tensors or
 * traced ones; its forward is pure.
 *
 *     const spec = modelSpec(bert, bertPresetConfig('tiny', { labels: ['neg', 'pos'] }), 'linear');
 *     const params = initModelParams(spec, 42);                      // host f32 tensors by HF name
 *     const logits = modelForward(spec, p, { inputIds, attentionMask }, { train: false });   // inside jit
 */
import os from 'node:os';

import { type ComputeDType, DropoutStream, SeededRandom } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';
import { type EncoderFamily, type EncoderInputs, paramGetter } from './family.js';
import type { Head, HeadContext, HeadInput } from './head.js';
import { exampleFirst, exampleMean, firstToken, maskedMean } from './pooling.js';
import { HEADS, headOf } from './heads.js';
import type { EncoderConfigBase } from './hf-config.js';

/** Which head a model has: a kind of the head table, and the width of `mlp:N`. */
export interface HeadSpec {
  readonly kind: string;
  readonly hidden?: number;
}

/** A model's architecture: family, config (its `labels` fix the class count) and head. */
export interface ModelSpec<C extends EncoderConfigBase = EncoderConfigBase> {
  readonly family: EncoderFamily<C>;
  readonly config: C;
  readonly head: HeadSpec;
}

/** One host parameter (f32, row-major), as `lib/io` reads and writes tensors. */
export interface HostParam {
  dtype: 'f32';
  shape: number[];
  data: Float32Array;
}

/** Parameters by Hugging Face name. */
export type ModelParams<T> = Record<string, T>;

/** The families' fields that name their heads. */
type HeadNames = Pick<EncoderFamily, 'classificationHead' | 'tokenClassificationHead'>;

/**
 * A head from its name: `linear` (the head HF puts on the family, e.g. RoBERTa's dense +
 * out_proj), `mlp:N`, `token` (token classification: the family's `tokenClassificationHead`,
 * else the generic `token`), or a kind of the head table. Sync; throws RangeError naming the
 * accepted forms.
 */
export function parseHead(text: string, family: HeadNames): HeadSpec {
  if (text === 'linear') return { kind: family.classificationHead };
  if (text === 'token') return { kind: family.tokenClassificationHead ?? 'token' };
  const mlp = /^mlp:([1-9][0-9]*)$/.exec(text);
  if (mlp) return { kind: 'mlp', hidden: Number(mlp[1]) };
  if (text !== 'mlp' && Object.hasOwn(HEADS, text)) return { kind: text };
  throw new RangeError(`unknown head '${text}': expected 'linear', 'mlp:N' (N a positive integer) or one of ${Object.keys(HEADS).filter((kind) => kind !== 'mlp').join(', ')}`);
}

/** The name {@link parseHead} reads back: `linear` for the family's own head, `token` for its token head, `mlp:N`, else the kind. Sync. */
export function formatHead(head: HeadSpec, family: HeadNames): string {
  if (head.kind === family.classificationHead) return 'linear';
  if (head.kind === (family.tokenClassificationHead ?? 'token')) return 'token';
  return head.kind === 'mlp' ? `mlp:${head.hidden}` : head.kind;
}

/** A model spec; `head` as {@link parseHead} reads it (default `linear`). Sync; throws RangeError for a bad head. */
export function modelSpec<C extends EncoderConfigBase>(family: EncoderFamily<C>, config: C, head: string | HeadSpec = 'linear'): ModelSpec<C> {
  return { family, config, head: typeof head === 'string' ? parseHead(head, family) : head };
}

/** Number of outputs of the head: the config's labels, or HF's default of 2. Sync. */
export function numLabelsOf(config: EncoderConfigBase): number {
  return config.labels?.length ?? 2;
}

function headContext(spec: ModelSpec): { head: Head; context: HeadContext } {
  return { head: headOf(spec.head.kind), context: { config: spec.config, labels: numLabelsOf(spec.config), hidden: spec.head.hidden } };
}

/** The head's parameters' names and shapes. Sync. */
export function headParamShapes(spec: ModelSpec): Map<string, number[]> {
  const { head, context } = headContext(spec);
  return head.paramShapes(context);
}

/** The encoder's parameters in this model: the family's, without its pooler when the head reads no pooled output. Sync. */
export function encoderParamShapes(spec: ModelSpec): Map<string, number[]> {
  const shapes = spec.family.paramShapes(spec.config);
  if (!headOf(spec.head.kind).usesPooled) for (const name of spec.family.poolerParams?.(spec.config) ?? []) shapes.delete(name);
  return shapes;
}

/** Every parameter's name and shape: the encoder's, then the head's. Sync. */
export function modelParamShapes(spec: ModelSpec): Map<string, number[]> {
  return new Map([...encoderParamShapes(spec), ...headParamShapes(spec)]);
}

/** Parameters of `spec` in f32: the product of the shapes. Sync. */
export function parameterCount(spec: ModelSpec): number {
  let count = 0;
  for (const shape of modelParamShapes(spec).values()) count += shape.reduce((a, b) => a * b, 1);
  return count;
}

/**
 * Fresh parameters of `spec` from `seed` with HF's initialisation; each parameter draws from
 * its own stream forked in name order, so a head initialised alone (`names`) gets the same
 * values as in a full initialisation. Sync; throws RangeError, before allocating anything,
 * when the parameters to initialise would not fit in `maxBytes` of f32 (default: the
 * machine's memory), naming the config's sizes.
 */
export function initModelParams(spec: ModelSpec, seed: number, names?: readonly string[], maxBytes = os.totalmem()): ModelParams<HostParam> {
  const shapes = modelParamShapes(spec);
  const count = [...shapes].filter(([name]) => !names || names.includes(name)).reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  if (4 * count > maxBytes) {
    const c = spec.config;
    throw new RangeError(
      `initModelParams: ${count} parameters to initialise (${((4 * count) / 2 ** 30).toFixed(1)} GiB as f32) are more than ${maxBytes === os.totalmem() ? "this machine's memory" : 'the limit'} (${(maxBytes / 2 ** 30).toFixed(1)} GiB): ` +
        `check the sizes (hidden_size ${c.hiddenSize}, vocab_size ${c.vocabSize}, num_hidden_layers ${c.numHiddenLayers}, intermediate_size ${c.intermediateSize})`,
    );
  }
  const root = new SeededRandom(seed);
  const wanted = names ? new Set(names) : undefined;
  const encoderShapes = encoderParamShapes(spec);
  const { head, context } = headContext(spec);
  const params: ModelParams<HostParam> = {};
  for (const [name, shape] of shapes) {
    const stream = root.fork();
    if (wanted && !wanted.has(name)) continue;
    const data = encoderShapes.has(name) ? spec.family.initParam(spec.config, name, shape, stream) : head.initParam(context, name, shape, stream);
    params[name] = { dtype: 'f32', shape, data };
  }
  return params;
}

/** How {@link modelForward} runs. */
export interface ForwardOptions {
  /** Training mode: dropout is applied when a `dropoutKey` is given and rates are above 0. */
  readonly train: boolean;
  /**
   * The dropout masks' key(s): one s64[2] key for the batch, or u32 [B, 2] keys, one per
   * example (the Trainer's choice: an example's masks do not depend on the rest of its batch).
   */
  readonly dropoutKey?: Tensor;
  /** `bf16`: matrix products and activations in bf16 (f32 parameters cast inside). */
  readonly computeDtype?: ComputeDType;
}

/**
 * The logits (f32) of the model for one batch: [B, labels], or [B, S, labels] for a token
 * head. Call it inside trace/jit/grad. Sync; throws Error naming a missing parameter,
 * ShapeError or RangeError for inputs that do not fit the config.
 */
export function modelForward(spec: ModelSpec, params: ModelParams<Tensor>, inputs: EncoderInputs, options: ForwardOptions): Tensor {
  const compute = options.computeDtype ?? 'f32';
  const dropout = options.train && options.dropoutKey ? new DropoutStream(options.dropoutKey) : undefined;
  const { sequence } = spec.family.encode(spec.config, params, inputs, { train: options.train, dropout, computeDtype: compute });
  const { head, context } = headContext(spec);
  const starts = inputs.exampleStarts;
  const first = starts ? exampleFirst(sequence, starts) : firstToken(sequence); // [E, H]
  const mean = () => (starts && inputs.segmentIds ? exampleMean(sequence, inputs.segmentIds, starts) : maskedMean(sequence, inputs.attentionMask));
  const pooled = head.usesPooled && spec.family.pool ? spec.family.pool(spec.config, params, first, compute) : undefined;
  const input: HeadInput = { sequence, first, mean, ...(pooled ? { pooled } : {}) };
  return ops.cast(head.apply(context, paramGetter(spec.family.name, params), input, { dropout, compute, attentionMask: inputs.attentionMask }), 'f32');
}

/** Whether the model's head gives logits per token. Sync. */
export function isTokenHead(spec: ModelSpec): boolean {
  return headOf(spec.head.kind).granularity === 'token';
}
