/**
 * `loadTokenizer(dir)`: the tokenizer of a model directory, whatever it holds: `tokenizer.json`
 * (any Hugging Face fast tokenizer, through `HfTokenizer`) when present, else `vocab.txt` (our
 * `BertTokenizer`, e.g. nlpaueb's Greek BERT, which ships no tokenizer.json). This is what
 * `AutoTokenizer.from_pretrained(dir)` does too: tokenizer.json wins over vocab.txt.
 *
 * lib/data knows no model family: the family names the `TokenizerKind` it expects and the layer
 * above compares it with `tokenizer.kind` (and `tokenizer.vocabSize` with the embeddings).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

import { FileFormatError } from '../io/files.js';
import { BertTokenizer } from './bert-tokenizer.js';
import { HfTokenizer } from './hf-tokenizer.js';
import type { TextTokenizer } from './tokenizer.js';

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads the tokenizer of the model directory `dir`: `tokenizer.json` (with tokenizer_config.json,
 * special_tokens_map.json and config.json's model_type, as AutoTokenizer reads them) when
 * present, else `vocab.txt` with its tokenizer_config.json. Async; throws `FileFormatError`
 * naming `dir` when it is not a directory or has neither file (saying how to produce
 * tokenizer.json), and as `HfTokenizer.fromDirectory` / `BertTokenizer.fromPretrained` for a
 * file they cannot use (e.g. a WordLevel tokenizer.json).
 */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new FileFormatError(dir, 'not a directory: expected a model directory holding tokenizer.json or vocab.txt');
  if (await isFile(path.join(dir, 'tokenizer.json'))) return HfTokenizer.fromDirectory(dir);
  if (await isFile(path.join(dir, 'vocab.txt'))) return BertTokenizer.fromPretrained(dir);
  throw new FileFormatError(
    dir,
    'no tokenizer: looked for tokenizer.json (any Hugging Face fast tokenizer) and vocab.txt (BERT WordPiece). ' +
      'To write tokenizer.json for a model whose tokenizer Python can load, run ' +
      `python -c "from transformers import AutoTokenizer as T; T.from_pretrained('${dir}').save_pretrained('${dir}')"`,
  );
}
