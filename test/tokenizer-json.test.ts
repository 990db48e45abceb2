// Parity of loadTokenizer (HfTokenizer over tokenizer.json, BertTokenizer over vocab.txt) with
// transformers' AutoTokenizer on generated Greek tweets and hard cases, for a WordPiece, a
// byte-level BPE and a Unigram tokenizer trained on them at test time (in BERT, RoBERTa,
// ModernBERT and XLM-R styles, as written and under the classes that rebuild them) and for the real
// all-MiniLM-L6-v2 tokenizer.json; plus the errors of loadTokenizer. The same suite over every real
// tweet is test/full/tokenizer-json-tweets.test.ts.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { autoTokenizerClass } from '../lib/data/auto-tokenizer.js';
import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { HfTokenizer } from '../lib/data/hf-tokenizer.js';
import { loadTokenizer } from '../lib/data/load-tokenizer.js';
import { miniLmDir } from './reference/corpora.js';
import { generatedTweets } from './reference/generated-tweets.js';
import { TRAINED, tokenizerJsonParity, trainedTokenizerDirs, vocabOnlyCopy } from './reference/tokenizer-json-parity.js';

const tweets = generatedTweets(1200, 11);
const trained = await trainedTokenizerDirs(tweets, 'generated-1200-11');
const minilm = await miniLmDir();

// Directories written by our own save(), which AutoTokenizer must read back identically.
const savedHf = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tokjson-saved-hf-'));
await (await loadTokenizer(trained['bpe-roberta-class']!)).save(savedHf);
const savedBert = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tokjson-saved-bert-'));
await (await loadTokenizer(trained['vocab-cased']!)).save(savedBert);

t.test('HfTokenizer.save copies the tokenizer files byte for byte', async (t) => {
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    t.ok((await readFile(path.join(savedHf, name))).equals(await readFile(path.join(trained['bpe-roberta-class']!, name))), name);
  }
});

await tokenizerJsonParity(t, {
  // compared on the first 500 (the tokenizers train on all 1,200; every real tweet is test/full's)
  texts: tweets.slice(0, 500),
  dirs: {
    ...Object.fromEntries(TRAINED.map((name) => [name, trained[name]!])),
    'minilm tokenizer.json': minilm,
    'minilm vocab.txt': await vocabOnlyCopy(minilm),
    'bpe-roberta-class saved by HfTokenizer.save': savedHf,
    'vocab-cased saved by BertTokenizer.save': savedBert,
  },
  singleLengths: [128, 12],
  pairLengths: [8, 16, 33, 64],
  wordLengths: [64, 10],
});

t.test('loadTokenizer picks tokenizer.json over vocab.txt, and the kind of each', async (t) => {
  const fromJson = await loadTokenizer(minilm);
  t.ok(fromJson instanceof HfTokenizer, 'MiniLM has both: tokenizer.json wins, as in AutoTokenizer');
  t.equal(fromJson.kind, 'wordpiece');
  t.equal((fromJson as HfTokenizer).tokenizerClass, 'BertTokenizer');
  t.ok((await loadTokenizer(trained['vocab-uncased']!)) instanceof BertTokenizer, 'vocab.txt only: our WordPiece');
  t.equal((await loadTokenizer(trained['bpe-roberta']!)).kind, 'bpe');
  t.equal((await loadTokenizer(trained['unigram-xlmr']!)).kind, 'unigram');
  const batch = fromJson.encodeBatch(['hello'], { maxLength: 4 });
  t.ok(batch instanceof Promise, 'HfTokenizer encodes asynchronously (the tokenizers package is async-only)');
  t.same(Array.from((await batch).inputIds), [101, 7592, 102, 0]);
});

/** A scratch copy of a trained directory with `edit` applied to its JSON files. */
async function variant(from: string, edit: { tokenizer?: (json: any) => unknown; config?: (json: any) => unknown }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tokjson-variant-'));
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    const json = JSON.parse(await readFile(path.join(from, name), 'utf8'));
    const change = name === 'tokenizer.json' ? edit.tokenizer : edit.config;
    await writeFile(path.join(dir, name), JSON.stringify(change ? change(json) ?? json : json));
  }
  return dir;
}

t.test('directories loadTokenizer cannot use are errors naming the file and what to do', async (t) => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tokjson-empty-'));
  await t.rejects(loadTokenizer(empty), {
    name: 'FileFormatError',
    message: new RegExp(`${empty}: no tokenizer: looked for tokenizer\\.json .* and vocab\\.txt .*save_pretrained`),
  });
  await t.rejects(loadTokenizer(path.join(empty, 'missing')), { message: /missing: not a directory/ });

  const wordLevel = await variant(trained['wordpiece']!, {
    tokenizer: (json) => ({ ...json, model: { type: 'WordLevel', vocab: { '[UNK]': 0, '[PAD]': 1 }, unk_token: '[UNK]' } }),
  });
  await t.rejects(loadTokenizer(wordLevel), {
    name: 'FileFormatError',
    message: /tokenizer\.json: model kind WordLevel is not supported; pjrt-bert reads WordPiece, BPE and Unigram/,
  });
  const noModel = await variant(trained['wordpiece']!, { tokenizer: (json) => ({ ...json, model: undefined }) });
  await t.rejects(loadTokenizer(noModel), { message: /tokenizer\.json: model kind \(none\) is not supported/ });
  const broken = await variant(trained['wordpiece']!, {});
  await writeFile(path.join(broken, 'tokenizer.json'), '{"model": ');
  await t.rejects(loadTokenizer(broken), { name: 'FileFormatError', message: /tokenizer\.json: invalid JSON/ });
  const unreadable = await variant(trained['wordpiece']!, { tokenizer: (json) => ({ ...json, pre_tokenizer: { type: 'NoSuchPreTokenizer' } }) });
  await t.rejects(loadTokenizer(unreadable), { message: /tokenizer\.json: the tokenizers package cannot read it/ });

  const mismatch = await variant(trained['wordpiece']!, { config: (json) => ({ ...json, tokenizer_class: 'RobertaTokenizer' }) });
  await t.rejects(loadTokenizer(mismatch), {
    message: /tokenizer_config\.json: tokenizer_class RobertaTokenizer builds a BPE tokenizer, but tokenizer\.json holds a WordPiece model/,
  });
  const noPad = await variant(trained['unigram-xlmr']!, { config: (json) => ({ ...json, pad_token: undefined }) });
  await t.rejects(loadTokenizer(noPad), { message: /tokenizer_config\.json: names no pad token: add "pad_token"/ });

  const other = (await loadTokenizer(await variant(trained['unigram-xlmr']!, { config: (json) => ({ ...json, tokenizer_class: 'CamembertTokenizer' }) }))) as HfTokenizer;
  t.equal(other.tokenizerClass, 'CamembertTokenizer');
  t.match(other.warnings.join('\n'), /CamembertTokenizer, which transformers rebuilds in its own way; pjrt-bert uses tokenizer\.json as written/);
});

