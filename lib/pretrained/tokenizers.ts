/**
 * The tokenizer of a model directory, checked against the model it comes with: loaded from the
 * directory's files (`tokenizer.json` through the `tokenizers` package, else our WordPiece on
 * `vocab.txt`), its kind compared with the family's, its id space with the embeddings; and
 * written back beside a saved model, recording the training length as HF's `model_max_length`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { loadTokenizer, type TextTokenizer } from '../data/index.js';
import { FileFormatError, writeJsonAtomic } from '../io/files.js';
import type { EncoderConfigBase, EncoderFamily } from '../models/index.js';

/** What the rest of the package needs from a tokenizer of any kind. */
export type ModelTokenizer = TextTokenizer;

/**
 * Loads the tokenizer of model directory `dir` and checks it fits `family` and `config`.
 * Async; throws FileFormatError naming the directory for a tokenizer of a kind the family does
 * not use or with ids beyond the embeddings (`vocab_size`), or the loader's errors.
 */
export async function loadModelTokenizer(dir: string, family: EncoderFamily, config: EncoderConfigBase): Promise<ModelTokenizer> {
  const tokenizer = await loadTokenizer(dir);
  checkTokenizer(tokenizer, family, config, dir);
  return tokenizer;
}

/**
 * Checks that `tokenizer` suits a model: a kind its family uses, and ids within its
 * embeddings. Sync; throws FileFormatError naming `where`.
 */
export function checkTokenizer(tokenizer: ModelTokenizer, family: EncoderFamily, config: EncoderConfigBase, where: string): void {
  if (!family.tokenizerKinds.includes(tokenizer.kind)) {
    throw new FileFormatError(where, `a ${family.name} model takes a ${family.tokenizerKinds.join(' or ')} tokenizer, but the directory's tokenizer is ${tokenizer.kind}`);
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new FileFormatError(where, `the tokenizer has ${tokenizer.vocabSize} ids but config.json says vocab_size ${config.vocabSize}: the tokenizer does not belong to these embeddings`);
  }
}

/**
 * A writer of `tokenizer`'s files for `saveModelDir`: the tokenizer's own files, with
 * tokenizer_config.json's `model_max_length` set to the training length when known. Sync.
 */
export function tokenizerWriter(tokenizer: ModelTokenizer): (dir: string, modelMaxLength: number | undefined) => Promise<void> {
  return async (dir, modelMaxLength) => {
    await tokenizer.save(dir);
    if (modelMaxLength === undefined) return;
    const file = path.join(dir, 'tokenizer_config.json');
    let settings: Record<string, unknown> = {};
    try {
      settings = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {
      // none written: start one
    }
    await writeJsonAtomic(file, { ...settings, model_max_length: modelMaxLength });
  };
}
