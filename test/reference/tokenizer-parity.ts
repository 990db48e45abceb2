/**
 * The tokenizer parity suite, run on any corpus: our BertTokenizer against Hugging Face's
 * (`tokenize_reference.py`), both implementations (the Rust-backed `BertTokenizer`, 'fast', and
 * the pure-Python `BertTokenizerLegacy`, 'legacy'), for an uncased and a cased vocabulary
 * trained on the corpus and the real all-MiniLM-L6-v2 vocabulary, plus options, pairs and
 * truncation. `test/tokenizer.test.ts` runs it on generated tweets, `test/full/` on the real ones.
 */
import path from 'node:path';
import type { Test } from 'tap';

import { BertTokenizer, type BertTokenizerOptions } from '../../lib/data/bert-tokenizer.js';
import { hardCases, pairCases } from './corpora.js';
import { runPythonJson } from './python.js';

export interface ReferenceEncoding {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
}

export interface Case {
  text: string;
  pair?: string;
  max_length?: number;
}

export type Impl = 'fast' | 'legacy';

export interface Check {
  label: string;
  vocab: string;
  impl: Impl;
  options: BertTokenizerOptions;
  cases: Case[];
}

/** Compares every case of a check; reports the number of mismatches and the first few. */
export async function compare(t: Test, check: Check, expected: ReferenceEncoding[]): Promise<void> {
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

/**
 * Runs every parity check on `corpus` as subtests of `t`: the vocabularies are in
 * `vocabs/{uncased,cased}/vocab.txt`, MiniLM's at `miniLmVocab`. Async.
 */
export async function tokenizerParity(t: Test, corpus: readonly string[], vocabs: string, miniLmVocab: string): Promise<void> {
  const uncased = path.join(vocabs, 'uncased/vocab.txt');
  const cased = path.join(vocabs, 'cased/vocab.txt');
  const tweets = corpus;
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

  checks.forEach((check, i) => {
    t.test(check.label, async (t) => compare(t, check, expected[i]!));
  });
}
