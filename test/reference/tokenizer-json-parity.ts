/**
 * The tokenizer.json parity suite, run on any corpus: `loadTokenizer(dir)` (HfTokenizer for a
 * tokenizer.json, BertTokenizer for a vocab.txt) against `AutoTokenizer.from_pretrained(dir)`
 * (hf_tokenizer_reference.py), for tokenizers of each kind trained on the corpus with Python's
 * `tokenizers` (WordPiece, byte-level BPE, Unigram, in BERT / RoBERTa / ModernBERT / XLM-R styles,
 * as written and under the model-specific classes that rebuild them) and for the real
 * all-MiniLM-L6-v2 directory: ids, attention masks and token type ids of padded batches (single
 * texts at several max lengths, pairs at several max lengths), offsets, word ids and sequence ids,
 * and pre-split words. `test/tokenizer-json.test.ts` runs it on generated tweets, `test/full/` on
 * the real ones.
 */
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { HfTokenizer } from '../../lib/data/hf-tokenizer.js';
import { loadTokenizer } from '../../lib/data/load-tokenizer.js';
import type { TextTokenizer } from '../../lib/data/tokenizer.js';
import { hardCases, pairCases } from './corpora.js';
import { runPython, runPythonJson } from './python.js';

/** The directories `hf_tokenizer_reference.py train` writes (see its DIRECTORIES comment). */
export const TRAINED = [
  'wordpiece',
  'wordpiece-bert-class',
  'vocab-uncased',
  'vocab-cased',
  'bpe-roberta',
  'bpe-roberta-class',
  'bpe-modernbert',
  'unigram-xlmr',
  'unigram-xlmr-class',
] as const;

const trainedDirs = new Map<string, Promise<Record<string, string>>>();

/**
 * Trains (once per process and corpus name) the tokenizers of `hf_tokenizer_reference.py train`
 * on `texts`; returns {name: directory}. Async; rejects when the Python reference fails.
 */
export function trainedTokenizerDirs(texts: readonly string[], name: string): Promise<Record<string, string>> {
  let dirs = trainedDirs.get(name);
  if (!dirs) {
    dirs = (async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tokjson-'));
      const source = path.join(out, 'texts.jsonl');
      await writeFile(source, texts.map((text) => JSON.stringify(text)).join('\n'));
      return JSON.parse(await runPython('hf_tokenizer_reference.py', ['train', path.join(out, 'dirs'), source])) as Record<string, string>;
    })();
    trainedDirs.set(name, dirs);
  }
  return dirs;
}

/** A directory with only MiniLM's vocab.txt and tokenizer_config.json (our BertTokenizer reads it). */
export async function vocabOnlyCopy(dir: string): Promise<string> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-vocab-only-'));
  await mkdir(out, { recursive: true });
  for (const name of ['vocab.txt', 'tokenizer_config.json']) await copyFile(path.join(dir, name), path.join(out, name));
  return out;
}

interface Meta {
  class: string;
  vocab_size: number;
  pad_id: number;
  model_max_length: number | null;
  specials_single: number;
  specials_pair: number;
  has_token_type_ids: boolean;
}

interface Row {
  ids: number[];
  types: number[] | null;
  pad: number;
  left: boolean;
  offsets?: [number, number][];
  words?: (number | null)[];
  seqs?: (number | null)[];
  truncated?: number;
  empty?: number;
}

/** Mismatch collector: counts cases, keeps the first few differences. */
class Diffs {
  cases = 0;
  readonly first: string[] = [];
  failed = 0;

  check(label: string, ours: unknown, theirs: unknown): void {
    this.cases++;
    const a = JSON.stringify(ours);
    const b = JSON.stringify(theirs);
    if (a === b) return;
    this.failed++;
    if (this.first.length < 4) this.first.push(`${label}\n  ours: ${a.slice(0, 600)}\n  HF:   ${b.slice(0, 600)}`);
  }

  report(t: Test, what: string): void {
    t.equal(this.failed, 0, `${what}: ${this.cases} checks identical to AutoTokenizer`, { first: this.first.join('\n') });
  }
}

/** Expected padded row (as `encodeBatch` lays it out) from a reference row. */
function paddedRow(row: Row, padId: number): { ids: number[]; types: number[]; mask: number[] } {
  const pad = (fill: number) => new Array<number>(row.pad).fill(fill);
  const types = row.types ?? new Array<number>(row.ids.length).fill(0);
  const ones = new Array<number>(row.ids.length).fill(1);
  return row.left
    ? { ids: [...pad(padId), ...row.ids], types: [...pad(0), ...types], mask: [...pad(0), ...ones] }
    : { ids: [...row.ids, ...pad(padId)], types: [...types, ...pad(0)], mask: [...ones, ...pad(0)] };
}

export interface ParityOptions {
  /** The corpus (hard cases are added to it). */
  texts: readonly string[];
  /** Directories to compare: {label: dir}. */
  dirs: Record<string, string>;
  /** Max lengths for single texts (all texts; the first also with offsets). */
  singleLengths: number[];
  /** Max lengths for pairs (with offsets). */
  pairLengths: number[];
  /** Max lengths for pre-split words. */
  wordLengths: number[];
}

/**
 * Runs the parity checks of every directory of `options.dirs` as subtests of `t`. Async; one
 * Python call computes every reference encoding.
 */
