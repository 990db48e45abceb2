/**
 * Task heads, apart from the encoders: each head names its parameters as Hugging Face's
 * `<Family>For<Task>` classes do, so a saved directory loads in transformers' Auto classes,
 * and maps an encoder's output to logits. The table of kinds is heads.ts; a family names the
 * head HF puts on it (`EncoderFamily.classificationHead`), and `mlp:N` (the tutorial's
 * Dense(N, relu) -> Dropout -> Dense) works on any family.
 *
 *   bert       dropout -> classifier on the pooled output           (BertForSequenceClassification)
 *   roberta    first token -> dropout -> dense -> tanh -> dropout -> out_proj   (RobertaClassificationHead)
 *   electra    as roberta with gelu                                  (ElectraClassificationHead)
 *   mlp:N      classifier.0 (N) -> relu -> dropout -> classifier.3 on the pooled output or first token
 *   token      dropout -> classifier on every position              (<Family>ForTokenClassification)
 */
import { type ComputeDType, type DropoutStream, type SeededRandom, activation, linear } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';
import { apply, initLikeHf } from './blocks.js';
import type { EncoderOutput } from './family.js';
import type { EncoderConfigBase } from './hf-config.js';

/** What a head is asked to produce. */
export interface HeadContext<C extends EncoderConfigBase = EncoderConfigBase> {
  readonly config: C;
  /** Outputs: classes, or 1 for regression. */
  readonly labels: number;
  /** The `mlp:N` width, for that head. */
  readonly hidden?: number;
}

/** How a head runs. */
export interface HeadRunOptions {
  readonly dropout?: DropoutStream;
  readonly compute: ComputeDType;
  /** 1 for real tokens [B, S] (for heads that pool over tokens). */
  readonly attentionMask?: Tensor;
}

/** What a head reads: the encoder's output, each example's first token, mean and pooled output. */
export interface HeadInput extends EncoderOutput {
  /** Each example's first token, f32 [E, H] (E = B, or the examples of packed rows). */
  readonly first: Tensor;
  /** Each example's mean over its real tokens, f32 [E, H] (computed when called). */
  mean(): Tensor;
  /** The family's pooler over `first`, f32 [E, H], for a head that `usesPooled` on a family with a pooler. */
  readonly pooled?: Tensor;
}

/** A head kind. */
export interface Head<C extends EncoderConfigBase = EncoderConfigBase> {
  /** Whether it produces one row of logits per example (`sequence`) or per token (`token`). */
  readonly granularity: 'sequence' | 'token';
  /** Whether it reads the pooled output (then the family's pooler is part of the model, where it has one). */
  readonly usesPooled: boolean;
  /** Its parameters' names and shapes, in a fixed order. Sync. */
  paramShapes(context: HeadContext<C>): Map<string, number[]>;
  /** HF's initialisation of one of its parameters. Sync. */
  initParam(context: HeadContext<C>, name: string, shape: readonly number[], random: SeededRandom): Float32Array;
  /** Logits, f32: [B, labels] for a sequence head, [B, S, labels] for a token head. Sync, traced. */
  apply(context: HeadContext<C>, p: (name: string) => Tensor, output: HeadInput, options: HeadRunOptions): Tensor;
}

/** The dropout before a classifier: `classifierDropout`, else `hiddenDropoutProb` (HF's rule). */
export function classifierDropoutOf(config: EncoderConfigBase): number {
  return config.classifierDropout ?? config.hiddenDropoutProb;
}

export { firstToken } from './pooling.js';

/** Adds a Linear's weight [out, in] and bias [out] to `shapes`. */
export const linearShapes = (shapes: Map<string, number[]>, name: string, out: number, inp: number): void => {
  shapes.set(`${name}.weight`, [out, inp]);
  shapes.set(`${name}.bias`, [out]);
};

/** HF's initialisation of head parameters (normal weights, zero biases, unit norms). */
export const initHead = (context: HeadContext, name: string, shape: readonly number[], random: SeededRandom): Float32Array => initLikeHf(context.config, name, shape, random, '');

/** BERT's: dropout, then `classifier` on the pooled output. */
export const bertHead: Head = {
  granularity: 'sequence',
  usesPooled: true,
  paramShapes: ({ config, labels }) => {
    const shapes = new Map<string, number[]>();
    linearShapes(shapes, 'classifier', labels, config.hiddenSize);
    return shapes;
  },
  initParam: initHead,
  apply: ({ config }, p, output, { dropout, compute }) => {
    if (!output.pooled) throw new Error('the bert head needs a pooled output (the encoder has no pooler)');
    return linear(apply(dropout, output.pooled, classifierDropoutOf(config)), p('classifier.weight'), p('classifier.bias'), compute);
  },
};

/** RoBERTa's and ELECTRA's: on the first token, dropout -> dense -> activation -> dropout -> out_proj. */
export function denseOutProjHead(activationName: string): Head {
  return {
    granularity: 'sequence',
    usesPooled: false,
    paramShapes: ({ config, labels }) => {
      const shapes = new Map<string, number[]>();
      linearShapes(shapes, 'classifier.dense', config.hiddenSize, config.hiddenSize);
      linearShapes(shapes, 'classifier.out_proj', labels, config.hiddenSize);
      return shapes;
    },
    initParam: initHead,
    apply: ({ config }, p, output, { dropout, compute }) => {
      const rate = classifierDropoutOf(config);
      const x = apply(dropout, output.first, rate);
      const inner = activation(activationName)(linear(x, p('classifier.dense.weight'), p('classifier.dense.bias'), compute));
      return linear(apply(dropout, inner, rate), p('classifier.out_proj.weight'), p('classifier.out_proj.bias'), compute);
    },
  };
}

/** The tutorial's head: `classifier.0` (N, relu) -> dropout -> `classifier.3`, on the pooled output (or the first token). */
export const mlpHead: Head = {
  granularity: 'sequence',
  usesPooled: true,
  paramShapes: ({ config, labels, hidden }) => {
    if (!hidden) throw new RangeError('the mlp head needs a width (mlp:N)');
    const shapes = new Map<string, number[]>();
    linearShapes(shapes, 'classifier.0', hidden, config.hiddenSize);
    linearShapes(shapes, 'classifier.3', labels, hidden);
    return shapes;
  },
  initParam: initHead,
  apply: ({ config }, p, output, { dropout, compute }) => {
    const input = output.pooled ?? output.first;
    const inner = ops.relu(linear(input, p('classifier.0.weight'), p('classifier.0.bias'), compute));
    return linear(apply(dropout, inner, classifierDropoutOf(config)), p('classifier.3.weight'), p('classifier.3.bias'), compute);
  },
};

/** Token classification: dropout, then `classifier` at every position. */
export const tokenHead: Head = {
  granularity: 'token',
  usesPooled: false,
  paramShapes: ({ config, labels }) => {
    const shapes = new Map<string, number[]>();
    linearShapes(shapes, 'classifier', labels, config.hiddenSize);
    return shapes;
  },
  initParam: initHead,
  apply: ({ config }, p, output, { dropout, compute }) => linear(apply(dropout, output.sequence, classifierDropoutOf(config)), p('classifier.weight'), p('classifier.bias'), compute),
};

