/**
 * Tokenizer and safetensors loading bench (prints numbers; not a test).
 *
 *     npm run build && node dist/bench/tokenizer-bench.js [--repeats 5] [--json]
 *
 * 1. Tokenization of every Greek tweet of the shared data (GRGE + OffensEval, 11,927
 *    texts), truncated and padded to 128, with a WordPiece vocabulary trained on them:
 *    our `BertTokenizer.encodeBatch` (a fresh tokenizer per run, so its word cache starts
 *    empty) against, in the same run, Python `BertTokenizerLegacy` (goal: >= 3x faster)
 *    and the Rust `tokenizers` library (goal: >= 0.5x its speed).
 * 2. The same texts through the `tokenizers` npm package (`HfTokenizer`, the Rust code of
 *    Python's fast tokenizers, async) against our WordPiece (`BertTokenizer`, sync), on one
 *    WordPiece vocabulary trained on the tweets (tokenizer.json for the package, vocab.txt for
 *    ours; the ids are checked identical), then a byte-level BPE and a Unigram tokenizer trained
 *    on them (test/reference/hf_tokenizer_reference.py): single texts padded to 128, pairs, and
 *    one `encodeWithOffsets` call per text.
 * 3. Loading a BERT-base-sized safetensors file (~420 MB, synthesized in the OS temp
 *    folder) with `readSafetensors` against just reading the file (goal: within 2x).
 * Needs the Python reference environment (`bash scripts/setup-python.sh`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { HfTokenizer } from '../lib/data/hf-tokenizer.js';
import type { TextTokenizer } from '../lib/data/tokenizer.js';
import { readTable } from '../lib/data/tables.js';
import { readVocabFile } from '../lib/io/hf-tokenizer-files.js';
import { readSafetensors, writeSafetensors } from '../lib/io/safetensors.js';
import { type Tensor, makeTensor } from '../lib/io/tensor.js';

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('tokenizer-bench: cannot find the repository root');
    dir = parent;
  }
  return dir;
}

const repoRoot = findRepoRoot();
// The real tweets: $PJRT_BERT_DATA, else shared/data beside the repository (never copied into it).
const dataDir = process.env.PJRT_BERT_DATA ? path.resolve(process.env.PJRT_BERT_DATA) : path.resolve(repoRoot, '..', 'shared', 'data');
if (!existsSync(path.join(dataDir, 'GRGE_sentiment.csv'))) {
  process.stderr.write(`tokenizer-bench: no GRGE_sentiment.csv in ${dataDir}; set PJRT_BERT_DATA to the folder of the real data sets (see the README)\n`);
  process.exit(2);
}
const python = path.join(repoRoot, '.cache/venv/bin/python');
const referenceDir = path.join(repoRoot, 'test/reference');
const args = process.argv.slice(2);
const repeatsAt = args.indexOf('--repeats');
const repeats = repeatsAt >= 0 ? Math.max(1, Number(args[repeatsAt + 1]) || 5) : 5;
const asJson = args.includes('--json');

function runPython(script: string, scriptArgs: string[], input?: string): string {
  const result = spawnSync(python, [path.join(referenceDir, script), ...scriptArgs], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  if (result.status !== 0) throw new Error(`${script} failed:\n${result.stderr}`);
  return result.stdout;
}

function bestOf(runs: number, run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

async function bestOfAsync(runs: number, run: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

async function readTweets(): Promise<string[]> {
  const files: Array<[string, string]> = [
    ['GRGE_sentiment.csv', 'Text'],
    ['offenseval-gr/offenseval-gr-training-v1.tsv', 'tweet'],
    ['offenseval-gr/offenseval-gr-test-v1.tsv', 'tweet'],
  ];
  const texts: string[] = [];
  for (const [file, textColumn] of files) texts.push(...(await readTable(path.join(dataDir, file), { textColumn })).texts);
  return texts;
}

async function benchTokenizer(work: string, texts: string[]): Promise<Record<string, number>> {
  const vocabDir = path.join(work, 'vocab');
  runPython('train_vocab.py', [vocabDir, 'uncased', dataDir]);
  const vocab = path.join(vocabDir, 'vocab.txt');
  const maxLength = 128;
  const tokens = await readVocabFile(vocab);
  const ours = bestOf(repeats, () => new BertTokenizer(tokens).encodeBatch(texts, { maxLength }));
  const warm = new BertTokenizer(tokens);
  const oursWarm = bestOf(repeats, () => warm.encodeBatch(texts, { maxLength }));
  const reference = JSON.parse(runPython('bench_tokenizers.py', [], JSON.stringify({ vocab, texts, max_length: maxLength, repeats }))) as Record<
    string,
    number
  >;
  return { texts: texts.length, ours_cold_s: ours, ours_warm_cache_s: oursWarm, ...prefixed(reference) };
}

/** Times one tokenizer: batch of single texts, batch of pairs, one encodeWithOffsets per text. */
async function timeTokenizer(tokenizer: TextTokenizer, texts: string[], prefix: string): Promise<Record<string, number>> {
  const maxLength = 128;
  const firsts = texts.filter((_, i) => i % 2 === 0);
  const seconds = texts.filter((_, i) => i % 2 === 1).concat(texts.length % 2 === 1 ? [''] : []);
  return {
    [`${prefix}_batch_s`]: await bestOfAsync(repeats, async () => tokenizer.encodeBatch(texts, { maxLength })),
    [`${prefix}_pairs_s`]: await bestOfAsync(repeats, async () => tokenizer.encodeBatch(firsts, { maxLength, pairs: seconds })),
    [`${prefix}_offsets_s`]: await bestOfAsync(Math.max(1, Math.floor(repeats / 2)), async () => {
      for (const text of texts) await tokenizer.encodeWithOffsets(text, { maxLength });
    }),
  };
}

