// Fuzzing the text readers (issue 10, item 9): CSV/TSV/JSONL tables, vocab.txt, config.json
// and tokenizer_config.json, from generated text (quotes, separators, line breaks, non-ASCII,
// invalid UTF-8 bytes) and mutations of valid files. Every input must end in a result or a
// FileFormatError naming the file, never another exception; what is read must be
// consistent (config sizes within their limits, rows as wide as the header), and data
// written the way the format says reads back unchanged. Budget: PJRT_BERT_FUZZ_RUNS runs
// per property (a few seconds by default).
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';

import { parseCsv, parseTsv, readTable } from '../lib/data/tables.js';
import { readTokenizerSettings, readVocabFile } from '../lib/io/hf-tokenizer-files.js';
import { CONFIG_LIMITS, type EncoderConfigBase, type EncoderFamily, FAMILIES, bert, bertPresetConfig } from '../lib/models/index.js';
import { readModelConfig } from '../lib/pretrained/model-dir.js';
import { endsWell, endsWellAsync, fuzzParameters, mutants } from './helpers/fuzz.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-fuzz-text-'));

/** Text made of the characters that matter to the table formats, plus some non-ASCII. */
const tableText = fc
  .array(fc.oneof(fc.constantFrom(',', '"', '\n', '\r', '\t', '{', '}', ':', '[', ']', ' ', 'text', 'label', '"text"', '"label"', 'Καλή', '中', '\ufeff'), fc.string({ maxLength: 3 })), { maxLength: 40 })
  .map((parts) => Buffer.from(parts.join('')));
/** Bytes that are mostly text, sometimes not UTF-8 at all. */
const textBytes = fc.oneof({ weight: 3, arbitrary: tableText }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) });

t.test('CSV, TSV and JSONL tables: generated files are read or refused naming the file', async (t) => {
  for (const ext of ['csv', 'tsv', 'jsonl']) {
    const file = path.join(dir, `fuzz.${ext}`);
    await fc.assert(
      fc.asyncProperty(textBytes, fc.boolean(), async (bytes, withLabels) => {
        await writeFile(file, bytes);
        return endsWellAsync(file, () => readTable(file, { textColumn: 'text', labelColumn: withLabels ? 'label' : undefined }), (table) => {
          const labelsFit = !withLabels || table.labels?.length === table.texts.length;
          return labelsFit && table.texts.every((text) => typeof text === 'string' && !text.includes('\ufffd'));
        });
      }),
      fuzzParameters(300),
    );
  }
  t.pass('every generated table was read or refused naming the file; no U+FFFD was ever read');
});

t.test('CSV and TSV: rows written per the format read back unchanged', async (t) => {
  const field = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'é', '\t'), maxLength: 6 });
  const rows = fc.integer({ min: 1, max: 4 }).chain((width) => fc.array(fc.array(field, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 6 }));
  fc.assert(
    fc.property(rows, fc.constantFrom('\n', '\r\n'), (table, eol) => {
      const csv = table.map((row) => row.map((value) => `"${value.replace(/"/g, '""')}"`).join(',')).join(eol) + eol;
      return JSON.stringify(parseCsv(csv, 'rt.csv')) === JSON.stringify(table);
    }),
    fuzzParameters(300),
  );
  const plain = fc.string({ unit: fc.constantFrom('a', ',', '"', ' ', 'é', '<LF>'), minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(fc.array(fc.array(plain, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }), (table) => {
      const tsv = table.map((row) => row.join('\t')).join('\n');
      return JSON.stringify(parseTsv(tsv)) === JSON.stringify(table);
    }),
    fuzzParameters(300),
  );
  t.pass('quoted CSV and tab-separated rows round-trip');
});

t.test('JSONL: records written with JSON.stringify read back unchanged', async (t) => {
  const file = path.join(dir, 'rt.jsonl');
  const record = fc.record({ text: fc.string({ maxLength: 8 }), label: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean()) });
  await fc.assert(
    fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 6 }), async (records) => {
      await writeFile(file, records.map((r) => JSON.stringify(r)).join('\n'));
      const table = await readTable(file, { textColumn: 'text', labelColumn: 'label' });
      const labels = records.map((r) => (typeof r.label === 'string' ? r.label : JSON.stringify(r.label)));
      return JSON.stringify(table.texts) === JSON.stringify(records.map((r) => r.text)) && JSON.stringify(table.labels) === JSON.stringify(labels);
    }),
    fuzzParameters(300),
  );
  t.pass('JSONL records round-trip');
});

t.test('vocab.txt: generated and mutated files are read or refused naming the file', async (t) => {
  const file = path.join(dir, 'vocab.txt');
  const valid = Buffer.from(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'καλή', '##ing', '中'].join('\n'));
  await fc.assert(
    fc.asyncProperty(fc.oneof(textBytes, mutants([valid], 16)), async (bytes) => {
      await writeFile(file, bytes);
      return endsWellAsync(file, () => readVocabFile(file), (tokens) => tokens.length > 0 && tokens.every((token) => !/[\r\n\ufffd]/.test(token)));
    }),
    fuzzParameters(400),
  );
  t.pass('every vocab.txt was read or refused naming the file');
});

