/**
 * Dynamic batching: the inputs of concurrent requests wait in one queue and run together as one
 * engine call of up to `maxBatchSize` inputs. A batch leaves when it is full, or `maxWaitMs` after
 * its oldest input was queued, or at once while draining; with R replicas up to R batches run at
 * the same time, one per replica, and a replica that comes free takes the next batch at once if
 * its oldest input has waited `maxWaitMs` already. A request's inputs may land in several
 * batches; each answer goes back to its own request, in order.
 *
 * Faults stay local: when the engine rejects a batch, only the requests with an input in that
 * batch fail (their inputs still queued are dropped); everything else goes on.
 *
 *     const batcher = new Batcher({ engine, maxBatchSize: 32, maxWaitMs: 5, maxQueue: 1024 });
 *     const { outputs } = await batcher.submit(encodedInputs); // throws QueueFullError when full
 */
import type { EncodedInput, EngineOutput, ServeEngine } from './engine.js';

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the server's log lines go (nothing is printed unless one is given). */
export type ServeLog = (level: LogLevel, message: string) => void;

/** Thrown by {@link Batcher.submit} when the queue has no room for a request's inputs. */
export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly asked: number,
    readonly maxQueue: number,
  ) {
    super(`the queue is full (${queued} inputs queued, ${asked} more asked, max ${maxQueue}); retry later`);
    this.name = 'QueueFullError';
  }
}

/** Rejects a request whose inputs were in a batch the engine failed. */
export class BatchFailedError extends Error {
  constructor(
    message: string,
    readonly replica: number,
    readonly batchSize: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BatchFailedError';
  }
}

/** Rejects a request that was cancelled (its client went away) before all its inputs ran. */
export class CancelledError extends Error {
  constructor() {
    super('the request was cancelled before its inputs ran');
    this.name = 'CancelledError';
  }
}

/** What one engine call did, for metrics. */
export interface BatchReport {
  readonly replica: number;
  /** Inputs in the batch. */
  readonly size: number;
  /** Requests with an input in the batch. */
  readonly requests: number;
  /** Seconds the engine took. */
  readonly seconds: number;
  /** Seconds each input waited in the queue. */
  readonly waits: readonly number[];
  /** The engine's rejection, when it failed. */
  readonly error?: Error;
}

/** Options of {@link Batcher}. */
export interface BatcherOptions<E extends EncodedInput> {
  readonly engine: Pick<ServeEngine<E>, 'run'>;
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  /** Batches that may run at once (default 1); replica indices `0 .. replicas-1` go to the engine. */
  readonly replicas?: number;
  /** Gets one `debug` line per batch (`error` for a failed one). */
  readonly log?: ServeLog;
  /** Called after every engine call, with what it did. */
  readonly onBatch?: (report: BatchReport) => void;
}

/** A request's outputs, with how long its inputs waited and ran (means over its inputs, seconds). */
export interface SubmitResult {
  readonly outputs: EngineOutput[];
  readonly queueSeconds: number;
  readonly inferenceSeconds: number;
}

interface Job {
  readonly outputs: EngineOutput[];
  remaining: number;
  settled: boolean;
  queueSeconds: number;
  inferenceSeconds: number;
  resolve(result: SubmitResult): void;
  reject(error: Error): void;
}

interface Entry<E> {
  readonly job: Job;
  readonly index: number;
  readonly input: E;
  readonly queuedAt: number;
}

const now = () => performance.now();

/** The queue and the dispatch of batches to the engine's replicas. */
export class Batcher<E extends EncodedInput> {
  readonly #options: BatcherOptions<E>;
  readonly #queue: Entry<E>[] = [];
  readonly #freeReplicas: number[];
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing = false;
  #idleWaiters: (() => void)[] = [];

