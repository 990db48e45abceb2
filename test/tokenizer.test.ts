// Parity of BertTokenizer with Hugging Face transformers on generated Greek tweets and hard
// cases, for vocabularies trained on them (uncased and cased) and the real all-MiniLM-L6-v2
// vocabulary; both HF implementations (see test/reference/tokenizer-parity.ts). The same suite
// over every real tweet is test/full/tokenizer-tweets.test.ts.
import path from 'node:path';
import t from 'tap';

import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { miniLmDir, trainedVocabDir } from './reference/corpora.js';
import { generatedTweets } from './reference/generated-tweets.js';
import { tokenizerParity } from './reference/tokenizer-parity.js';

const tweets = generatedTweets(3000, 7);
const vocabs = await trainedVocabDir({ texts: tweets, name: 'generated-3000-7' });
const uncased = path.join(vocabs, 'uncased/vocab.txt');

t.test('the generated corpus has what real tweets have', async (t) => {
  t.equal(tweets.length, 3000);
  t.ok(tweets.some((text) => /ΟΣ(\s|$)/.test(text)), 'a capital word-final sigma');
  t.ok(tweets.some((text) => /[ϊϋΐΰ]/.test(text)), 'diaeresis');
  t.ok(tweets.some((text) => /https:\/\//.test(text)) && tweets.some((text) => /\p{Extended_Pictographic}/u.test(text)), 'URLs and emoji');
});

await tokenizerParity(t, tweets, vocabs, path.join(await miniLmDir(), 'vocab.txt'));

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
  const dir = vocabs;
  const { writeFile } = await import('node:fs/promises');
  const bad = path.join(dir, 'bad-vocab.txt');
  await writeFile(bad, 'hello\nworld\n[PAD]\n');
  await t.rejects(BertTokenizer.fromVocabFile(bad), {
    name: 'FileFormatError',
    message: /bad-vocab\.txt: vocabulary lacks the special tokens \[UNK\], \[CLS\], \[SEP\]/,
  });
  await t.rejects(BertTokenizer.fromVocabFile(path.join(dir, 'nope.txt')), { message: /nope\.txt: file not found/ });
});
