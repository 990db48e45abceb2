/**
 * A stand-in for `pjrt-bert serve` in the bench's tests, until the real command lands: lib/serve's
 * Server over a small engine on lib/train's `Predictor` (one compiled eval program of
 * `--max-batch-size` rows at `--seq-len`, partial batches padded), started with the command line
 * the bench gives `pjrt-bert serve` (`--model DIR --host --port 0 --seq-len --max-batch-size
 * --max-wait-ms --plugin`) and printing the same `listening on http://HOST:PORT` line.
 *
 *     node <tap's loader flags> test/helpers/serve-standin.ts --model DIR --port 0 ...
 *
 * Token counts are words + 2: the bench's requests ask for truncation, so the count only feeds
 * the server's length check, which they skip.
 */
import { pathToFileURL } from 'node:url';

import { runEngineServer } from '../../lib/bench/engine-server.js';
import type { EncodedInput, EngineOutput, ServeEngine, ServeInput } from '../../lib/serve/engine.js';
import { Predictor } from '../../lib/train/predictor.js';

interface StandInEncoded extends EncodedInput {
  readonly input: ServeInput;
}

/** A ServeEngine over a Predictor (one replica, classification). */
export class PredictorEngine implements ServeEngine<StandInEncoded> {
  constructor(
    readonly predictor: Predictor,
    readonly info: ServeEngine['info'],
  ) {}

  /** Opens the model directory `dir` for batches of `maxBatchSize` at `seqLen`. Async; rejects as Predictor.open. */
  static async open(dir: string, options: { seqLen: number; maxBatchSize: number; plugin?: string }): Promise<PredictorEngine> {
    const predictor = await Predictor.open(dir, { plugin: options.plugin ?? 'cpu', seqLen: options.seqLen, batchSize: options.maxBatchSize, stepsPerExecution: 1 });
    return new PredictorEngine(predictor, { modelId: dir, family: predictor.model.spec.family.name, task: 'classification', labels: predictor.labels, maxInputLength: options.seqLen, maxBatchSize: options.maxBatchSize, replicas: 1 });
  }

  get compileCount(): number {
    return this.predictor.compileCount;
  }

  encode(input: ServeInput): StandInEncoded {
    const words = (text: string | undefined) => (text === undefined ? 0 : (text.match(/\S+/g)?.length ?? 0) + 1);
    return { tokenCount: 1 + words(input.text) + words(input.pair), input };
  }

  async warmup(): Promise<void> {
    await this.predictor.logits(['warm-up']);
  }

  async run(inputs: readonly StandInEncoded[]): Promise<EngineOutput[]> {
    const pairs = inputs.some((e) => e.input.pair !== undefined) ? inputs.map((e) => e.input.pair ?? '') : undefined;
    const logits = await this.predictor.logits(inputs.map((e) => e.input.text), pairs);
    const classes = this.info.labels.length;
    return inputs.map((_, i) => ({ logits: logits.subarray(i * classes, (i + 1) * classes) }));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runEngineServer(process.argv.slice(2), (flags) => PredictorEngine.open(flags.model, { ...flags, ...(flags.extra.plugin ? { plugin: flags.extra.plugin } : {}) }), ['plugin']).catch((error: unknown) => {
    process.stderr.write(`serve-standin: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
