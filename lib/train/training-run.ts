/**
 * One `fit`: the device-side state (parameters and optimizer state per replica, donated to
 * each call of the train program), the loop over calls and epochs, validation, early
 * stopping, checkpoints and exact resume, and TensorBoard event files under `out/runs/` (the
 * loss of every call, every epoch's metrics).
 */
import path from 'node:path';
import { probeWritableDir } from '../io/output-dir.js';
import type { Tensor as HostTensor } from '../io/tensor.js';
import { type HostParam, type ModelParams, parameterCount } from '../models/index.js';
import { type AnyOptimizer, constantSchedule, linearSchedule, makeOptimizer } from '../optim/index.js';
import { loadModelDir, saveModelDir, tokenizerWriter, type ModelTokenizer } from '../pretrained/index.js';
import type { DeviceArray, Runtime } from '../runtime/index.js';
import { jit, type JitFunction, type Tree } from '../trace/index.js';
import { type EpochMetrics, type TrainerConfig, lowerIsBetter } from './config.js';
import { exportCheckpoint, findCheckpoint, writeCheckpoint, type TrainerStateJson } from './checkpoint.js';
import { DataError, type TokenizedExamples } from './data.js';
import { SlabBatcher, type DataPosition } from './data-batches.js';
import { EvalRunner, scoreLogits } from './evaluation.js';
import { checkTrainMemory, deviceMemoryLimit, estimateTrainMemory } from './memory-estimate.js';
import { type ModelState, disposeAll, getParams, putParams } from './model-state.js';
import { disposeState, optimizerStateToHost, placeOptimizerState } from './optimizer-state.js';
import type { ProgressReporter } from './progress.js';
import { type ShapePlan, type ShapedCall, type ShapedSlab, defaultBuckets, planRun, sameShapeSlab, shapeCall } from './padding.js';
import { makeTrainStep } from './programs.js';
import { TensorBoardWriter } from './tensorboard.js';
import type { Task } from './task.js';

/** What a run needs from its Trainer. */
export interface RunHost {
  readonly config: TrainerConfig;
  readonly runtime: Runtime;
  readonly tokenizer: ModelTokenizer;
}

/** The folder of the TensorBoard event files in an output directory (HF Trainer's `runs/`). */
export const TENSORBOARD_DIR = 'runs';

/** An epoch's metrics as TensorBoard tags: `train/loss`, `val/f1`, `perf/padding_fraction`, ... */
function epochScalars(metrics: EpochMetrics): Record<string, number | undefined> {
  const scalars: Record<string, number | undefined> = {
    'train/loss': metrics.loss,
    'train/accuracy': metrics.accuracy,
    'perf/examples_per_second': metrics.examplesPerSecond,
    'perf/padding_fraction': metrics.paddingFraction,
    'perf/epoch_seconds': metrics.seconds,
  };
  for (const [key, value] of Object.entries(metrics)) if (key.startsWith('val_') && typeof value === 'number') scalars[`val/${key.slice(4)}`] = value;
  return scalars;
}

/** Settings that must be equal to resume a run from its checkpoint. */
function fingerprint(config: TrainerConfig, trainCount: number): Record<string, unknown> {
  const { model, task, batchSize, replicas, seqLen, gradientAccumulationSteps, epochs, learningRate, optimizer, weightDecay, warmupSteps, schedule, clipNorm, precision, seed, shuffle, head, groupByLength } = config;
  // The padding mode changes only the work, not the mathematics, so a run may resume in another.
  return { model, task, batchSize, replicas, seqLen, gradientAccumulationSteps, epochs, learningRate, optimizer, weightDecay, warmupSteps, schedule, clipNorm, precision, seed, shuffle, head, trainExamples: trainCount, ...(groupByLength ? { groupByLength } : {}) };
}

/** Runs the train program over the data; see the module comment. */
export class TrainingRun implements Disposable {
  readonly #host: RunHost;
  readonly #model: ModelState;
  readonly #train: TokenizedExamples;
  readonly #validation: TokenizedExamples;
  readonly #reporter: ProgressReporter;
  readonly #batcher: SlabBatcher;
  readonly #program: JitFunction<ReturnType<typeof makeTrainStep>>;
  readonly #eval: EvalRunner;
  #params: ModelParams<DeviceArray>[] = [];
  /** The parameters when nothing was placed on the devices (a finished run's checkpoint). */
  #finalParams: ModelParams<HostParam> | undefined;
  readonly #optimizer: AnyOptimizer;
  readonly #task: Task;
  /** Whether `out` holds a checkpoint of this run (resumed from, or written). */
  #checkpointed = false;
  /** Parameters of the model (for the disk-space check). */
  readonly #parameterCount: number;
  #state: Tree<DeviceArray>[] = [];
  /** The shapes this run compiles (see planRun). */
  readonly #shapes: ShapePlan;

