/**
 * `pjrt-bert predict`: classify the texts of a CSV/TSV/JSONL file (or one `--text`) with a
 * fine-tuned model directory; one JSON line per input row, in order:
 * `{"label": ..., "probabilities": [...], "logits": [...]}` (by class id).
 */
import { readTable } from '../data/index.js';
import { writeFileAtomic } from '../io/index.js';
import { BertPredictor } from '../models/index.js';
import { Runtime } from '../runtime/runtime.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';
import { seqLenNote } from './train-flags.js';

const PREDICT_HELP = `usage: pjrt-bert predict --model DIR (--data FILE [--text-column C] [--out FILE.jsonl] | --text "...")
                         [--seq-len S] [--batch-size N] [--plugin cpu|tpu|cuda|PATH]

--model DIR        a Hugging Face model directory (config.json, model.safetensors or
                   pytorch_model.bin, vocab.txt), e.g. the --out of pjrt-bert train
--data FILE        .csv, .tsv or .jsonl; one prediction per row, in order
--text-column C    the column holding the text (default: text)
--out FILE.jsonl   where the predictions go (default: stdout)
--text "..."       predict one text, printed to stdout
--seq-len S        tokens per text, [CLS] and [SEP] included (default: the length the
                   model was trained at, else 128; at most its max_position_embeddings)
--batch-size N     texts per program run (default 32); the last batch is padded
--plugin P         PJRT plugin (default cpu)

Each line: {"label": "...", "probabilities": [p0, p1, ...], "logits": [z0, z1, ...]}`;

/** `pjrt-bert predict`. Async; resolves to the exit code; throws UsageError for bad flags, and the loader's errors. */
export async function runPredict(argv: string[]): Promise<number> {
  const parsed = parseFlags(
    argv,
    {
      model: { type: 'string' },
      data: { type: 'string' },
      'text-column': { type: 'string' },
      out: { type: 'string' },
      text: { type: 'string' },
      'seq-len': { type: 'string' },
      'batch-size': { type: 'string' },
      plugin: { type: 'string', default: 'cpu' },
    },
    PREDICT_HELP,
  );
  if (!parsed) return 0;
  const values = parsed.values as Record<string, string | undefined>;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${PREDICT_HELP}`);
  if (!values.model) throw new UsageError(`--model DIR is required\n\n${PREDICT_HELP}`);
  if ((values.data === undefined) === (values.text === undefined)) throw new UsageError(`give exactly one of --data FILE and --text "..."\n\n${PREDICT_HELP}`);
  if (values.text !== undefined && (values.out !== undefined || values['text-column'] !== undefined)) {
    throw new UsageError('--out and --text-column go with --data, not --text');
  }
  const seqLen = positiveInt(values['seq-len'], '--seq-len');
  const batchSize = positiveInt(values['batch-size'], '--batch-size') ?? 32;
  const texts = values.text !== undefined ? [values.text] : (await readTable(values.data!, { textColumn: values['text-column'] ?? 'text' })).texts;

  using runtime = await Runtime.open({ plugin: values.plugin! });
  const started = performance.now();
  using predictor = await BertPredictor.open(runtime, values.model, { ...(seqLen !== undefined ? { seqLen } : {}), batchSize: Math.min(batchSize, texts.length) });
  const note = seqLenNote(predictor.seqLenChoice, values.model);
  if (note !== undefined) process.stderr.write(`pjrt-bert predict: ${note}\n`);
  const fresh = predictor.loaded.initialized;
  if (fresh.length > 0) {
    process.stderr.write(`pjrt-bert predict: warning: ${values.model} has no trained ${fresh.join(', ')}; initialised at random, so the predictions mean nothing (train the model first)\n`);
  }
  const predictions = await predictor.predict(texts);
  const lines = predictions.map(({ label, probabilities, logits }) => `${JSON.stringify({ label, probabilities, logits })}\n`);
  if (values.out !== undefined) {
    await writeFileAtomic(values.out, lines.join(''));
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`pjrt-bert predict: ${texts.length} predictions written to ${values.out} (${seconds.toFixed(1)} s, batch ${predictor.batchSize}, seq len ${predictor.seqLen})\n`);
  } else {
    process.stdout.write(lines.join(''));
  }
  return 0;
}
