/**
 * transformers.js in Node (`@huggingface/transformers`, ONNX Runtime underneath) as a bench
 * server: an engine over its tokenizer and `AutoModelForSequenceClassification`, behind lib/serve's
 * Server (the same HTTP code and dynamic batching as `pjrt-bert serve`), so the bench compares
 * the engines and nothing else.
 *
 *     node dist/lib/bench/tjs-server.js --transformers DIR/transformers.node.mjs --model ONNX_DIR --port 0 \
 *       [--seq-len 128] [--max-batch-size 32] [--max-wait-ms 5]
 *
 * ONNX_DIR is a local transformers.js model folder (config.json, tokenizer.json,
 * tokenizer_config.json, onnx/model.onnx; see bench/reference/export_onnx.py); the model runs in
 * float32 on the CPU. Single texts only (the bench sends no pairs). Each text is tokenized once,
 * on its request (`encode`); a batch is padded
 * to its longest input, as transformers.js's pipeline pads a list of texts, and run as one
 * ONNX Runtime session call. The package is loaded from the path given (the bench installs it
 * into its cache folder), so pjrt-bert itself does not depend on it.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { EncodedInput, EngineOutput, ServeEngine, ServeInput } from '../serve/engine.js';
import { type EngineServerFlags, runEngineServer } from './engine-server.js';

/** The part of a transformers.js Tensor used here. */
interface TjsTensor {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
}

/** The part of the transformers.js module used here. */
export interface TransformersJs {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => TjsTensor;
  AutoTokenizer: { from_pretrained(id: string, options?: object): Promise<TjsTokenizer> };
  AutoModelForSequenceClassification: { from_pretrained(id: string, options?: object): Promise<TjsModel> };
}

interface TjsTokenizer {
  readonly pad_token_id?: number;
  encode(text: string): number[];
}

interface TjsModel {
  readonly config: { id2label?: Record<string, string>; model_type?: string };
  (inputs: Record<string, TjsTensor>): Promise<{ logits: TjsTensor }>;
  dispose?(): Promise<unknown>;
}

/** A text tokenized by transformers.js: its ids with special tokens. */
interface TjsEncoded extends EncodedInput {
  readonly ids: readonly number[];
}

/** Loads transformers.js from `modulePath` (its `transformers.node.mjs`). Async; rejects when it cannot be imported. */
export async function importTransformersJs(modulePath: string): Promise<TransformersJs> {
  return (await import(pathToFileURL(path.resolve(modulePath)).href)) as TransformersJs;
}

/** A {@link ServeEngine} over transformers.js. Create with {@link TransformersJsEngine.load}. */
export class TransformersJsEngine implements ServeEngine<TjsEncoded> {
  compileCount = 0;

  private constructor(
    readonly info: ServeEngine['info'],
    readonly tjs: TransformersJs,
    readonly tokenizer: TjsTokenizer,
    readonly model: TjsModel,
  ) {}

  /**
   * Loads the model folder `dir` (local files only). Async; rejects with transformers.js's error
   * when a file is missing or the ONNX model does not load.
   */
  static async load(tjs: TransformersJs, dir: string, options: { seqLen: number; maxBatchSize: number }): Promise<TransformersJsEngine> {
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = `${path.dirname(path.resolve(dir))}/`;
    const id = path.basename(path.resolve(dir));
    const tokenizer = await tjs.AutoTokenizer.from_pretrained(id, { local_files_only: true });
    const model = await tjs.AutoModelForSequenceClassification.from_pretrained(id, { local_files_only: true, dtype: 'fp32', device: 'cpu' });
    const id2label = model.config.id2label ?? {};
    const labels = Object.keys(id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => id2label[key]!);
    const info = { modelId: id, family: model.config.model_type ?? 'bert', task: 'classification' as const, labels, maxInputLength: options.seqLen, maxBatchSize: options.maxBatchSize, replicas: 1, dtype: 'float32' };
    return new TransformersJsEngine(info, tjs, tokenizer, model);
  }

  /**
   * Tokenizes one text with transformers.js (special tokens included). Sync; throws an Error for
   * a pair (the bench sends single texts; this server takes no pairs) or the tokenizer's error.
   */
  encode(input: ServeInput): TjsEncoded {
    if (input.pair !== undefined) throw new Error('the transformers.js bench server takes single texts, not pairs');
    const ids = this.tokenizer.encode(input.text);
    return { tokenCount: ids.length, ids };
  }

  /** ONNX Runtime builds its session when the model loads; one small run here warms it. Async. */
  async warmup(): Promise<void> {
    await this.run([this.encode({ text: 'warm-up' })]);
  }

  /**
   * Runs a batch: each input's ids, truncated as Hugging Face truncates one sequence (the first
   * maxInputLength - 1 ids and the final [SEP]), padded to the longest. Async; rejects with ONNX
   * Runtime's error.
   */
  async run(inputs: readonly TjsEncoded[]): Promise<EngineOutput[]> {
    const max = this.info.maxInputLength;
    const rows = inputs.map((e) => (e.ids.length <= max ? e.ids : [...e.ids.slice(0, max - 1), e.ids[e.ids.length - 1]!]));
    const width = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * width).fill(BigInt(this.tokenizer.pad_token_id ?? 0));
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((row, i) => row.forEach((id, j) => ((ids[i * width + j] = BigInt(id)), (mask[i * width + j] = 1n))));
    const dims = [rows.length, width];
    const feeds = { input_ids: new this.tjs.Tensor('int64', ids, dims), attention_mask: new this.tjs.Tensor('int64', mask, dims), token_type_ids: new this.tjs.Tensor('int64', new BigInt64Array(rows.length * width), dims) };
    const { logits } = await this.model(feeds);
    const classes = logits.dims[1]!;
    return inputs.map((_, i) => ({ logits: Array.from({ length: classes }, (_, k) => logits.data[i * classes + k]!) }));
  }
}

/** The process entry: `--transformers PATH` plus the engine server's flags. */
async function main(argv: readonly string[]): Promise<void> {
  await runEngineServer(
    argv,
    async (flags: EngineServerFlags) => {
      const modulePath = flags.extra.transformers;
      if (!modulePath) throw new RangeError('--transformers PATH is required: the transformers.node.mjs of an installed @huggingface/transformers');
      return TransformersJsEngine.load(await importTransformersJs(modulePath), flags.model, flags);
    },
    ['transformers'],
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`tjs-server: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