  /** Sync; throws DataError/RangeError for data that cannot be batched as configured. */
  constructor(host: RunHost, model: ModelState, task: Task, train: TokenizedExamples, validation: TokenizedExamples, reporter: ProgressReporter) {
    this.#host = host;
    this.#model = model;
    this.#task = task;
    this.#train = train;
    this.#validation = validation;
    this.#reporter = reporter;
    const c = host.config;
    if (train.count === 0) throw new DataError('no training rows (after the validation split)');
    this.#batcher = new SlabBatcher(train, { globalBatchSize: c.batchSize, replicas: c.replicas, stepsPerCall: c.stepsPerExecution, shuffle: c.shuffle, seed: c.seed, groupByLength: c.groupByLength });
    this.#shapes = planRun(this.#batcher.stepLengths(c.epochs), {
      mode: c.padding,
      replicas: c.replicas,
      accumulation: c.gradientAccumulationSteps,
      seqLen: train.seqLen,
      buckets: c.buckets ?? defaultBuckets(train.seqLen),
      plan: c.buckets === undefined,
    });
    const totalSteps = c.epochs * this.#batcher.stepsPerEpoch;
    const lr = c.schedule === 'linear' ? linearSchedule({ lr: c.learningRate, warmupSteps: c.warmupSteps, totalSteps }) : constantSchedule({ lr: c.learningRate, warmupSteps: c.warmupSteps });
    const optimizer = makeOptimizer(c.optimizer, { lr, betas: [c.beta1, c.beta2], eps: c.epsilon, weightDecay: c.weightDecay });
    this.#optimizer = optimizer;
    const mc = model.spec.config;
    const parameters = parameterCount(model.spec);
    const cpu = host.runtime.platformName.toLowerCase() === 'cpu';
    const estimate = estimateTrainMemory(mc, {
      parameters,
      microBatch: c.batchSize / (c.replicas * c.gradientAccumulationSteps),
      seqLen: train.seqLen,
      replicasPerMemory: cpu ? c.replicas : 1,
      activationBytes: c.precision === 'bf16' ? 2 : 4,
    });
    checkTrainMemory(estimate, deviceMemoryLimit(host.runtime), { batchSize: c.batchSize, seqLen: train.seqLen, device: host.runtime.platformName });
    this.#parameterCount = parameters;
    const step = makeTrainStep({ spec: model.spec, task, optimizer, replicas: c.replicas, steps: c.stepsPerExecution, accumulation: c.gradientAccumulationSteps, clipNorm: c.clipNorm, computeDtype: c.precision, dropout: true });
    this.#program = jit(step, { runtime: host.runtime, replicas: c.replicas, donateArgnums: [0, 1], name: 'train' });
    this.#eval = new EvalRunner({ runtime: host.runtime, config: c }, model.spec);
  }

  /** `{ accuracy }` of the units counted right, or nothing for a task without accuracy (regression). */
  #accuracy(correct: number, units: number): { accuracy?: number } {
    return this.#task.hits ? { accuracy: correct / Math.max(1, units) } : {};
  }

  /** Programs compiled by this run: train and eval programs, one per distinct shape (one each with `fixed` padding). */
  get compileCount(): number {
    return this.#program.compileCount + this.#eval.compileCount;
  }

  /** Puts parameters and optimizer state (fresh, or a checkpoint's) on every replica's device. */
  async #place(params: ModelParams<HostParam>, saved?: { tensors: ReadonlyMap<string, HostTensor>; step: number }): Promise<void> {
    const { runtime, config } = this.#host;
    for (let r = 0; r < config.replicas; r++) this.#params.push(await putParams(runtime, params, r));
    this.#state = await placeOptimizerState(runtime, this.#optimizer, this.#params, saved);
  }

  /**
   * One replica's part of a call (reshaped for its padding mode, see padding.ts) as device
   * arrays, with the dropout keys of its examples.
   */
  async #putSlab(call: ShapedCall, part: ShapedSlab, replica: number, firstStep: number, steps: number) {
    const { runtime, config } = this.#host;
    const A = config.gradientAccumulationSteps;
    const micro = config.stepsPerExecution * A; // [K, b, ...] is [K*A, b/A, ...] in row-major order
    const m = this.#batcher.shardSize / A;
    const tokens = [micro, call.rows, call.seqLen];
    const perToken = this.#task.granularity === 'token';
    const keys = this.#batcher.dropoutKeys(firstStep, replica); // [K, b, 2]: one key per example of the global batch
    const device = { device: replica };
    const packed = part.segmentIds && part.positionIds && part.exampleStarts;
    return {
      inputIds: await runtime.put(part.inputIds, tokens, device),
      attentionMask: await runtime.put(part.attentionMask, tokens, device),
      tokenTypeIds: await runtime.put(part.tokenTypeIds, tokens, device),
      ...(packed
        ? { segmentIds: await runtime.put(part.segmentIds!, tokens, device), positionIds: await runtime.put(part.positionIds!, tokens, device), exampleStarts: await runtime.put(part.exampleStarts!, [micro, m], device) }
        : {}),
      targets: await runtime.put(part.targets, perToken ? tokens : [micro, m, this.#train.targetWidth], device),
      weights: await runtime.put(part.weights, perToken ? [micro, call.rows] : [micro, m], device),
      keys: await runtime.put(keys, [micro, m, 2], device),
      steps: await runtime.put(Int32Array.of(steps), [], device),
    };
  }

  /** The current parameters (replica 0's) on the host. Async. */
  async hostParams(): Promise<ModelParams<HostParam>> {
    if (this.#finalParams) return this.#finalParams;
    return getParams(this.#params[0]!);
  }

  /**
   * Trains for the configured epochs (resuming from `out` when it holds a checkpoint of the
   * same settings). Async; resolves to the metrics of every epoch, earlier runs' included.
   * @throws Error for a checkpoint of other settings or a NaN loss; PjrtError from the runtime.
   */
  async fit(): Promise<EpochMetrics[]> {
    const out = this.#host.config.out;
    const board = out ? await TensorBoardWriter.create(path.join(out, TENSORBOARD_DIR)) : undefined;
    try {
      return await this.#fit(board);
    } finally {
      await board?.close().catch(() => undefined); // a full disk must not hide the run's own error
    }
  }

  async #fit(board: TensorBoardWriter | undefined): Promise<EpochMetrics[]> {
    const { config } = this.#host;
    const out = config.out;
    let json: TrainerStateJson = {
      format: 1,
      step: 0,
      epoch: 0,
      callsDoneInEpoch: 0,
      epochComplete: false,
      seed: config.seed,
      labels: [...(this.#model.spec.config.labels ?? [])],
      epochsWithoutImprovement: 0,
      fingerprint: fingerprint(config, this.#train.count),
    };
    const history: EpochMetrics[] = [];
    const found = out ? await findCheckpoint(out) : { notes: [] };
    if (out) {
      // A checkpoint holds the weights and two Adam moments (f32); the last two are kept, and
      // the first run must have room for both (plus best/ when kept).
      const checkpointBytes = 12 * this.#parameterCount; // weights + Adam's two moments, f32
      await probeWritableDir(out, { bytesNeeded: checkpointBytes * (found.checkpoint ? 1 : 2) + (config.keepBest ? 4 * this.#parameterCount : 0) });
    }
    for (const note of found.notes) this.#reporter.message(`${out}: ${note}`);
    const saved = found.checkpoint;
    if (out && saved) {
      this.#checkpointed = true;
      const differences = Object.keys(json.fingerprint).filter((key) => JSON.stringify(saved.state.json.fingerprint[key]) !== JSON.stringify(json.fingerprint[key]));
      if (differences.length) {
        throw new Error(
          `--out ${out} holds a run with other settings (${differences.map((key) => `${key}: ${JSON.stringify(saved.state.json.fingerprint[key])} there, ${JSON.stringify(json.fingerprint[key])} now`).join('; ')}); use the same settings to resume, or a new --out`,
        );
      }
      await exportCheckpoint(out, saved); // repairs the top level after a crash mid-update
      history.push(...(saved.metrics as unknown as EpochMetrics[]));
      json = { ...saved.state.json, fingerprint: json.fingerprint };
      const resumeAt = this.#batcher.positionAt(json.step);
      if (json.finished || resumeAt.epoch >= config.epochs) {
        const why = json.finished && resumeAt.epoch < config.epochs ? `it stopped early at epoch ${history.at(-1)?.epoch ?? resumeAt.epoch}` : `all ${config.epochs} epoch(s) are trained`;
        this.#reporter.message(`${out} is already complete (${why}, step ${json.step}); nothing to train. Use a new --out to train again.`);
        this.#finalParams = (await loadModelDir(saved.dir, { labels: json.labels, head: this.#model.spec.head })).params;
        return history;
      }
      const loaded = await loadModelDir(saved.dir, { labels: json.labels, head: this.#model.spec.head });
      await this.#place(loaded.params, { tensors: saved.state.optimizer, step: json.step });
      this.#reporter.message(`resuming ${out} from step ${json.step} (epoch ${resumeAt.epoch + 1} of ${config.epochs})`);
    } else {
      await this.#place(this.#model.params);
    }
    let position: DataPosition = this.#batcher.positionAt(json.step);
    let firstCall = true;
    while (position.epoch < config.epochs) {
      const epoch = position.epoch;
      const started = performance.now();
      let lossSum = 0;
      let correct = 0;
      let examples = 0;
      let hostSeconds = 0;
      let deviceSeconds = 0;
      let compileSeconds = 0;
      let slots = 0;
      let realTokens = 0;
      do {
        const callStarted = performance.now();
        const A = config.gradientAccumulationSteps;
        const m = this.#batcher.shardSize / A;
        const slab = sameShapeSlab((maxSteps) => this.#batcher.slab(position, maxSteps), { mode: config.padding, accumulation: A, m, seqLen: this.#train.seqLen, ...this.#shapes });
        const firstStep = this.#batcher.globalStep(position);
        const call = shapeCall(slab.replicas, { mode: config.padding, micro: config.stepsPerExecution * A, m, seqLen: this.#train.seqLen, ...this.#shapes, tokenTask: this.#task.granularity === 'token', realMicro: slab.steps * A });
        slots += call.slots;
        realTokens += call.realTokens;
        const args = await Promise.all(call.replicas.map(async (part, r) => [this.#params[r]!, this.#state[r]!, await this.#putSlab(call, part, r, firstStep, slab.steps)] as const));
        const compiled = this.#program.compileCount;
        const compileStarted = performance.now();
        await this.#program.compile(...args[0]!); // a new shape (bucket, row count) compiles once
        const compiling = this.#program.compileCount > compiled;
        if (compiling) compileSeconds += (performance.now() - compileStarted) / 1000;
        const launched = performance.now();
        const results = await this.#program.replicated(args);
        const finished = performance.now();
        for (const [, , tensors] of args) for (const array of Object.values(tensors)) array.dispose();
        this.#params = results.map((result) => result.params as ModelParams<DeviceArray>);
        this.#state = results.map((result) => (result as { state: unknown }).state as Tree<DeviceArray>);
        const metrics = results[0]!.metrics as Record<'lossSum' | 'correct' | 'examples', DeviceArray>;
        const [callLoss, callCorrect, callExamples] = await Promise.all([metrics.lossSum, metrics.correct, metrics.examples].map(async (array) => ((await array.toHost()) as Float32Array)[0]!));
        for (const result of results) for (const array of Object.values(result.metrics as Record<string, DeviceArray>)) array.dispose();
        if (!Number.isFinite(callLoss)) {
          throw new Error(`the training loss became ${callLoss} in epoch ${epoch + 1} near step ${firstStep + 1}; lower the learning rate (--lr) or enable clipping (--clip-norm); ${out && this.#checkpointed ? `the last checkpoint in ${out} is untouched` : 'no checkpoint was written'}`);
        }
        lossSum += callLoss;
        correct += callCorrect;
        examples += callExamples;
        board?.scalar('train/loss_per_call', callLoss / Math.max(1, callExamples), this.#batcher.globalStep(position) + slab.steps);
        if (!firstCall && !compiling) {
          hostSeconds += (launched - callStarted + performance.now() - finished) / 1000;
          deviceSeconds += (finished - launched) / 1000;
        }
        firstCall = false; // the first call (and one with a new shape) also compiles: kept out of the host/device ratio
        position = slab.next;
        const elapsed = (performance.now() - started) / 1000 - compileSeconds;
        const progress = { epoch: epoch + 1, step: position.epoch === epoch ? position.step : this.#batcher.stepsPerEpoch, stepsPerEpoch: this.#batcher.stepsPerEpoch, loss: lossSum / Math.max(1, examples), ...this.#accuracy(correct, examples), examplesPerSecond: examples / Math.max(elapsed, 1e-9) };
        this.#reporter.step(progress, elapsed);
        await config.callbacks?.onStep?.(progress);
      } while (position.epoch === epoch);
      const seconds = (performance.now() - started) / 1000 - compileSeconds;
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        step: this.#batcher.globalStep({ epoch, step: 0 }) + this.#batcher.stepsPerEpoch,
        loss: lossSum / Math.max(1, examples),
        ...this.#accuracy(correct, examples),
        examplesPerSecond: examples / seconds,
        seconds,
        compileSeconds,
        hostOverDevice: hostSeconds / Math.max(deviceSeconds, 1e-9),
        paddingFraction: 1 - realTokens / Math.max(1, slots),
        programsCompiled: this.compileCount,
      };
      if (this.#validation.count > 0) {
        const validationStarted = performance.now();
        const evalCompileBefore = this.#eval.compileSeconds;
        const logits = await this.#eval.logits(this.#params, this.#validation);
        const evalCompile = this.#eval.compileSeconds - evalCompileBefore;
        const score = scoreLogits(this.#task, this.#model.spec, logits, this.#validation).metrics;
        metrics.compileSeconds += evalCompile;
        for (const [name, value] of Object.entries(score)) metrics[`val_${name}`] = value;
        metrics.programsCompiled = this.compileCount;
        metrics.validationSeconds = (performance.now() - validationStarted) / 1000 - evalCompile;
      }
      history.push(metrics);
      this.#reporter.epoch(metrics);
      board?.scalars(epochScalars(metrics), metrics.step);
      await board?.flush();
      const watched = config.earlyStopping?.metric ?? config.keepBest;
      let improved = false;
      if (watched && metrics[watched] !== undefined) {
        const value = metrics[watched]!;
        const minDelta = config.earlyStopping?.minDelta ?? 0;
        const better = json.best === undefined || (lowerIsBetter(watched) ? value < json.best.value - minDelta : value > json.best.value + minDelta);
        if (better) json.best = { metric: watched, value, epoch: epoch + 1 };
        improved = better;
        json.epochsWithoutImprovement = better ? 0 : json.epochsWithoutImprovement + 1;
      }
      const stopEarly = config.earlyStopping !== undefined && json.epochsWithoutImprovement >= config.earlyStopping.patience;
      json = { ...json, step: metrics.step, epoch, callsDoneInEpoch: this.#batcher.callsPerEpoch, epochComplete: true, finished: stopEarly || epoch + 1 >= config.epochs };
      if (out) await this.#checkpoint(out, json, history, improved && config.keepBest !== undefined);
      const stop = (await config.callbacks?.onEpochEnd?.(metrics)) === false;
      if (stop) break;
      if (stopEarly) {
        this.#reporter.message(`early stopping: ${config.earlyStopping!.metric} has not improved for ${json.epochsWithoutImprovement} epoch(s) (best ${json.best?.value.toFixed(4)} at epoch ${json.best?.epoch})`);
        break;
      }
    }
    return history;
  }

  async #checkpoint(out: string, json: TrainerStateJson, history: readonly EpochMetrics[], isBest: boolean): Promise<void> {
    const params = await this.hostParams();
    const optimizer = await optimizerStateToHost(this.#state[0]!);
    const { tokenizer, config } = this.#host;
    await writeCheckpoint(out, {
      writeModel: (dir) => saveModelDir(dir, this.#model.spec, params, { writeTokenizer: tokenizerWriter(tokenizer), seqLen: config.seqLen }),
      state: { json, optimizer },
      metrics: history as unknown as Record<string, unknown>[],
      isBest,
    });
    this.#checkpointed = true;
  }

  /** Frees the device state and compiled programs. Sync. */
  dispose(): void {
    for (const params of this.#params) disposeAll(params);
    for (const state of this.#state) disposeState(state);
    this.#program.dispose();
    this.#eval.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
