/**
 * The programs the Trainer compiles, each once: the train program (K optimizer steps per call,
 * each over A accumulated micro-batches: forward, loss, backward, gradient all-reduce over R
 * replicas, clipping, the optimizer and the learning-rate schedule, with loss and accuracy
 * summed on the device) and the eval program (logits for K batches per call).
 *
 * Shapes, per replica, with m = B / (R x A) examples per micro-batch, in `rows` rows of `S`
 * tokens (rows = m and S = --seq-len when padded to a fixed length; a bucket length S in
 * `bucket` mode; fewer rows holding several examples each in `pack` mode, see padding.ts):
 *   tokens   s32 [K*A, rows, S]  (input ids, attention mask, token type ids; pack: segment and position ids)
 *   starts   s32 [K*A, m]        pack only: flat index (row * S + offset) of each example's first token
 *   targets      [K*A, m, width] ([K*A, rows, S] for token classification)
 *   weights  f32 [K*A, m]        0 for padding examples ([K*A, rows] for token classification)
 *   keys     u32 [K*A, m, 2]     one dropout key per example (see `SlabBatcher.dropoutKeys`)
 * Each distinct shape is one program, compiled once.
 */
import { type EncoderInputs, type ModelSpec, isTokenHead, modelForward, numLabelsOf } from '../models/index.js';
import type { AnyOptimizer, OptimizerState } from '../optim/index.js';
import { clipGradNorm } from '../optim/clipping.js';
import { ops, valueAndGrad, type Tensor } from '../trace/index.js';
import type { Task } from './task.js';

/** One replica's slab inside a traced program. */
export interface SlabTensors {
  inputIds: Tensor;
  attentionMask: Tensor;
  tokenTypeIds: Tensor;
  /** Packed rows only: each token's example in its row (1-based, 0 for padding), [K*A, rows, S]. */
  segmentIds?: Tensor;
  /** Packed rows only: each token's position in its example, [K*A, rows, S]. */
  positionIds?: Tensor;
  /** Packed rows only: the flat index of each example's first token, [K*A, m]. */
  exampleStarts?: Tensor;
  /** The task's targets per example: [K*A, m, width] (see task.ts). */
  targets: Tensor;
  /** 1 for a real example, 0 for padding: [K*A, m]. */
  weights: Tensor;
  keys: Tensor;
  /** s32 scalar: how many of the K steps hold real examples (fewer in an epoch's last call). */
  steps: Tensor;
}

/** What one call of the train program reports, summed over its steps and all replicas. */
export type TrainMetricsTensors = {
  /** Sum over the loss's units (examples, or tagged tokens) of their loss. */
  lossSum: Tensor;
  /** Units predicted right (0 for a task without accuracy, regression). */
  correct: Tensor;
  /** Units seen. */
  examples: Tensor;
};

/** Settings baked into the train program. */
export interface TrainProgramOptions {
  spec: ModelSpec;
  /** The task: its targets, loss and accuracy. */
  task: Task;
  optimizer: AnyOptimizer;
  replicas: number;
  /** Optimizer steps per call (K). */
  steps: number;
  /** Micro-batches per step (A). */
  accumulation: number;
  /** Global-norm clipping threshold; 0 disables. */
  clipNorm: number;
  computeDtype: 'f32' | 'bf16';
  /** Whether dropout is on (rates above 0 and training). */
  dropout: boolean;
}

/** Row `index` of a [N, ...rest] tensor, as [...rest]. */
function row(x: Tensor, index: Tensor): Tensor {
  const [, ...rest] = x.shape;
  const start = [index, ...rest.map(() => 0)];
  return ops.reshape(ops.dynamicSlice(x, start, [1, ...rest]), rest);
}

/** The tokens of micro-batch `index` of a slab, with the packing fields when the slab has them. */
function encoderInputs(slab: TokenSlab, index: Tensor): EncoderInputs {
  const packed = slab.segmentIds && slab.positionIds && slab.exampleStarts;
  return {
    inputIds: row(slab.inputIds, index),
    attentionMask: row(slab.attentionMask, index),
    tokenTypeIds: row(slab.tokenTypeIds, index),
    ...(packed ? { segmentIds: row(slab.segmentIds!, index), positionIds: row(slab.positionIds!, index), exampleStarts: row(slab.exampleStarts!, index) } : {}),
  };
}

/** The token fields of a slab (what the eval program reads, with `steps`). */
export type TokenSlab = Pick<SlabTensors, 'inputIds' | 'attentionMask' | 'tokenTypeIds' | 'segmentIds' | 'positionIds' | 'exampleStarts'>;

/** Sum over all replicas (identity for one replica). */
function acrossReplicas(x: Tensor, replicas: number): Tensor {
  return replicas > 1 ? ops.allReduceSum(x, replicas) : x;
}

/**
 * The traced train function: `(params, state, slab) -> { params, state, metrics }`. The loop
 * runs `slab.steps` of the K steps, so the padding steps of an epoch's last call cost nothing
 * and the program is still compiled once. Sync; traced.
 */
