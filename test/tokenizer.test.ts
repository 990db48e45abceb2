// Parity of BertTokenizer with Hugging Face transformers on every Greek tweet of the shared
// data and on hard cases, for a vocabulary trained on the tweets (uncased and cased) and the
// real all-MiniLM-L6-v2 vocabulary; both HF implementations: the Rust-backed
// `BertTokenizer` ('per-char' lowercasing) and the pure-Python `BertTokenizerLegacy`
// ('python' lowercasing).
import path from 'node:path';
import t, { type Test } from 'tap';

import { BertTokenizer, type BertTokenizerOptions } from '../lib/data/bert-tokenizer.js';
import { hardCases, miniLmDir, pairCases, readAllTweets, trainedVocabDir } from './reference/corpora.js';
import { runPythonJson } from './reference/python.js';

interface ReferenceEncoding {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
}

interface Case {
  text: string;
  pair?: string;
  max_length?: number;
}

type Impl = 'fast' | 'legacy';

interface Check {
  label: string;
  vocab: string;
  impl: Impl;
  options: BertTokenizerOptions;
  cases: Case[];
}

/** Compares every case of a check; reports the number of mismatches and the first few. */
async function compare(t: Test, check: Check, expected: ReferenceEncoding[]): Promise<void> {
  const tokenizer = await BertTokenizer.fromVocabFile(check.vocab, { ...check.options, implementation: check.impl });
  const failures: string[] = [];
  check.cases.forEach((c, i) => {
    const want = expected[i]!;
    const options = c.max_length === undefined ? {} : { maxLength: c.max_length, padding: 'max_length' as const };
    const got = tokenizer.encode(c.text, c.pair, options);
    const same =
      JSON.stringify(got.inputIds) === JSON.stringify(want.input_ids) &&
      JSON.stringify(got.tokenTypeIds) === JSON.stringify(want.token_type_ids) &&
      JSON.stringify(got.attentionMask) === JSON.stringify(want.attention_mask);
    if (same) return;
    failures.push(
      `${JSON.stringify(c)}\n  ours: ${tokenizer.convertIdsToTokens(got.inputIds).join(' ')}` +
        `\n  HF:   ${tokenizer.convertIdsToTokens(want.input_ids).join(' ')}`,
    );
  });
  t.equal(failures.length, 0, `${check.label}: ${check.cases.length} cases identical to HF ${check.impl}`, {
    vocab: check.vocab,
    first: failures.slice(0, 5).join('\n'),
  });
}

const tweets = await readAllTweets();
const vocabs = await trainedVocabDir();
const uncased = path.join(vocabs, 'uncased/vocab.txt');
const cased = path.join(vocabs, 'cased/vocab.txt');
const miniLmVocab = path.join(await miniLmDir(), 'vocab.txt');
const textCases: Case[] = [...tweets, ...hardCases].map((text) => ({ text }));
const hard: Case[] = hardCases.map((text) => ({ text }));
const truncationCases: Case[] = [];
for (const maxLength of [5, 8, 9, 16, 33, 64, 128]) {
  for (const [text, pair] of pairCases(tweets).slice(0, 40)) truncationCases.push({ text, pair, max_length: maxLength });
  for (const text of tweets.slice(0, 20)) truncationCases.push({ text, max_length: maxLength });
}
truncationCases.push({ text: 'short', pair: tweets[0]!, max_length: 16 }, { text: tweets[0]!, pair: 'short', max_length: 16 });

const checks: Check[] = (['fast', 'legacy'] as const).flatMap((impl) => [
  { label: `${impl}: Greek uncased vocabulary (lowercase + strip accents)`, vocab: uncased, impl, options: {}, cases: textCases },
  { label: `${impl}: Greek cased vocabulary`, vocab: cased, impl, options: { doLowerCase: false }, cases: textCases },
  { label: `${impl}: MiniLM vocabulary`, vocab: miniLmVocab, impl, options: {}, cases: textCases },
  { label: `${impl}: lowercase, keep accents`, vocab: miniLmVocab, impl, options: { stripAccents: false }, cases: hard },
  { label: `${impl}: cased, strip accents`, vocab: cased, impl, options: { doLowerCase: false, stripAccents: true }, cases: hard },
  { label: `${impl}: no CJK split`, vocab: miniLmVocab, impl, options: { tokenizeChineseChars: false }, cases: hard },
  { label: `${impl}: pairs, truncation (longest first), padding`, vocab: uncased, impl, options: {}, cases: truncationCases },
]);

