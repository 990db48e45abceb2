// Parity of loadTokenizer (HfTokenizer over tokenizer.json, BertTokenizer over vocab.txt) with
// transformers' AutoTokenizer on generated Greek tweets and hard cases, for a WordPiece, a
// byte-level BPE and a Unigram tokenizer trained on them at test time (in BERT, RoBERTa,
// ModernBERT and XLM-R styles, as written and under the classes that rebuild them) and for the real
// all-MiniLM-L6-v2 tokenizer.json; plus the errors of loadTokenizer. The same suite over every real
// tweet is test/full/tokenizer-json-tweets.test.ts.
import t from 'tap';

import { miniLmDir } from './reference/corpora.js';
import { generatedTweets } from './reference/generated-tweets.js';
import { TRAINED, tokenizerJsonParity, trainedTokenizerDirs, vocabOnlyCopy } from './reference/tokenizer-json-parity.js';

const tweets = generatedTweets(2000, 11);
const trained = await trainedTokenizerDirs(tweets, 'generated-2000-11');
const minilm = await miniLmDir();

await tokenizerJsonParity(t, {
  texts: tweets,
  dirs: {
    ...Object.fromEntries(TRAINED.map((name) => [name, trained[name]!])),
    'minilm tokenizer.json': minilm,
    'minilm vocab.txt': await vocabOnlyCopy(minilm),
  },
  singleLengths: [128, 12],
  pairLengths: [8, 16, 33, 64],
  wordLengths: [64, 10],
});
