/**
 * The tokenizer of a model directory, checked against the model it comes with: loaded from the
 * directory's files, its kind compared with the family's, its id space with the embeddings;
 * and written back beside a saved model, recording the training length as HF's
 * `model_max_length`.
 */
import path from 'node:path';

import { BertTokenizer } from '../data/bert-tokenizer.js';
import { writeTokenizerSettings, writeVocabFile } from '../io/hf-tokenizer-files.js';
import { FileFormatError } from '../io/files.js';
import type { EncoderConfigBase, EncoderFamily } from '../models/index.js';

/** What the rest of the package needs from a tokenizer of any kind. */
export type ModelTokenizer = BertTokenizer;

/**
 * Loads the tokenizer of model directory `dir` and checks it fits `family` and `config`.
 * Async; throws FileFormatError naming the directory when the tokenizer's vocabulary size
 * disagrees with the embeddings (`vocab_size` of config.json), or the loader's errors.
 */
export async function loadModelTokenizer(dir: string, family: EncoderFamily, config: EncoderConfigBase): Promise<ModelTokenizer> {
  const tokenizer = await BertTokenizer.fromPretrained(dir);
  checkTokenizer(tokenizer, family, config, dir);
  return tokenizer;
}

/**
 * Checks that `tokenizer` suits a model: a kind its family uses, and ids within its
 * embeddings. Sync; throws FileFormatError naming `where`.
 */
export function checkTokenizer(tokenizer: ModelTokenizer, family: EncoderFamily, config: EncoderConfigBase, where: string): void {
  if (!family.tokenizerKinds.includes('wordpiece')) {
    throw new FileFormatError(where, `a ${family.name} model needs a ${family.tokenizerKinds.join(' or ')} tokenizer (tokenizer.json), but the directory has only a WordPiece vocab.txt`);
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new FileFormatError(path.join(where, 'vocab.txt'), `has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.vocabSize}: the tokenizer does not belong to these embeddings`);
  }
}

/**
 * A writer of `tokenizer`'s files for `saveModelDir`: vocab.txt, tokenizer_config.json (with
 * `model_max_length` = the training length when known) and special_tokens_map.json. Sync.
 */
export function tokenizerWriter(tokenizer: ModelTokenizer): (dir: string, modelMaxLength: number | undefined) => Promise<void> {
  return async (dir, modelMaxLength) => {
    await writeVocabFile(path.join(dir, 'vocab.txt'), tokenizer.vocabulary.tokens);
    await writeTokenizerSettings(dir, modelMaxLength === undefined ? tokenizer.settings : { ...tokenizer.settings, modelMaxLength });
  };
}