const expected = await runPythonJson<ReferenceEncoding[][]>(
  'tokenize_reference.py',
  [],
  checks.map((check) => ({
    vocab: check.vocab,
    impl: check.impl,
    do_lower_case: check.options.doLowerCase ?? true,
    strip_accents: check.options.stripAccents ?? null,
    tokenize_chinese_chars: check.options.tokenizeChineseChars ?? true,
    cases: check.cases,
  })),
);

t.test('the tweet corpus is complete', async (t) => {
  t.equal(tweets.length, 1640 + 8743 + 1544);
});

checks.forEach((check, i) => {
  t.test(check.label, async (t) => compare(t, check, expected[i]!));
});

t.test('fast and legacy differ on a word-final capital sigma, as HF does', async (t) => {
  const fast = await BertTokenizer.fromVocabFile(uncased);
  const legacy = await BertTokenizer.fromVocabFile(uncased, { implementation: 'legacy' });
  t.not(fast.tokenize('ΟΔΟΣ').join(' '), legacy.tokenize('ΟΔΟΣ').join(' '));
  t.same(fast.tokenize('οδος'), legacy.tokenize('ΟΔΟΣ'));
});

t.test('fromPretrained reads the MiniLM directory like transformers', async (t) => {
  const tokenizer = await BertTokenizer.fromPretrained(await miniLmDir());
  t.equal(tokenizer.vocabSize, 30522);
  t.equal(tokenizer.modelMaxLength, 512);
  t.same(tokenizer.tokenize('Hello, WORLD! unaffable'), ['hello', ',', 'world', '!', 'una', '##ffa', '##ble']);
});

t.test('encodeBatch gives padded Int32Array slabs equal to encode', async (t) => {
  const tokenizer = await BertTokenizer.fromVocabFile(uncased);
  const texts = tweets.slice(0, 50);
  const batch = tokenizer.encodeBatch(texts, { maxLength: 32 });
  t.equal(batch.inputIds.length, 50 * 32);
  t.equal(batch.batchSize, 50);
  t.equal(batch.seqLen, 32);
  texts.forEach((text, row) => {
    const one = tokenizer.encode(text, undefined, { maxLength: 32, padding: 'max_length' });
    t.same(Array.from(batch.inputIds.subarray(row * 32, row * 32 + 32)), one.inputIds);
    t.same(Array.from(batch.attentionMask.subarray(row * 32, row * 32 + 32)), one.attentionMask);
  });
  const pairs = tokenizer.encodeBatch(['a', 'b'], { maxLength: 8, pairs: ['c', 'd'] });
  t.same(Array.from(pairs.tokenTypeIds.subarray(0, 8)), [0, 0, 0, 1, 1, 0, 0, 0]);
  t.throws(() => tokenizer.encodeBatch(['a'], { maxLength: 8, pairs: [] }), RangeError);
  t.throws(() => tokenizer.encode('a', 'b', { maxLength: 2 }), /no room for 3 special tokens/);
});

t.test('a vocabulary without the special tokens is refused with the file named', async (t) => {
  const dir = await trainedVocabDir();
  const { writeFile } = await import('node:fs/promises');
  const bad = path.join(dir, 'bad-vocab.txt');
  await writeFile(bad, 'hello\nworld\n[PAD]\n');
  await t.rejects(BertTokenizer.fromVocabFile(bad), {
    name: 'FileFormatError',
    message: /bad-vocab\.txt: vocabulary lacks the special tokens \[UNK\], \[CLS\], \[SEP\]/,
  });
  await t.rejects(BertTokenizer.fromVocabFile(path.join(dir, 'nope.txt')), { message: /nope\.txt: file not found/ });
});
