/**
 * `lib/data`: tokenizers behind one interface (`TextTokenizer`: our BERT WordPiece for vocab.txt,
 * `HfTokenizer` for a Hugging Face tokenizer.json, `loadTokenizer` to pick) and the dataset
 * readers (CSV, TSV without quoting, JSONL).
 */
export {
  type Awaitable,
  type EncodeBatchOptions,
  type EncodedBatch,
  type TextEncoding,
  type TextTokenizer,
  type TokenizerKind,
  type WordsEncoding,
} from './tokenizer.js';
export { BertTokenizer, type BertTokenizerOptions, type EncodeOptions, type Encoding } from './bert-tokenizer.js';
export { HfTokenizer } from './hf-tokenizer.js';
export { loadTokenizer } from './load-tokenizer.js';
export type { HfImplementation } from './basic-tokenizer.js';
export { type ReadTableOptions, type Table, type TableFormat, parseCsv, parseTsv, readTable } from './tables.js';