export async function tokenizerJsonParity(t: Test, options: ParityOptions): Promise<void> {
  const texts = [...options.texts, ...hardCases];
  const pairs = pairCases(options.texts);
  const pairFirst = pairs.map(([a]) => a);
  const pairSecond = pairs.map(([, b]) => b);
  const words = texts.map((text) => text.split(' '));
  type Request = { label: string; kind: 'meta' | 'single' | 'pair' | 'words'; maxLength: number; details: boolean };
  const plan: Request[] = [];
  for (const label of Object.keys(options.dirs)) {
    plan.push({ label, kind: 'meta', maxLength: 0, details: false });
    options.singleLengths.forEach((maxLength, i) => plan.push({ label, kind: 'single', maxLength, details: i === 0 }));
    for (const maxLength of options.pairLengths) plan.push({ label, kind: 'pair', maxLength, details: true });
    for (const maxLength of options.wordLengths) plan.push({ label, kind: 'words', maxLength, details: false });
  }
  const requests = plan.map(({ label, kind, maxLength, details }) => {
    const dir = options.dirs[label]!;
    if (kind === 'meta') return { dir, meta: true };
    if (kind === 'words') return { dir, words, max_length: maxLength };
    if (kind === 'pair') return { dir, texts: pairFirst, pairs: pairSecond, max_length: maxLength, details };
    return { dir, texts, max_length: maxLength, details };
  });
  const answers = await runPythonJson<unknown[]>('hf_tokenizer_reference.py', ['encode'], requests);

  const tokenizers = new Map<string, TextTokenizer>();
  for (const label of Object.keys(options.dirs)) tokenizers.set(label, await loadTokenizer(options.dirs[label]!));

  for (const label of Object.keys(options.dirs)) {
    t.test(label, async (t) => {
      const tokenizer = tokenizers.get(label)!;
      const mine = plan.map((request, i) => [request, answers[i]] as const).filter(([request]) => request.label === label);
      const meta = mine.find(([request]) => request.kind === 'meta')![1] as Meta;
      t.same(
        {
          vocabSize: tokenizer.vocabSize,
          padId: tokenizer.padId,
          modelMaxLength: tokenizer.modelMaxLength ?? null,
          specials: [tokenizer.specialTokenCount(false), tokenizer.specialTokenCount(true)],
          hasTokenTypeIds: tokenizer.hasTokenTypeIds,
          ...(tokenizer instanceof HfTokenizer ? { class: tokenizer.tokenizerClass } : {}),
        },
        {
          vocabSize: meta.vocab_size,
          padId: meta.pad_id,
          modelMaxLength: meta.model_max_length,
          specials: [meta.specials_single, meta.specials_pair],
          hasTokenTypeIds: meta.has_token_type_ids,
          ...(tokenizer instanceof HfTokenizer ? { class: meta.class } : {}),
        },
        'vocabulary size, pad id, model_max_length, special token counts, token type ids and class as AutoTokenizer',
      );
      if (tokenizer instanceof HfTokenizer) t.same(tokenizer.warnings, [], 'the pipeline is reproduced exactly (no warnings)');

      const batches = new Diffs();
      const details = new Diffs();
      const wordDiffs = new Diffs();
      for (const [request, answer] of mine) {
        const rows = answer as Row[];
        if (request.kind === 'single' || request.kind === 'pair') {
          const first = request.kind === 'pair' ? pairFirst : texts;
          const second = request.kind === 'pair' ? pairSecond : undefined;
          const batch = await tokenizer.encodeBatch(first, { maxLength: request.maxLength, ...(second ? { pairs: second } : {}) });
          const n = request.maxLength;
          for (const [i, row] of rows.entries()) {
            const want = paddedRow(row, meta.pad_id);
            const got = {
              ids: Array.from(batch.inputIds.subarray(i * n, (i + 1) * n)),
              types: Array.from(batch.tokenTypeIds.subarray(i * n, (i + 1) * n)),
              mask: Array.from(batch.attentionMask.subarray(i * n, (i + 1) * n)),
            };
            const where = `${request.kind} max_length ${n} row ${i}: ${JSON.stringify(first[i]!.slice(0, 80))}`;
            batches.check(where, { ...got, length: batch.lengths[i] }, { ...want, length: row.ids.length });
            if (!request.details) continue;
            const one = await tokenizer.encodeWithOffsets(first[i]!, { maxLength: n, ...(second ? { pair: second[i]! } : {}) });
            details.check(
              where,
              { ids: one.inputIds, types: one.tokenTypeIds, offsets: one.offsets, words: one.wordIds, seqs: one.sequenceIds },
              { ids: row.ids, types: row.types ?? row.ids.map(() => 0), offsets: row.offsets, words: row.words, seqs: row.seqs },
            );
          }
        } else if (request.kind === 'words') {
          for (const [i, row] of rows.entries()) {
            const got = await tokenizer.encodeWords(words[i]!, { maxLength: request.maxLength });
            wordDiffs.check(
              `words max_length ${request.maxLength} row ${i}: ${JSON.stringify(words[i]!.slice(0, 12))}`,
              { ids: got.inputIds, words: got.wordIds, truncated: got.truncatedWords, empty: got.emptyWords },
              { ids: row.ids, words: row.words, truncated: row.truncated, empty: row.empty },
            );
          }
        }
      }
      batches.report(t, 'padded batches (input_ids, token_type_ids, attention_mask, lengths)');
      details.report(t, 'encodeWithOffsets (ids, type ids, offsets, word ids, sequence ids)');
      wordDiffs.report(t, 'encodeWords (ids, word ids, truncated and empty words)');
    });
  }
}