t.test('the class AutoTokenizer picks for a hub tokenizer_class and a model_type', async (t) => {
  const cases: [string | undefined, string | undefined, unknown][] = [
    ['BertTokenizerFast', 'bert', { name: 'BertTokenizer' }],
    ['BertTokenizer', undefined, { name: 'BertTokenizer' }],
    ['DistilBertTokenizer', 'distilbert', { name: 'DistilBertTokenizer' }],
    ['ElectraTokenizerFast', 'electra', { name: 'BertTokenizer' }],
    [undefined, 'electra', { name: 'BertTokenizer' }],
    ['RobertaTokenizerFast', 'roberta', { name: 'RobertaTokenizer' }],
    ['XLMRobertaTokenizer', 'xlm-roberta', { name: 'XLMRobertaTokenizer' }],
    ['PreTrainedTokenizerFast', 'modernbert', { name: 'TokenizersBackend' }],
    ['RobertaTokenizer', 'modernbert', { name: 'TokenizersBackend' }],
    ['PreTrainedTokenizerFast', undefined, { name: 'TokenizersBackend' }],
    [undefined, undefined, { name: 'TokenizersBackend' }],
    ['CamembertTokenizer', 'camembert', { unknown: 'CamembertTokenizer' }],
  ];
  for (const [hub, modelType, want] of cases) t.same(autoTokenizerClass(hub, modelType), want, `${hub} / ${modelType}`);
});

t.test('encode calls of one HfTokenizer may overlap: each keeps its own max length', async (t) => {
  // Truncation is a setting of the Rust tokenizer, read when a task starts on libuv's thread
  // pool: calls that overlap (behind long ones that keep the pool busy) must not see each other's.
  const tokenizer = (await loadTokenizer(trained['unigram-xlmr']!)) as HfTokenizer;
  const texts = tweets.slice(0, 40);
  const busy = Array.from({ length: 3 }, () => tweets).flat();
  const lengths = [8, 64, 12, 128, 9];
  const calls = (maxLength: number) => [
    tokenizer.encodeBatch(busy, { maxLength: 128 }).then((batch) => batch.lengths.reduce((a, b) => a + b, 0)),
    tokenizer.encodeBatch(texts, { maxLength }),
    tokenizer.encodeWithOffsets(texts[0]!, { maxLength, pair: texts[1]! }),
    tokenizer.encodeWords(texts[2]!.split(' '), { maxLength }),
  ];
  const alone: unknown[] = [];
  for (const maxLength of lengths) for (const call of calls(maxLength)) alone.push(await call);
  const together = await Promise.all(lengths.flatMap(calls));
  t.same(together, alone);
});

t.test('bad arguments are RangeErrors naming the method and the values', async (t) => {
  const hf = await loadTokenizer(trained['bpe-roberta']!);
  const bert = await loadTokenizer(trained['vocab-uncased']!);
  await t.rejects(async () => hf.encodeBatch(['a'], { maxLength: 3, pairs: ['b'] }), {
    name: 'RangeError',
    message: 'HfTokenizer.encodeBatch: maxLength 3 leaves no room for 4 special tokens',
  });
  await t.rejects(async () => hf.encodeBatch(['a', 'b'], { maxLength: 8, pairs: ['c'] }), { message: 'HfTokenizer.encodeBatch: 2 texts but 1 pairs' });
  await t.rejects(async () => hf.encodeWords(['a'], { maxLength: 0 }), { message: 'HfTokenizer.encodeWords: maxLength must be a positive integer, got 0' });
  t.throws(() => bert.encodeWithOffsets('a', { maxLength: 2, pair: 'b' }), { name: 'RangeError', message: /no room for 3 special tokens/ });
  t.throws(() => bert.encodeWords(['a'], { maxLength: 1.5 }), RangeError);
  const legacy = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a'], { implementation: 'legacy' });
  t.throws(() => legacy.encodeWithOffsets('a', { maxLength: 8 }), /offsets need implementation 'fast'/);
  t.same((await hf.encodeWords([], { maxLength: 8 })).inputIds, [0, 2], 'no words: the special tokens alone');
  t.same((await bert.encodeWords([], { maxLength: 8 })).inputIds, [2, 3]);
});
