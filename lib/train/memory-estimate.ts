/**
 * A memory estimate of a train step, made before anything is compiled, so a batch that cannot
 * fit is refused in a second with the numbers instead of after a long compile with an
 * out-of-memory error.
 *
 * The activations kept for the backward pass of one encoder layer are about
 * `S·(8H + 3I) + 3·heads·S²` floats per example (layer input, attention projections and
 * context, the feed-forward's intermediate before and after its activation, attention scores
 * and probabilities). Measured on the CPU plugin (tiny preset, S=128, f32) the true figure is
 * about 1.25x this, so the estimate errs low: what it refuses surely does not fit.
 * Parameters cost 4 copies (weights, gradients, two Adam moments) in f32.
 */
import os from 'node:os';
import type { EncoderConfigBase } from '../models/index.js';
import { formatBytes } from '../io/output-dir.js';
import type { Runtime } from '../runtime/index.js';

/** An estimate of a train step's memory. */
export interface TrainMemoryEstimate {
  /** Parameters, gradients and optimizer moments, over all replicas placed on the device. */
  stateBytes: number;
  /** Activations kept for the backward pass, over all replicas placed on the device. */
  activationBytes: number;
  /** Their sum. */
  totalBytes: number;
}

/** What decides the estimate. */
export interface TrainMemoryShape {
  /** Parameters of the model (all of them, f32). */
  parameters: number;
  /** Examples per micro-batch on one replica. */
  microBatch: number;
  seqLen: number;
  /** Replicas sharing one memory (all of them on the CPU plugin, one on a GPU or TPU core). */
  replicasPerMemory: number;
  /** Bytes per activation value: 4 for f32, 2 for bf16 (the estimate keeps f32 softmax). */
  activationBytes: 2 | 4;
}

/** The estimate for `config` and `shape` (see the module comment). Sync; never throws. */
export function estimateTrainMemory(config: EncoderConfigBase, shape: TrainMemoryShape): TrainMemoryEstimate {
  const { hiddenSize: h, intermediateSize: i, numAttentionHeads: heads, numHiddenLayers: layers } = config;
  const s = shape.seqLen;
  const perExampleLayer = shape.activationBytes * s * (8 * h + 3 * i) + 4 * 3 * heads * s * s;
  const activationBytes = shape.replicasPerMemory * shape.microBatch * layers * perExampleLayer;
  const stateBytes = shape.replicasPerMemory * shape.parameters * 4 * 4;
  return { stateBytes, activationBytes, totalBytes: stateBytes + activationBytes };
}

/**
 * The memory one device can use: the plugin's reported limit, else (the CPU plugin) the
 * machine's memory. Undefined when unknown. Sync; never throws.
 */
export function deviceMemoryLimit(runtime: Runtime): number | undefined {
  try {
    const limit = runtime.memoryStats(0)?.bytesLimit;
    if (typeof limit === 'number' && limit > 0) return limit;
  } catch {
    // no stats from this plugin
  }
  return runtime.platformName.toLowerCase() === 'cpu' ? os.totalmem() : undefined;
}

/**
 * Throws when the estimate exceeds what the device has. Sync.
 * @throws RangeError with the estimate, the limit and what to change.
 */
export function checkTrainMemory(estimate: TrainMemoryEstimate, limit: number | undefined, what: { batchSize: number; seqLen: number; device: string }): void {
  if (limit === undefined || estimate.totalBytes <= limit) return;
  throw new RangeError(
    `a train step with batch size ${what.batchSize} at sequence length ${what.seqLen} needs about ${formatBytes(estimate.totalBytes)} ` +
      `(activations ${formatBytes(estimate.activationBytes)}, parameters and optimizer state ${formatBytes(estimate.stateBytes)}), ` +
      `but the ${what.device} device has ${formatBytes(limit)}; lower --batch-size or --seq-len, or split each step with --gradient-accumulation-steps N`,
  );
}
