/**
 * `pjrt-bert dataset`: writes one of the generated data sets (the README's worked examples, one
 * per task) and the vocabulary that covers it, so a preset model can be trained on it with no
 * download: `pjrt-bert dataset regression sts.csv` writes sts.csv and sts.vocab.txt.
 */
import path from 'node:path';
import { writeFileAtomic } from '../io/index.js';
import { writeTaskDataset } from '../train/task-dataset-files.js';
import { type TaskDataset, generateMultiLabelDataset, generatePairDataset, generateRegressionDataset, generateTokenDataset } from '../train/task-datasets.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';

/** The data sets by name: a generator (size, seed) and the extensions it is written as. */
const DATASETS: Record<string, { make: (size: number | undefined, seed: number) => TaskDataset; formats: readonly string[]; about: string }> = {
  pairs: { make: (size, seed) => generatePairDataset(size, seed), formats: ['.csv', '.jsonl'], about: 'premise/hypothesis pairs labelled entailment, neutral or contradiction (classification of pairs)' },
  regression: { make: (size, seed) => generateRegressionDataset(size, seed), formats: ['.csv', '.jsonl'], about: 'sentence pairs with a similarity score from 0 to 5 (regression)' },
  'multi-label': { make: (size, seed) => generateMultiLabelDataset(size, seed), formats: ['.csv', '.jsonl'], about: 'texts with zero to three of six topics (multi-label)' },
  'token-classification': { make: (size, seed) => generateTokenDataset(size, seed), formats: ['.conll', '.jsonl'], about: 'sentences with PER, LOC and ORG entities in IOB2 tags (token classification)' },
};

const DATASET_HELP = `usage: pjrt-bert dataset NAME FILE [--size N] [--seed N]

Writes a generated data set to FILE and the vocabulary that covers it beside it (FILE's name
with .vocab.txt), for training a preset model (--model tiny --vocab ...) with no download:
${Object.entries(DATASETS)
  .map(([name, { formats, about }]) => `  ${name.padEnd(22)} ${formats.join(' or ')}: ${about}`)
  .join('\n')}

--size N    examples (default: the generator's, 600 to 900)
--seed N    the generator's seed (default 7); the same seed writes the same file`;

/** `pjrt-bert dataset`. Async; returns the exit code; throws UsageError for bad arguments. */
export async function runDataset(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { size: { type: 'string' }, seed: { type: 'string' } }, DATASET_HELP);
  if (!parsed) return 0;
  const [name, file, ...extra] = parsed.positionals;
  if (name === undefined || file === undefined || extra.length > 0) throw new UsageError(`give a data set name and a file\n\n${DATASET_HELP}`);
  const dataset = DATASETS[name];
  if (!dataset) throw new UsageError(`unknown data set '${name}' (known: ${Object.keys(DATASETS).join(', ')})`);
  const ext = path.extname(file).toLowerCase();
  if (!dataset.formats.includes(ext)) throw new UsageError(`${name} is written as ${dataset.formats.join(' or ')}, not '${ext || file}'`);
  const seedText = parsed.values.seed as string | undefined;
  const seed = seedText === undefined ? 7 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got '${seedText}'`);
  const data = dataset.make(positiveInt(parsed.values.size as string | undefined, '--size'), seed);
  const vocabFile = path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.vocab.txt`);
  await writeTaskDataset(data, file);
  await writeFileAtomic(vocabFile, `${data.vocab.join('\n')}\n`);
  const count = data.task === 'token-classification' ? `${data.sentences.length} sentences` : `${data.texts.length} examples`;
  process.stderr.write(`pjrt-bert dataset: ${count} written to ${file}, the vocabulary to ${vocabFile}\n`);
  return 0;
}
