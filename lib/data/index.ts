/**
 * `lib/data`: tokenizers behind one interface (`TextTokenizer`: our BERT WordPiece for vocab.txt,
 * `HfTokenizer` for a Hugging Face tokenizer.json, `loadTokenizer` to pick) and the dataset
 * readers (CSV, TSV without quoting, JSONL; CoNLL and JSONL token data) and the label parsers of
 * each task (regression numbers, multi-label sets, IOB2 tags).
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
export {
  type JsonRecord,
  type ReadTableOptions,
  type Table,
  type TableFormat,
  type TextRecord,
  formatCsv,
  parseCsv,
  parseTsv,
  readTable,
  parseCsvRecords,
  parseJsonLines,
  parseTsvRecords,
} from './tables.js';
export {
  type ReadTokenDataOptions,
  type TaggedSentence,
  type TokenColumns,
  type TokenFormat,
  type TokenSentence,
  type TokenTable,
  CONLL_EXTENSIONS,
  parseConll,
  parseTokenJsonLines,
  readConll,
  readTokenData,
  readTokenTable,
} from './conll.js';
export {
  type Iob2Report,
  type MultiLabelOptions,
  type MultiLabels,
  assertIob2,
  parseLabelColumns,
  parseMultiLabels,
  parseRegressionLabels,
  validateIob2,
} from './labels.js';
