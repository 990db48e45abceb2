/**
 * `lib/data`: the BERT WordPiece tokenizer (identical to Hugging Face's) and the dataset
 * readers (CSV, TSV without quoting, JSONL).
 */
export { BertTokenizer, type BertTokenizerOptions, type EncodeOptions, type EncodedBatch, type Encoding } from './bert-tokenizer.js';
export type { HfImplementation } from './basic-tokenizer.js';
export { type ReadTableOptions, type Table, type TableFormat, parseCsv, parseTsv, readTable } from './tables.js';
