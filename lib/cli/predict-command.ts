/**
 * `pjrt-bert predict`: classify the texts (or text pairs) of a CSV/TSV/JSONL file, or one
 * `--text`, with a fine-tuned model directory of any family; one JSON line per input row, in order:
 * `{"label": ..., "probabilities": [...], "logits": [...]}` (by class id).
 */
import { readTable } from '../data/index.js';
import { writeFileAtomic } from '../io/index.js';
import { isBertPreset } from '../models/index.js';
import { isPaddingMode } from '../train/padding.js';
import { Predictor } from '../train/predictor.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';
import { seqLenNote } from './train-flags.js';

const PREDICT_HELP = `usage: pjrt-bert predict --model DIR (--data FILE [--text-column C] [--text-pair-column C] [--out FILE.jsonl]
                                      | --text "..." [--text-pair "..."])
                         [--seq-len S] [--batch-size N] [--padding fixed|bucket|pack] [--plugin cpu|tpu|cuda|PATH] [--replicas N]

--model DIR              a Hugging Face model directory of any supported family (config.json,
                         model.safetensors or pytorch_model.bin, tokenizer.json or vocab.txt),
                         e.g. the --out of pjrt-bert train
--data FILE              .csv, .tsv or .jsonl; one prediction per row, in order
--text-column C          the column holding the text (default: text)
--text-pair-column C     a column holding second segments: each row is predicted as a pair,
                         encoded as the model's tokenizer encodes pairs
--out FILE.jsonl         where the predictions go (default: stdout)
--text "..."             predict one text, printed to stdout (--text-pair "..." for a pair)
--seq-len S              tokens per text, special tokens included (default: the length the
                         model was trained at, else 128; at most its positions)
--batch-size N           texts per program run (default 32); the last batch is padded
--padding MODE           bucket (default): each batch padded to the smallest of 16, 24, 32, 40,
                         ... that holds it; fixed: to --seq-len; pack: several texts per row
--plugin P               PJRT plugin (default cpu)
--replicas N             devices to spread each batch over (default 1)

Each line: {"label": "...", "probabilities": [p0, p1, ...], "logits": [z0, z1, ...]}`;

/** `pjrt-bert predict`. Async; resolves to the exit code; throws UsageError for bad flags, and the loader's errors. */
export async function runPredict(argv: string[]): Promise<number> {
  const parsed = parseFlags(
    argv,
    {
      model: { type: 'string' },
      data: { type: 'string' },
      'text-column': { type: 'string' },
      'text-pair-column': { type: 'string' },
      out: { type: 'string' },
      text: { type: 'string' },
      'text-pair': { type: 'string' },
      'seq-len': { type: 'string' },
      'batch-size': { type: 'string' },
      plugin: { type: 'string', default: 'cpu' },
      replicas: { type: 'string' },
      padding: { type: 'string' },
    },
    PREDICT_HELP,
  );
  if (!parsed) return 0;
  const values = parsed.values as Record<string, string | undefined>;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${PREDICT_HELP}`);
  if (!values.model) throw new UsageError(`--model DIR is required\n\n${PREDICT_HELP}`);
  if (isBertPreset(values.model)) throw new UsageError(`--model ${values.model} is an untrained preset: predict needs a trained model directory, such as the --out of pjrt-bert train`);
  if ((values.data === undefined) === (values.text === undefined)) throw new UsageError(`give exactly one of --data FILE and --text "..."\n\n${PREDICT_HELP}`);
  if (values.text !== undefined && (values.out !== undefined || values['text-column'] !== undefined || values['text-pair-column'] !== undefined)) {
    throw new UsageError('--out, --text-column and --text-pair-column go with --data, not --text');
  }
  if (values.data !== undefined && values['text-pair'] !== undefined) throw new UsageError('--text-pair goes with --text; with --data, name the column of second segments with --text-pair-column');
  const seqLen = positiveInt(values['seq-len'], '--seq-len');
  const replicas = positiveInt(values.replicas, '--replicas') ?? 1;
  const batchSize = positiveInt(values['batch-size'], '--batch-size') ?? 32;
  const padding = values.padding ?? 'bucket';
  if (!isPaddingMode(padding)) throw new UsageError(`--padding must be fixed, bucket or pack, got '${padding}'`);
  let texts: readonly string[];
  let pairs: readonly string[] | undefined;
  if (values.text !== undefined) {
    texts = [values.text];
    pairs = values['text-pair'] !== undefined ? [values['text-pair']] : undefined;
  } else {
    const table = await readTable(values.data!, { textColumn: values['text-column'] ?? 'text', ...(values['text-pair-column'] ? { pairColumn: values['text-pair-column'] } : {}) });
    texts = table.texts;
    pairs = table.pairs;
  }
  const started = performance.now();
  const batch = Math.max(replicas, Math.min(batchSize, Math.ceil(texts.length / replicas) * replicas));
  using predictor = await Predictor.open(values.model, { plugin: values.plugin!, replicas, batchSize: batch - (batch % replicas), padding, ...(seqLen !== undefined ? { seqLen } : {}) });
  const note = seqLenNote(predictor.seqLenChoice, values.model);
  if (note !== undefined) process.stderr.write(`pjrt-bert predict: ${note}\n`);
  if (predictor.initialized.length > 0) {
    process.stderr.write(`pjrt-bert predict: warning: ${values.model} has no trained ${predictor.initialized.join(', ')}; initialised at random, so the predictions mean nothing (train the model first)\n`);
  }
  const predictions = await predictor.predict(texts, pairs ? { pairs } : {});
  // classification lines keep their documented keys; the other tasks print their own shape
  const lines = predictions.map((prediction) => `${JSON.stringify('labelId' in prediction ? { label: prediction.label, probabilities: prediction.probabilities, logits: prediction.logits } : prediction)}\n`);
  if (values.out !== undefined) {
    await writeFileAtomic(values.out, lines.join(''));
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`pjrt-bert predict: ${texts.length} predictions written to ${values.out} (${seconds.toFixed(1)} s, batch ${predictor.batchSize}, seq len ${predictor.seqLenChoice.seqLen})\n`);
  } else {
    process.stdout.write(lines.join(''));
  }
  return 0;
}