  /** Sync; throws RangeError for a size, wait, queue bound or replica count out of range, naming it. */
  constructor(options: BatcherOptions<E>) {
    const replicas = options.replicas ?? 1;
    const check = (name: string, value: number, min: number) => {
      if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} ${value} must be an integer >= ${min}`);
    };
    check('maxBatchSize', options.maxBatchSize, 1);
    check('maxQueue', options.maxQueue, 1);
    check('replicas', replicas, 1);
    if (!(options.maxWaitMs >= 0 && Number.isFinite(options.maxWaitMs))) throw new RangeError(`maxWaitMs ${options.maxWaitMs} must be a finite number >= 0`);
    this.#options = options;
    this.#freeReplicas = Array.from({ length: replicas }, (_, i) => i);
  }

  /** Inputs waiting in the queue (not yet running). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Batches running on the engine now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Queues a request's inputs. Sync: throws QueueFullError at once when they do not fit in the
   * queue (nothing is queued then). Returns a promise of one output per input, in order; it
   * rejects with BatchFailedError when a batch holding one of its inputs failed, or CancelledError
   * after `signal` aborted.
   */
  submit(inputs: readonly E[], signal?: AbortSignal): Promise<SubmitResult> {
    if (this.#queue.length + inputs.length > this.#options.maxQueue) throw new QueueFullError(this.#queue.length, inputs.length, this.#options.maxQueue);
    if (inputs.length === 0) return Promise.resolve({ outputs: [], queueSeconds: 0, inferenceSeconds: 0 });
    return new Promise<SubmitResult>((resolve, reject) => {
      const job: Job = {
        outputs: new Array<EngineOutput>(inputs.length),
        remaining: inputs.length,
        settled: false,
        queueSeconds: 0,
        inferenceSeconds: 0,
        resolve,
        reject,
      };
      if (signal?.aborted) return reject(new CancelledError());
      signal?.addEventListener('abort', () => this.#fail(job, new CancelledError()), { once: true });
      const queuedAt = now();
      inputs.forEach((input, index) => this.#queue.push({ job, index, input, queuedAt }));
      this.#pump();
    });
  }

  /**
   * For shutting down: from now on batches leave without waiting for `maxWaitMs`; resolves once
   * the queue is empty and no batch is running. Async; never rejects (request failures go to
   * their requests).
   */
  drain(): Promise<void> {
    this.#flushing = true;
    this.#pump();
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Settles `job` with `error` and drops its inputs still queued. */
  #fail(job: Job, error: Error): void {
    if (job.settled) return;
    job.settled = true;
    for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]!.job === job) this.#queue.splice(i, 1);
    job.reject(error);
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#queue.length > 0 || this.#running > 0) return;
    if (this.#timer) (clearTimeout(this.#timer), (this.#timer = undefined));
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Starts every batch that may leave now; arms the timer for the oldest input otherwise. */
  #pump(): void {
    const { maxBatchSize, maxWaitMs } = this.#options;
    while (this.#freeReplicas.length > 0 && this.#queue.length > 0) {
      const waited = now() - this.#queue[0]!.queuedAt;
      if (this.#queue.length < maxBatchSize && waited < maxWaitMs && !this.#flushing) {
        if (!this.#timer) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.#pump();
          }, Math.max(0, maxWaitMs - waited));
        }
        return;
      }
      this.#dispatch(this.#queue.splice(0, maxBatchSize), this.#freeReplicas.shift()!);
    }
    if (this.#queue.length === 0 && this.#timer) (clearTimeout(this.#timer), (this.#timer = undefined));
  }

  #dispatch(batch: Entry<E>[], replica: number): void {
    this.#running++;
    const started = now();
    const waits = batch.map((entry) => (started - entry.queuedAt) / 1000);
    const jobs = new Set(batch.map((entry) => entry.job));
    const inputs = batch.map((entry) => entry.input);
    new Promise<EngineOutput[]>((resolve) => resolve(this.#options.engine.run(inputs, { replica })))
      .then((outputs) => {
        if (!Array.isArray(outputs) || outputs.length !== inputs.length) {
          throw new Error(`the engine returned ${Array.isArray(outputs) ? outputs.length : 'no list of'} outputs for a batch of ${inputs.length} inputs`);
        }
        return outputs;
      })
      .then(
        (outputs) => {
          const seconds = (now() - started) / 1000;
          this.#report(replica, batch, jobs.size, seconds, waits);
          batch.forEach((entry, i) => {
            const job = entry.job;
            if (job.settled) return;
            job.outputs[entry.index] = outputs[i]!;
            job.queueSeconds += waits[i]!;
            job.inferenceSeconds += seconds;
            if (--job.remaining === 0) {
              job.settled = true;
              const n = job.outputs.length;
              job.resolve({ outputs: job.outputs, queueSeconds: job.queueSeconds / n, inferenceSeconds: job.inferenceSeconds / n });
            }
          });
        },
        (cause: unknown) => {
          const seconds = (now() - started) / 1000;
          const reason = cause instanceof Error ? cause.message : String(cause);
          const error = new BatchFailedError(`inference failed on replica ${replica} for a batch of ${inputs.length} inputs: ${reason}`, replica, inputs.length, { cause });
          this.#report(replica, batch, jobs.size, seconds, waits, error);
          for (const job of jobs) this.#fail(job, error);
        },
      )
      .finally(() => {
        this.#running--;
        this.#freeReplicas.push(replica);
        this.#freeReplicas.sort((a, b) => a - b);
        this.#pump();
        this.#checkIdle();
      });
  }

  #report(replica: number, batch: readonly Entry<E>[], requests: number, seconds: number, waits: number[], error?: Error): void {
    const meanWait = waits.reduce((a, b) => a + b, 0) / waits.length;
    const line =
      `batch of ${batch.length} input${batch.length === 1 ? '' : 's'} from ${requests} request${requests === 1 ? '' : 's'} on replica ${replica}: ` +
      `${(seconds * 1000).toFixed(1)} ms, waited ${(meanWait * 1000).toFixed(1)} ms on average, ${this.#queue.length} still queued` +
      (error ? `; FAILED: ${error.message}` : '');
    this.#options.log?.(error ? 'error' : 'debug', line);
    this.#options.onBatch?.({ replica, size: batch.length, requests, seconds, waits, ...(error ? { error } : {}) });
  }
}