const validConfig = { ...bert.configToJson({ ...bertPresetConfig('tiny', { vocabSize: 100 }), labels: ['a', 'b'] }), num_labels: 2 };

/**
 * A config accepted must describe a model whose sizes are positive integers within the limits
 * (BERT_FIELDS: CONFIG_LIMITS, intermediate_size up to 4x the size limit), whose heads divide
 * its hidden size, and whose parameter count is exact in a double.
 */
function sane(config: EncoderConfigBase, family: EncoderFamily = FAMILIES.bert): boolean {
  const sizes: Array<[number, number]> = [
    [config.vocabSize, CONFIG_LIMITS.vocab],
    [config.hiddenSize, CONFIG_LIMITS.size],
    [config.numHiddenLayers, CONFIG_LIMITS.layers],
    [config.numAttentionHeads, CONFIG_LIMITS.size],
    [config.intermediateSize, 4 * CONFIG_LIMITS.size],
    [config.maxPositionEmbeddings, CONFIG_LIMITS.positions],
  ];
  const typeVocabSize = (config as Partial<Record<'typeVocabSize', number>>).typeVocabSize;
  if (typeVocabSize !== undefined) sizes.push([typeVocabSize, CONFIG_LIMITS.size]);
  let count = 0;
  for (const shape of family.paramShapes(config).values()) count += shape.reduce((a, b) => a * b, 1);
  return (
    sizes.every(([value, limit]) => Number.isSafeInteger(value) && value > 0 && value <= limit) &&
    config.hiddenSize % config.numAttentionHeads === 0 &&
    Number.isInteger(config.padTokenId) && config.padTokenId >= 0 && config.padTokenId < config.vocabSize &&
    Number.isSafeInteger(count)
  );
}

t.test('config.json: generated field values are accepted only when sane', async (t) => {
  const keys = Object.keys(validConfig);
  const value = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1e9, 1e300, 2 ** 53, 0.5, Number.MAX_SAFE_INTEGER), fc.string({ maxLength: 4 }), fc.constant(null), fc.boolean(), fc.dictionary(fc.string({ maxLength: 2 }), fc.string({ maxLength: 2 }), { maxKeys: 3 }));
  const edits = fc.array(fc.tuple(fc.constantFrom(...keys, 'id2label', 'label2id', 'num_labels', '__proto__'), value, fc.boolean()), { maxLength: 4 });
  fc.assert(
    fc.property(edits, (changes) => {
      const config: Record<string, unknown> = JSON.parse(JSON.stringify(validConfig));
      for (const [key, replacement, remove] of changes) {
        if (remove) delete config[key];
        else config[key] = replacement;
      }
      return endsWell('config.json', () => bert.parseConfig(config, 'config.json'), (parsed) => sane(parsed));
    }),
    fuzzParameters(500),
  );
  fc.assert(fc.property(fc.jsonValue(), (json) => endsWell('config.json', () => bert.parseConfig(json, 'config.json'), (parsed) => sane(parsed))), fuzzParameters(300));
  t.pass('every generated config was accepted sanely or refused naming the file');
});

t.test('config.json and tokenizer_config.json: mutated files are read or refused naming the file', async (t) => {
  const model = path.join(dir, 'model');
  await mkdir(model, { recursive: true });
  const configFile = path.join(model, 'config.json');
  const tokenizerFile = path.join(model, 'tokenizer_config.json');
  const configText = Buffer.from(JSON.stringify(validConfig, null, 1));
  await fc.assert(
    fc.asyncProperty(mutants([configText], 64), async (bytes) => {
      await writeFile(configFile, bytes);
      return endsWellAsync(configFile, () => readModelConfig(model), ({ family, config }) => sane(config, family));
    }),
    fuzzParameters(400),
  );
  const tokenizerText = Buffer.from(JSON.stringify({ do_lower_case: false, strip_accents: null, model_max_length: 512, unk_token: '[UNK]', cls_token: { content: '[CLS]' }, additional_special_tokens: ['[X]'] }));
  const generated = fc.dictionary(fc.constantFrom('do_lower_case', 'strip_accents', 'tokenize_chinese_chars', 'model_max_length', 'unk_token', 'cls_token', 'additional_special_tokens'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((json) => Buffer.from(JSON.stringify(json)));
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutants([tokenizerText], 64), generated), async (bytes) => {
      await writeFile(tokenizerFile, bytes);
      return endsWellAsync(tokenizerFile, () => readTokenizerSettings(model), (settings) => typeof settings.doLowerCase === 'boolean' && typeof settings.special.unkToken === 'string');
    }),
    fuzzParameters(400),
  );
  t.pass('every mutated config.json and tokenizer_config.json was read or refused naming the file');
});
