/**
 * The contract between the HTTP server (`lib/serve/server.ts`) and whatever runs the model: the
 * server parses requests, queues and batches inputs, turns raw outputs into Hugging Face TEI
 * responses and keeps metrics; an engine only tokenizes and runs compiled programs. The real
 * engine (tokenizer + eval programs compiled per bucket shape) lives with the models; tests use
 * fakes. Nothing here imports a model, a runtime or a tokenizer.
 *
 * The life of one input:
 *
 *     const encoded = await engine.encode({ text, pair });  // once, on the request
 *     if (encoded.tokenCount > engine.info.maxInputLength && !truncate) -> 413
 *     ... queued, gathered with other requests' inputs ...
 *     const outputs = await engine.run([e1, e2, ...], { replica }); // one output per input, in order
 *
 * Design notes. `encode` returns the engine's own object (typed by the engine, opaque to the
 * server) so a text is tokenized once: the server needs only its token count, to refuse what is
 * too long before queueing it. It may be sync or async: Hugging Face's `tokenizers` package
 * (tokenizer.json) encodes only asynchronously, so the real engine returns a Promise. `run` always truncates to `maxInputLength`: an input longer than
 * that reaches `run` only when its request asked for truncation, so the server needs no per-input
 * flag there. Sequence tasks return logits and the server applies softmax/sigmoid (and
 * `raw_scores`); token classification returns per-token logits with character offsets and the
 * server groups them into entities, so that response logic is one piece of code, tested without
 * a device.
 */

/** One input of `POST /predict`: a text, or a pair of texts (`[CLS] text [SEP] pair [SEP]` for BERT). */
export interface ServeInput {
  readonly text: string;
  readonly pair?: string;
}

/** The tasks a served model can have; they decide the response shape. */
export type ServeTask = 'classification' | 'regression' | 'multi-label' | 'token-classification';

/** The task names {@link ServeTask} allows, for checking values at run time. */
export const SERVE_TASKS: readonly ServeTask[] = ['classification', 'regression', 'multi-label', 'token-classification'];

/** What the server needs to know about the model behind an engine. */
export interface EngineInfo {
  /** The model's name as clients should see it in `/info` (a Hub id or a directory name). */
  readonly modelId: string;
  /** The encoder family (`bert`, ...), shown in `/info`. */
  readonly family: string;
  readonly task: ServeTask;
  /**
   * Label names by output index (`id2label` order). Classification and multi-label: one per
   * logit. Regression: one name for the single output (e.g. `LABEL_0`). Token classification:
   * one per tag, BIO names (`B-PER`, `I-PER`, `O`) grouped as Hugging Face's pipeline does.
   */
  readonly labels: readonly string[];
  /** Tokens an input may take, special tokens included; longer inputs are refused or truncated. */
  readonly maxInputLength: number;
  /** The largest number of inputs one `run` accepts (the batch dimension of the compiled programs). */
  readonly maxBatchSize: number;
  /** Batches that may run at once, one per replica (device); replica indices are `0 .. replicas-1`. */
  readonly replicas: number;
  /** The weights' dtype for `/info` (`float32`, `bfloat16`); optional. */
  readonly dtype?: string;
}

/** What `encode` returns: the engine's own tokenized input; the server reads only `tokenCount`. */
export interface EncodedInput {
  /** Tokens the input takes with special tokens, before any truncation. */
  readonly tokenCount: number;
}

/** The output of a classification, multi-label or regression model for one input. */
export interface SequenceOutput {
  /** Raw logits by label index (`info.labels.length` of them; 1 for regression). */
  readonly logits: ArrayLike<number>;
}

/** One token of a token-classification output (special tokens left out). */
export interface TokenOutput {
  /**
   * The token's text as the tokenizer wrote it (`##ing` for a WordPiece continuation); an engine
   * that answers per word (the model engine: one output per word, at its first sub-token) gives
   * the word as it stands in the input.
   */
  readonly token: string;
  /** The token's position in the model input (so `[CLS]` is 0 and the first word token 1). */
  readonly index: number;
  /** Where the token starts and ends in the input text, as JavaScript string indices (UTF-16). */
  readonly start: number;
  readonly end: number;
  /** Raw logits by label index (`info.labels.length` of them). */
  readonly logits: ArrayLike<number>;
}

/** The output of a token-classification model for one input: its tokens, in order. */
export interface TokensOutput {
  readonly tokens: readonly TokenOutput[];
}

/** One input's output: {@link SequenceOutput} or {@link TokensOutput}, as `info.task` says. */
export type EngineOutput = SequenceOutput | TokensOutput;

/** Options of one {@link ServeEngine.run} call. */
export interface RunOptions {
  /** The replica (device) to run on, `0 .. info.replicas-1`; at most one batch runs per replica at a time. */
  readonly replica: number;
}

/**
 * What the server drives. Implementations: the real engine over compiled eval programs (built
 * with the models), and fakes in tests.
 */
export interface ServeEngine<E extends EncodedInput = EncodedInput> {
  readonly info: EngineInfo;
  /**
   * Tokenizes one input (on the request, once per input). Sync or async: returns the encoded
   * input or a Promise of it. Throws (or rejects with) an Error whose message says what is
   * wrong with the input when it cannot be tokenized; the server answers that with 422
   * (`error_type: "tokenizer"`), as TEI does.
   */
  encode(input: ServeInput): E | Promise<E>;
  /**
   * Compiles every program a request can need (all bucket shapes, on every replica). Async; the
   * server calls it once, before `/health` answers 200 and before any `run`. Rejects when a
   * program cannot be compiled or loaded; the server then stays unhealthy and refuses requests.
   */
  warmup(): Promise<void>;
  /** How many programs have been compiled so far; requests must never change it after `warmup`. */
  readonly compileCount: number;
  /**
   * Runs one batch of at most `info.maxBatchSize` encoded inputs on replica `options.replica`,
   * truncating each to `info.maxInputLength` tokens. Async; resolves one output per input, in
   * order. Rejects when the device fails; the server then fails only the requests with an input
   * in this batch (500) and goes on.
   */
  run(inputs: readonly E[], options: RunOptions): Promise<EngineOutput[]>;
}

/**
 * Checks an engine's `info` before serving. Sync; throws a RangeError naming the field and value
 * that is wrong (and what it should be).
 */
export function checkEngineInfo(info: EngineInfo): void {
  const where = `engine.info of model '${info.modelId}'`;
  if (!SERVE_TASKS.includes(info.task)) throw new RangeError(`${where}: task '${info.task}' is not one of ${SERVE_TASKS.join(', ')}`);
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${where}: ${name} ${value} must be a positive integer`);
  };
  positive('maxInputLength', info.maxInputLength);
  positive('maxBatchSize', info.maxBatchSize);
  positive('replicas', info.replicas);
  if (info.task === 'regression') {
    if (info.labels.length !== 1) throw new RangeError(`${where}: a regression model has one output, so one label name, not ${info.labels.length}`);
  } else if (info.labels.length < 1) {
    throw new RangeError(`${where}: a ${info.task} model needs its label names (id2label order); got none`);
  }
}