async function benchTokenizerJson(work: string, texts: string[]): Promise<Record<string, number | boolean>> {
  const source = path.join(work, 'texts.jsonl');
  await writeFile(source, texts.map((text) => JSON.stringify(text)).join('\n'));
  const dirs = JSON.parse(runPython('hf_tokenizer_reference.py', ['train', path.join(work, 'tokjson'), source])) as Record<string, string>;
  const ours = await BertTokenizer.fromPretrained(dirs['vocab-uncased']!);
  const wordpiece = await HfTokenizer.fromDirectory(dirs['wordpiece']!);
  const a = ours.encodeBatch(texts, { maxLength: 128 });
  const b = await wordpiece.encodeBatch(texts, { maxLength: 128 });
  const identical = a.inputIds.every((id, i) => id === b.inputIds[i]) && a.tokenTypeIds.every((id, i) => id === b.tokenTypeIds[i]);
  return {
    wordpiece_ids_identical: identical,
    ...(await timeTokenizer(ours, texts, 'ours_wordpiece')),
    ...(await timeTokenizer(wordpiece, texts, 'npm_wordpiece')),
    ...(await timeTokenizer(await HfTokenizer.fromDirectory(dirs['bpe-roberta']!), texts, 'npm_bpe')),
    ...(await timeTokenizer(await HfTokenizer.fromDirectory(dirs['unigram-xlmr']!), texts, 'npm_unigram')),
  };
}

function prefixed(reference: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(reference).map(([name, seconds]) => [`${name}_s`, seconds]));
}

/** BERT-base parameter shapes (110M parameters, ~420 MB in f32). */
function bertBaseTensors(): Map<string, Tensor> {
  const shapes: Array<[string, number[]]> = [
    ['bert.embeddings.word_embeddings.weight', [30522, 768]],
    ['bert.embeddings.position_embeddings.weight', [512, 768]],
    ['bert.embeddings.token_type_embeddings.weight', [2, 768]],
  ];
  for (let layer = 0; layer < 12; layer++) {
    const p = `bert.encoder.layer.${layer}`;
    for (const name of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      shapes.push([`${p}.${name}.weight`, [768, 768]], [`${p}.${name}.bias`, [768]]);
    }
    shapes.push([`${p}.intermediate.dense.weight`, [3072, 768]], [`${p}.intermediate.dense.bias`, [3072]]);
    shapes.push([`${p}.output.dense.weight`, [768, 3072]], [`${p}.output.dense.bias`, [768]]);
  }
  shapes.push(['bert.pooler.dense.weight', [768, 768]], ['bert.pooler.dense.bias', [768]]);
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i += 97) data[i] = Math.sin(i);
    tensors.set(name, makeTensor('f32', shape, data));
  }
  return tensors;
}

