/**
 * `pjrt-bert serve`: a fine-tuned model directory behind Hugging Face text-embeddings-inference's
 * HTTP API (`POST /predict`, `GET /health`, `/info`, `/metrics`) with dynamic batching
 * (lib/serve). Prints `listening on http://HOST:PORT` on stdout once every program is compiled
 * and `/health` answers 200; log lines go to stderr (one per batch with `--log-level debug`).
 * SIGTERM or SIGINT stops accepting, answers everything queued, and exits 0.
 */
import { isBertPreset } from '../models/index.js';
import { type LogLevel, ModelEngine, type ServeLog, Server, handleShutdownSignals, servedShapes } from '../serve/index.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';
import { seqLenNote } from './train-flags.js';

const SERVE_HELP = `usage: pjrt-bert serve --model DIR [--host 127.0.0.1] [--port 8080] [--seq-len N]
                       [--max-batch-size 32] [--max-wait-ms 5] [--max-queue 1024] [--auto-truncate]
                       [--plugin cpu|tpu|cuda|PATH] [--replicas R] [--batch-buckets 1,2,4,8,16,32]
                       [--length-buckets 16,32,64,128] [--no-compile-cache] [--log-level info]

--model DIR              a fine-tuned Hugging Face model directory of any supported family (the
                         --out of pjrt-bert train): sequence classification, regression
                         (problem_type "regression"), multi-label (problem_type
                         "multi_label_classification") or token classification
--host H                 address to bind (default 127.0.0.1: only this machine can connect;
                         0.0.0.0 for every interface)
--port P                 port (default 8080; 0 takes a free one, printed in the listening line)
--seq-len N              the longest input in tokens, special tokens included (default: the length
                         the model was trained at, else 128); longer inputs answer 413 unless the
                         request sends "truncate": true
--max-batch-size N       most inputs per batch (default 32)
--max-wait-ms MS         how long the first queued input waits for others (default 5)
--max-queue N            most inputs waiting; more answer 503 with Retry-After (default 1024)
--auto-truncate          truncate too long inputs unless a request says "truncate": false
--plugin P               PJRT plugin (default cpu)
--replicas R             devices to serve on, one batch at a time each (default 1)
--batch-buckets LIST     counts of full-length rows to compile (default 1-8, then quarter-steps
                         below --max-batch-size, and it); a batch's inputs are packed into rows
--length-buckets LIST    lengths of the one-row programs (default 16,32,...,128 in steps of 16,
                         then half-steps below --seq-len, and it); a batch runs as the compiled
                         shape of fewest token slots that holds it
--no-compile-cache       compile every program instead of loading it from the compile cache
--log-level L            debug (one line per batch), info (default), warn or error; to stderr

Every bucket (batch x length, on each replica) is compiled before the server reports healthy;
no request ever compiles. Routes: POST /predict {"inputs": "text" | ["text", "pair"] |
[["t1"], ["t2a", "t2b"], ...], "raw_scores": false, "truncate": false}, GET /health, GET /info,
GET /metrics (Prometheus text).`;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A non-negative integer flag (0 allowed). Sync; throws UsageError. */
function portFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (0: any free port), got '${value}'`);
  return n;
}

/** A comma-separated list of positive integers. Sync; throws UsageError. */
function listFlag(value: string | undefined, flag: string): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((item) => {
    const n = Number(item.trim());
    if (!Number.isInteger(n) || n < 1 || item.trim() === '') throw new UsageError(`${flag} must be a comma-separated list of positive integers, got '${value}'`);
    return n;
  });
}

/** Log lines at `level` and above to stderr, as `pjrt-bert serve: ...`. */
function stderrLog(level: LogLevel): ServeLog {
  const min = LEVELS.indexOf(level);
  return (lineLevel, message) => {
    if (LEVELS.indexOf(lineLevel) < min) return;
    const prefix = lineLevel === 'info' ? '' : `${lineLevel === 'warn' ? 'warning' : lineLevel}: `;
    process.stderr.write(`pjrt-bert serve: ${prefix}${message}\n`);
  };
}

/**
 * `pjrt-bert serve`. Async; resolves to the exit code once a signal closed the server (0, or 1
 * when closing failed); throws UsageError for bad flags, the loader's errors for the model
 * directory, RangeError for sizes the model cannot take, and warm-up's error (PjrtError) when a
 * program cannot be compiled.
 */
export async function runServe(argv: string[]): Promise<number> {
  const parsed = parseFlags(
    argv,
    {
      model: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'seq-len': { type: 'string' },
      'max-batch-size': { type: 'string' },
      'max-wait-ms': { type: 'string' },
      'max-queue': { type: 'string' },
      'auto-truncate': { type: 'boolean' },
      plugin: { type: 'string', default: 'cpu' },
      replicas: { type: 'string' },
      'batch-buckets': { type: 'string' },
      'length-buckets': { type: 'string' },
      'no-compile-cache': { type: 'boolean' },
      'log-level': { type: 'string', default: 'info' },
    },
    SERVE_HELP,
  );
  if (!parsed) return 0;
  const values = parsed.values as Record<string, string | undefined>;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${SERVE_HELP}`);
  if (!values.model) throw new UsageError(`--model DIR is required\n\n${SERVE_HELP}`);
  if (isBertPreset(values.model)) throw new UsageError(`--model ${values.model} is an untrained preset: serve needs a trained model directory, such as the --out of pjrt-bert train`);
  const level = values['log-level'] as LogLevel;
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got '${level}'`);
  const maxWaitMs = values['max-wait-ms'] === undefined ? 5 : Number(values['max-wait-ms']);
  if (!(Number.isFinite(maxWaitMs) && maxWaitMs >= 0) || values['max-wait-ms']?.trim() === '') throw new UsageError(`--max-wait-ms must be a number of milliseconds >= 0, got '${values['max-wait-ms']}'`);
  const port = portFlag(values.port) ?? 8080;
  const seqLen = positiveInt(values['seq-len'], '--seq-len');
  const maxBatchSize = positiveInt(values['max-batch-size'], '--max-batch-size') ?? 32;
  const maxQueue = positiveInt(values['max-queue'], '--max-queue') ?? 1024;
  const replicas = positiveInt(values.replicas, '--replicas') ?? 1;
  const batchBuckets = listFlag(values['batch-buckets'], '--batch-buckets');
  const lengthBuckets = listFlag(values['length-buckets'], '--length-buckets');
  const log = stderrLog(level);

  using engine = await ModelEngine.open(values.model, {
    plugin: values.plugin!,
    replicas,
    maxBatchSize,
    compileCache: !parsed.values['no-compile-cache'],
    ...(seqLen !== undefined ? { seqLen } : {}),
    ...(batchBuckets ? { batchBuckets } : {}),
    ...(lengthBuckets ? { lengthBuckets } : {}),
  });
  const note = seqLenNote(engine.seqLenChoice, values.model);
  if (note !== undefined) log(note.startsWith('warning: ') ? 'warn' : 'info', note.replace(/^warning: /, ''));
  if (engine.initialized.length > 0) {
    log('warn', `${values.model} has no trained ${engine.initialized.join(', ')}; initialised at random, so the answers mean nothing (train the model first)`);
  }
  const server = Server.create({ engine, host: values.host!, port, maxBatchSize, maxWaitMs, maxQueue, autoTruncate: Boolean(parsed.values['auto-truncate']), log });
  let finish!: (code: number) => void;
  const closed = new Promise<number>((resolve) => (finish = resolve));
  // The first signal closes the server (answering what is queued) and this command returns 0; a
  // second one, or a failed close, exits at once.
  const removeHandlers = handleShutdownSignals(server, { log, exit: (code) => (code === 0 ? finish(0) : process.exit(code)) });
  try {
    const address = await server.listen();
    const { batch, length } = engine.buckets;
    const programs = servedShapes(engine.buckets).length * replicas;
    log('info', `${engine.info.task} model ${engine.info.modelId} (${engine.info.family}): compiling ${programs} programs (one row of ${length.join(',')} tokens, ${batch.filter((rows) => rows > 1).join(',')} rows of ${length.at(-1)}; x ${replicas} replica(s))`);
    const first = await Promise.race([server.warmup().then(() => 'warm' as const), closed]);
    if (first === 'warm' && server.healthy) process.stdout.write(`listening on ${address.url}\n`);
    return await closed;
  } catch (error) {
    await server.close();
    throw error;
  } finally {
    removeHandlers();
  }
}
