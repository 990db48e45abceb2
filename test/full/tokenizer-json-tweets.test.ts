// Parity of loadTokenizer (HfTokenizer over tokenizer.json, BertTokenizer over vocab.txt) with
// transformers' AutoTokenizer on every real Greek tweet (GRGE and OffensEval-GR, read from
// PJRT_BERT_DATA), for a WordPiece, a byte-level BPE and a Unigram tokenizer trained on them (in
// the styles of hf_tokenizer_reference.py) and the real MiniLM tokenizer.json: the suite of
// test/tokenizer-json.test.ts at full size. Skipped, and says so, without the data.
import t from 'tap';

import { miniLmDir, readAllTweets } from '../reference/corpora.js';
import { realDataOrSkip } from '../reference/python.js';
import { TRAINED, tokenizerJsonParity, trainedTokenizerDirs, vocabOnlyCopy } from '../reference/tokenizer-json-parity.js';

const dataDir = realDataOrSkip('real-tweet tokenizer.json parity');
if (!dataDir) {
  t.pass('skipped: no real data (see the message above)');
} else {
  const tweets = await readAllTweets(dataDir);
  t.test('the tweet corpus is complete', async (t) => {
    t.equal(tweets.length, 1640 + 8743 + 1544);
  });
  const trained = await trainedTokenizerDirs(tweets, `data:${dataDir}`);
  const minilm = await miniLmDir();
  await tokenizerJsonParity(t, {
    texts: tweets,
    dirs: {
      ...Object.fromEntries(TRAINED.map((name) => [name, trained[name]!])),
      'minilm tokenizer.json': minilm,
      'minilm vocab.txt': await vocabOnlyCopy(minilm),
    },
    singleLengths: [128, 16],
    pairLengths: [8, 33, 64, 128],
    wordLengths: [128, 16],
  });
}