async function benchSafetensors(work: string): Promise<Record<string, number>> {
  const file = path.join(work, 'bert-base.safetensors');
  await writeSafetensors(file, bertBaseTensors(), { format: 'pt' });
  const size = (await stat(file)).size;
  const times = async (run: () => Promise<unknown>) => {
    let best = Infinity;
    for (let i = 0; i < repeats; i++) {
      const start = process.hrtime.bigint();
      await run();
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
    }
    return best;
  };
  const readOnly = await times(() => readFile(file));
  const load = await times(() => readSafetensors(file));
  return { bytes: size, read_file_s: readOnly, read_safetensors_s: load };
}

const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-bench-'));
try {
  execFileSync('bash', [path.join(repoRoot, 'scripts/setup-python.sh')], { stdio: 'inherit' });
  const texts = await readTweets();
  const tokenizer = await benchTokenizer(work, texts);
  const tokenizerJson = await benchTokenizerJson(work, texts);
  const safetensors = await benchSafetensors(work);
  const ratios = {
    speedup_vs_python_legacy: tokenizer.python_legacy_s! / tokenizer.ours_cold_s!,
    speed_vs_tokenizers_batch: tokenizer.tokenizers_batch_s! / tokenizer.ours_cold_s!,
    speed_vs_tokenizers_single: tokenizer.tokenizers_single_s! / tokenizer.ours_cold_s!,
    speed_vs_transformers_fast_batch: tokenizer.fast_batch_s! / tokenizer.ours_cold_s!,
    npm_over_ours_wordpiece_batch: (tokenizerJson.npm_wordpiece_batch_s as number) / (tokenizerJson.ours_wordpiece_batch_s as number),
    npm_over_ours_wordpiece_pairs: (tokenizerJson.npm_wordpiece_pairs_s as number) / (tokenizerJson.ours_wordpiece_pairs_s as number),
    npm_over_ours_wordpiece_offsets: (tokenizerJson.npm_wordpiece_offsets_s as number) / (tokenizerJson.ours_wordpiece_offsets_s as number),
    safetensors_load_over_read: safetensors.read_safetensors_s! / safetensors.read_file_s!,
  };
  const report = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, tokenizer, tokenizer_json: tokenizerJson, safetensors, ratios };
  if (asJson) {
    console.log(JSON.stringify(report));
  } else {
    console.log(`tokenizer: ${tokenizer.texts} Greek tweets, max_length 128, best of ${repeats} (seconds)`);
    for (const [name, value] of Object.entries(tokenizer)) if (name !== 'texts') console.log(`  ${name.padEnd(28)} ${value.toFixed(4)}`);
    console.log(`tokenizer.json through the tokenizers npm package against our WordPiece, same texts, best of ${repeats} (seconds)`);
    for (const [name, value] of Object.entries(tokenizerJson)) {
      console.log(`  ${name.padEnd(28)} ${typeof value === 'number' ? value.toFixed(4) : String(value)}`);
    }
    console.log(`safetensors: ${(safetensors.bytes! / 1e6).toFixed(0)} MB`);
    console.log(`  read_file_s                  ${safetensors.read_file_s!.toFixed(4)}`);
    console.log(`  read_safetensors_s           ${safetensors.read_safetensors_s!.toFixed(4)}`);
    console.log('ratios (goals: >= 3 vs python legacy, >= 0.5 vs tokenizers, <= 2 load/read):');
    for (const [name, value] of Object.entries(ratios)) console.log(`  ${name.padEnd(34)} ${value.toFixed(2)}`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
