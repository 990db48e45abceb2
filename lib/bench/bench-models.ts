/**
 * What `pjrt-bert bench` measures: the BERT shapes it trains (named configs, B=32 S=128 by
 * default, as in the tutorial), and the model FLOPs of one train step that model FLOPs
 * utilization is computed from.
 */
import { BERT_PRESETS, FAMILIES, type ModelSpec, bertPresetConfig } from '../models/index.js';

/** One benchmarked train step: a BERT classifier's sizes, the batch and the precision. */
export interface BenchModel {
  /** Config name (`tiny`, `mini`, `base`). */
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  labels: number;
  seqLen: number;
  /** Global batch size (one replica). */
  batchSize: number;
  precision: 'f32' | 'bf16';
  /** Optimizer steps per execution (K); the JAX reference runs the same K per call. */
  stepsPerExecution: number;
  /** Hidden and attention dropout (BERT's 0.1 by default, as in fine-tuning). */
  dropout: number;
}

/** The config names `--configs` accepts: the BERT presets. */
export const BENCH_CONFIG_NAMES = Object.keys(BERT_PRESETS) as (keyof typeof BERT_PRESETS)[];

/** Shapes shared by every config of one bench run. */
export interface BenchShape {
  seqLen: number;
  batchSize: number;
  precision: 'f32' | 'bf16';
  stepsPerExecution: number;
  dropout: number;
  vocabSize: number;
  labels: number;
}

/**
 * The benchmark model of a config name and the run's shapes. Sync; throws RangeError naming
 * the known configs for an unknown name.
 */
export function benchModel(name: string, shape: BenchShape): BenchModel {
  if (!Object.hasOwn(BERT_PRESETS, name)) {
    throw new RangeError(`unknown bench config '${name}' (known: ${BENCH_CONFIG_NAMES.join(', ')})`);
  }
  const sizes = BERT_PRESETS[name as keyof typeof BERT_PRESETS];
  return {
    name,
    layers: sizes.numHiddenLayers,
    hidden: sizes.hiddenSize,
    heads: sizes.numAttentionHeads,
    intermediate: sizes.intermediateSize,
    ...shape,
  };
}

/** The model spec (BERT, linear head, HF defaults but the bench's dropout) of a bench model. Sync. */
export function benchSpec(model: BenchModel): ModelSpec {
  const preset = bertPresetConfig(model.name, {
    vocabSize: model.vocabSize,
    labels: Array.from({ length: model.labels }, (_, i) => `LABEL_${i}`),
  });
  const config = {
    ...preset,
    numHiddenLayers: model.layers,
    hiddenSize: model.hidden,
    numAttentionHeads: model.heads,
    intermediateSize: model.intermediate,
    hiddenDropoutProb: model.dropout,
    attentionProbsDropoutProb: model.dropout,
  };
  return { family: FAMILIES.bert, config, head: { kind: FAMILIES.bert.classificationHead } };
}

/**
 * Model FLOPs of one train step (forward + backward, 3x the forward's multiply-adds x 2):
 * `6·B·S·N + 12·L·B·S²·d`, N the encoder's matrix parameters `L·(4·d² + 2·d·I)` (12·L·d² when
 * I = 4d, DESIGN.md's formula; 2.15 TFLOP for BERT-base at B=32, S=128). Embedding lookups,
 * the pooler, the head, softmax and LayerNorm are left out, as usual for MFU. Sync.
 */
export function trainStepFlops(model: Pick<BenchModel, 'layers' | 'hidden' | 'intermediate' | 'seqLen' | 'batchSize'>): number {
  const { layers: L, hidden: d, intermediate: I, seqLen: S, batchSize: B } = model;
  const matrixParams = L * (4 * d * d + 2 * d * I);
  return 6 * B * S * matrixParams + 12 * L * B * S * S * d;
}

/** The median of a non-empty list (the mean of the middle two for an even count). Sync. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Model FLOPs utilization: achieved FLOP/s over the ceiling FLOP/s, or null when unknown. Sync. */
export function mfu(flopsPerStep: number, msPerStep: number | null, ceilingFlops: number | null): number | null {
  if (msPerStep === null || ceilingFlops === null || !(msPerStep > 0) || !(ceilingFlops > 0)) return null;
  return flopsPerStep / (msPerStep / 1000) / ceilingFlops;
}
