// Parity of BertTokenizer with Hugging Face transformers on every real Greek tweet (GRGE and
// OffensEval-GR, read from PJRT_BERT_DATA) for vocabularies trained on them and MiniLM's; the
// suite of test/tokenizer.test.ts at full size. Skipped, and says so, without the data.
import path from 'node:path';
import t from 'tap';

import { miniLmDir, readAllTweets, trainedVocabDir } from '../reference/corpora.js';
import { realDataOrSkip } from '../reference/python.js';
import { tokenizerParity } from '../reference/tokenizer-parity.js';

const dataDir = realDataOrSkip('real-tweet tokenizer parity');
if (!dataDir) {
  t.pass('skipped: no real data (see the message above)');
} else {
  const tweets = await readAllTweets(dataDir);
  t.test('the tweet corpus is complete', async (t) => {
    t.equal(tweets.length, 1640 + 8743 + 1544);
  });
  await tokenizerParity(t, tweets, await trainedVocabDir({ dataDir }), path.join(await miniLmDir(), 'vocab.txt'));
}