export function makeTrainStep(options: TrainProgramOptions) {
  const { spec, task, optimizer, replicas, steps, accumulation, clipNorm, computeDtype, dropout } = options;
  return (params: Record<string, Tensor>, state: OptimizerState, slab: SlabTensors) => {
    const zero = ops.zeros([], 'f32');
    const init: TrainCarry = { params, state, metrics: { lossSum: zero, correct: zero, examples: zero } };
    const body = (k: Tensor, carry: TrainCarry): TrainCarry => {
      // The loss's units (real examples, or tagged tokens) of this step over every micro-batch
      // and replica: the loss divides by their count, so the summed gradients are those of the
      // mean loss over the global batch.
      const micros = Array.from({ length: accumulation }, (_, a) => {
        const index = ops.add(ops.mul(k, accumulation), a);
        const targets = row(slab.targets, index);
        const weights = row(slab.weights, index);
        return { index, targets, units: task.unitWeights(targets, weights) };
      });
      const local = micros.reduce((sum, micro) => ops.add(sum, ops.sum(micro.units)), zero);
      const examples = acrossReplicas(local, replicas);
      const count = ops.maximum(examples, 1);

      let grads: Record<string, Tensor> | undefined;
      let lossSum = zero;
      let correct = zero;
      for (const { index, targets, units } of micros) {
        const inputs = encoderInputs(slab, index);
        const key = row(slab.keys, index);
        const loss = (p: Record<string, Tensor>) => {
          const logits = modelForward(spec, p, inputs, { train: true, computeDtype, ...(dropout ? { dropoutKey: key } : {}) });
          return [ops.div(ops.sum(ops.mul(task.unitLosses(logits, targets), units)), count), logits] as const;
        };
        const [[value, logits], g] = valueAndGrad(loss, { hasAux: true })(carry.params);
        grads = grads ? ops.mapTensors(ops.add, grads, g) : g;
        lossSum = ops.add(lossSum, ops.mul(value, count));
        if (task.hits) correct = ops.add(correct, ops.sum(ops.mul(task.hits(logits, targets), units)));
      }
      const summed = replicas > 1 ? ops.mapTensors((g) => ops.allReduceSum(g, replicas), grads!) : grads!;
      const clipped = clipNorm > 0 ? clipGradNorm(summed, clipNorm).grads : summed;
      const updated = optimizer.update(carry.params, clipped, carry.state);
      return {
        params: updated.params,
        state: updated.state,
        metrics: {
          lossSum: ops.add(carry.metrics.lossSum, acrossReplicas(lossSum, replicas)),
          correct: ops.add(carry.metrics.correct, acrossReplicas(correct, replicas)),
          examples: ops.add(carry.metrics.examples, examples),
        },
      };
    };
    const [, final] = ops.whileLoop<[Tensor, TrainCarry]>(
      ([k]) => ops.less(k, ops.minimum(slab.steps, steps)),
      ([k, carry]) => [ops.add(k, 1), body(k, carry)],
      [ops.zeros([], 's32'), init],
    );
    return final;
  };
}

/** The state threaded through the K steps of the train program (a type alias, so it is a Tree). */
export type TrainCarry = {
  params: Record<string, Tensor>;
  /** The optimizer's state, an opaque tree. */
  state: OptimizerState;
  metrics: TrainMetricsTensors;
};

/**
 * The traced eval function: `(params, slab) -> logits f32 [K, m, labels]` (m examples per
 * step), or `[K, rows, S, labels]` for a token head (per row position; see the module comment),
 * dropout off. Only the token fields and `steps` of the slab are read; rows of steps beyond
 * `steps` (padding of the last call) are left zero without being computed. Sync; traced.
 */
export function makeEvalStep(spec: ModelSpec, steps: number, computeDtype: 'f32' | 'bf16') {
  return (params: Record<string, Tensor>, slab: TokenSlab & Pick<SlabTensors, 'steps'>) => {
    const [, rows, seqLen] = slab.inputIds.shape as [number, number, number];
    const examples = slab.exampleStarts ? (slab.exampleStarts.shape[1] as number) : rows;
    // per step: [m, labels], or [rows, S, labels] for a token head
    const perStep = isTokenHead(spec) ? [rows, seqLen, numLabelsOf(spec.config)] : [examples, numLabelsOf(spec.config)];
    const init = ops.zeros([steps, ...perStep], 'f32');
    const [, all] = ops.whileLoop<[Tensor, Tensor]>(
      ([k]) => ops.less(k, ops.minimum(slab.steps, steps)),
      ([k, all]) => {
        const logits = modelForward(spec, params, encoderInputs(slab, k), { train: false, computeDtype });
        return [ops.add(k, 1), ops.dynamicUpdateSlice(all, ops.reshape(ops.cast(logits, 'f32'), [1, ...perStep]), [k, ...perStep.map(() => 0)])];
      },
      [ops.zeros([], 's32'), init],
    );
    return all;
  };
}
