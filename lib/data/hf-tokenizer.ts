/**
 * `HfTokenizer`: a Hugging Face `tokenizer.json` (WordPiece, byte-level BPE, Unigram/SentencePiece,
 * with their normalizers, pre-tokenizers, post-processors and added tokens), run by the official
 * `tokenizers` npm package (the Rust code of Python's fast tokenizers), encoding exactly as
 * `transformers.AutoTokenizer` (transformers 5) with `truncation=True, max_length=N,
 * padding='max_length'`: the directory is first resolved as AutoTokenizer resolves it
 * (auto-tokenizer.ts: the tokenizer class, its rebuilt pipeline, special tokens, pad token).
 *
 *     const tok = await HfTokenizer.fromDirectory('models/xlm-roberta-base');
 *     const batch = await tok.encodeBatch(texts, { maxLength: 128 });
 *
 * The package encodes only asynchronously (libuv's thread pool), so every encode method is
 * async. Its Node binding (0.23.2) takes only plain strings, and its pair truncation differs
 * from Python's `tokenizers` 0.23.3 (transformers') when the shorter text alone exceeds the
 * budget. So single texts are encoded by the package as they are in Python, while pairs and
 * pre-split words are encoded piece by piece with a second tokenizer that has no post-processor
 * (as Rust encodes each sequence or word), truncated here by Python's rule
 * (`longestFirstLengths`), and finished by the package's post-processor (`postProcess`).
 * Truncation is a setting of the Rust tokenizer object, read when a task runs, so the encode
 * calls of one `HfTokenizer` run one after another (each call is itself parallel).
 */
import path from 'node:path';

import type { Encoding, Tokenizer } from 'tokenizers';

import { FileFormatError, readFileOrThrow, writeFileAtomic } from '../io/files.js';
import { type JsonObject, type ResolvedTokenizer, TokenizerFilesError, processorSetsTypeIds, resolveAutoTokenizer } from './auto-tokenizer.js';
import {
  type EncodeBatchOptions,
  type EncodedBatch,
  type TextEncoding,
  type TextTokenizer,
  type TokenizerKind,
  type WordsEncoding,
  checkEncodeArguments,
  longestFirstLengths,
} from './tokenizer.js';

type TokenizersModule = typeof import('tokenizers');
let tokenizersModule: Promise<TokenizersModule> | undefined;

/** The `tokenizers` package, loaded on first use (its native module is large; vocab.txt users never need it). */
function loadTokenizersModule(): Promise<TokenizersModule> {
  tokenizersModule ??= import('tokenizers').catch((error: unknown) => {
    tokenizersModule = undefined;
    throw new Error(
      `pjrt-bert: the 'tokenizers' package (needed for tokenizer.json) cannot be loaded: ${(error as Error).message}. ` +
        'Reinstall dependencies with `npm install`.',
      { cause: error },
    );
  });
  return tokenizersModule;
}

/** The tokenizer files `HfTokenizer.save` writes back byte for byte, when the directory had them. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

/** The tokenizer files of a Hugging Face directory, as read (raw bytes kept for `save`). */
interface SourceFiles {
  dir: string;
  raw: Map<string, Buffer>;
  json: Map<string, JsonObject>;
  modelType: string | undefined;
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFileOrThrow(file);
  } catch (error) {
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseObject(bytes: Buffer, file: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new FileFormatError(file, `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FileFormatError(file, 'expected a JSON object');
  return value as JsonObject;
}

async function readSourceFiles(dir: string): Promise<SourceFiles> {
  const raw = new Map<string, Buffer>();
  const json = new Map<string, JsonObject>();
  for (const name of TOKENIZER_FILES) {
    const file = path.join(dir, name);
    const bytes = name === 'tokenizer.json' ? await readFileOrThrow(file) : await readOptional(file);
    if (bytes === undefined) continue;
    raw.set(name, bytes);
    json.set(name, parseObject(bytes, file));
  }
  const configFile = path.join(dir, 'config.json');
  const config = await readOptional(configFile);
  const type = config === undefined ? undefined : parseObject(config, configFile).model_type;
  return { dir, raw, json, modelType: typeof type === 'string' ? type : undefined };
}

/** Code point offsets of `text` (as Rust reports them) to UTF-16 code unit offsets. */
function toUtf16(text: string, offsets: number[][]): [number, number][] {
  if (!/[\uD800-\uDFFF]/.test(text)) return offsets.map(([start, end]) => [start!, end!]);
  const units: number[] = [0];
  for (const ch of text) units.push(units[units.length - 1]! + ch.length);
  const at = (p: number) => units[Math.min(p, units.length - 1)]!;
  return offsets.map(([start, end]) => [at(start!), at(end!)]);
}

/**
 * A Hugging Face tokenizer directory as `AutoTokenizer` encodes it. Construct with
 * `fromDirectory`; encode methods are async (see the module comment). The `tokenizers` package is
 * loaded by the first `fromDirectory`.
 */
export class HfTokenizer implements TextTokenizer {
  /** The model kind of tokenizer.json. */
  readonly kind: TokenizerKind;
  /** Largest id (vocabulary and added tokens) + 1. */
  readonly vocabSize: number;
  /** Id of the pad token named by tokenizer_config.json (or the file's padding settings). */
  readonly padId: number;
  /** `model_max_length` of tokenizer_config.json when sane. */
  readonly modelMaxLength: number | undefined;
  /** Whether the transformers class returns `token_type_ids` (else they are all 0 here). */
  readonly hasTokenTypeIds: boolean;
  /** The transformers class `AutoTokenizer` uses for this directory (`TokenizersBackend`, `XLMRobertaTokenizer`, ...). */
  readonly tokenizerClass: string;
  /** What could not be reproduced exactly (e.g. a tokenizer class we do not emulate); empty when exact. */
  readonly warnings: readonly string[];
  /** The directory read. */
  readonly dir: string;

  readonly #module: TokenizersModule;
  readonly #tokenizer: Tokenizer;
  #raw: Tokenizer | undefined;
  readonly #resolved: ResolvedTokenizer;
  readonly #files: SourceFiles;
  readonly #specials: [number, number];
  readonly #setsTypeIds: boolean;
  #queue: Promise<unknown> = Promise.resolve();
  #truncation = -1;

  private constructor(module: TokenizersModule, files: SourceFiles, resolved: ResolvedTokenizer, tokenizer: Tokenizer, padId: number) {
    this.#module = module;
    this.#files = files;
    this.#resolved = resolved;
    this.#tokenizer = tokenizer;
    this.dir = files.dir;
    this.kind = resolved.kind;
    this.vocabSize = resolved.vocabSize;
    this.padId = padId;
    this.modelMaxLength = resolved.modelMaxLength;
    this.hasTokenTypeIds = resolved.hasTokenTypeIds;
    this.tokenizerClass = resolved.tokenizerClass;
    this.warnings = resolved.warnings;
    this.#specials = resolved.specialTokens;
    this.#setsTypeIds = processorSetsTypeIds(resolved.json.post_processor);
  }

  /**
   * Loads `dir/tokenizer.json` with `tokenizer_config.json`, `special_tokens_map.json` and
   * `config.json`'s `model_type` when present. Async; throws `FileFormatError` naming the file
   * when tokenizer.json is missing or not JSON, holds a model kind other than WordPiece, BPE or
   * Unigram (e.g. WordLevel), the `tokenizers` package cannot read it, or no pad token is named.
   */
  static async fromDirectory(dir: string): Promise<HfTokenizer> {
    const files = await readSourceFiles(dir);
    const jsonFile = path.join(dir, 'tokenizer.json');
    let resolved: ResolvedTokenizer;
    try {
      resolved = resolveAutoTokenizer({
        tokenizerJson: files.json.get('tokenizer.json')!,
        tokenizerConfig: files.json.get('tokenizer_config.json') ?? {},
        specialTokensMap: files.json.get('special_tokens_map.json'),
        modelType: files.modelType,
      });
    } catch (error) {
      if (error instanceof TokenizerFilesError) throw new FileFormatError(path.join(dir, error.where), error.message, { cause: error });
      throw error;
    }
    const module = await loadTokenizersModule();
    let tokenizer: Tokenizer;
    try {
      tokenizer = module.Tokenizer.fromString(JSON.stringify(resolved.json));
    } catch (error) {
      throw new FileFormatError(jsonFile, `the tokenizers package cannot read it (${(error as Error).message})`, { cause: error });
    }
    for (const token of resolved.json.added_tokens as { id: number; content: string }[]) {
      const id = tokenizer.tokenToId(token.content);
      if (id !== token.id) {
        throw new FileFormatError(jsonFile, `added token ${JSON.stringify(token.content)} gets id ${id}, transformers gives it ${token.id}`);
      }
    }
    const configFile = path.join(dir, 'tokenizer_config.json');
    if (resolved.padToken === undefined) {
      throw new FileFormatError(configFile, 'names no pad token: add "pad_token" (a token of the vocabulary) to tokenizer_config.json');
    }
    const padId = tokenizer.tokenToId(resolved.padToken);
    if (padId === null || padId === undefined) {
      throw new FileFormatError(configFile, `pad token ${JSON.stringify(resolved.padToken)} is not in the vocabulary of tokenizer.json`);
    }
    return new HfTokenizer(module, files, resolved, tokenizer, padId);
  }

  /** Special tokens added around one text (`pair` false) or a pair. Sync; never throws. */
  specialTokenCount(pair: boolean): number {
    return this.#specials[pair ? 1 : 0];
  }

  /** Runs `op` after every earlier encode call of this tokenizer has finished. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #truncateTo(maxLength: number): void {
    if (this.#truncation === maxLength) return;
    this.#tokenizer.setTruncation(maxLength, {
      strategy: 'LongestFirst' as never,
      direction: this.#resolved.truncationSide,
      stride: 0,
    });
    this.#truncation = maxLength;
  }

  /**
   * Encodes texts (or pairs) into padded `[N, maxLength]` slabs, as `AutoTokenizer` with
   * `truncation=True, max_length=maxLength, padding='max_length'`. Async; rejects with
   * `RangeError` when `pairs` has another length or `maxLength` cannot hold the special tokens.
   */
  async encodeBatch(texts: readonly string[], options: EncodeBatchOptions): Promise<EncodedBatch> {
    const { maxLength, pairs } = options;
    checkEncodeArguments('HfTokenizer.encodeBatch', maxLength, this.specialTokenCount(pairs !== undefined), texts.length, pairs?.length);
    const encodings = await this.#serial(async () => {
      if (pairs !== undefined) return this.#encodePairs(texts, pairs, maxLength);
      this.#truncateTo(maxLength);
      return this.#tokenizer.encodeBatch(texts as string[]);
    });
    const batchSize = texts.length;
    const inputIds = new Int32Array(batchSize * maxLength).fill(this.padId);
    const tokenTypeIds = new Int32Array(batchSize * maxLength);
    const attentionMask = new Int32Array(batchSize * maxLength);
    const lengths = new Int32Array(batchSize);
    const left = this.#resolved.paddingSide === 'left';
    encodings.forEach((encoding, row) => {
      const ids = encoding.getIds();
      const start = row * maxLength + (left ? maxLength - ids.length : 0);
      inputIds.set(ids, start);
      attentionMask.fill(1, start, start + ids.length);
      if (this.hasTokenTypeIds) tokenTypeIds.set(this.#typeIds(encoding, pairs !== undefined), start);
      lengths[row] = ids.length;
    });
    return { inputIds, tokenTypeIds, attentionMask, lengths, batchSize, seqLen: maxLength };
  }

  /**
   * One text (or pair) with UTF-16 offsets, word ids and sequence ids, truncated to `maxLength`,
   * not padded. Async; rejects with `RangeError` when `maxLength` cannot hold the special tokens.
   */
  async encodeWithOffsets(text: string, options: { maxLength: number; pair?: string }): Promise<TextEncoding> {
    const { maxLength, pair } = options;
    checkEncodeArguments('HfTokenizer.encodeWithOffsets', maxLength, this.specialTokenCount(pair !== undefined));
    const encoding = await this.#serial(async () => {
      if (pair !== undefined) return (await this.#encodePairs([text], [pair], maxLength))[0]!;
      this.#truncateTo(maxLength);
      return this.#tokenizer.encode(text, null);
    });
    const inputIds = encoding.getIds();
    const sequenceIds = encoding.getSequenceIds().map((id) => id ?? null);
    const raw = encoding.getOffsets();
    const offsets = sequenceIds.map((sequence, i): [number, number] => (sequence === null ? [0, 0] : [raw[i]![0]!, raw[i]![1]!]));
    for (const [sequence, source] of [[0, text], [1, pair]] as const) {
      if (source === undefined) continue;
      const at = sequenceIds.flatMap((s, i) => (s === sequence ? [i] : []));
      toUtf16(source, at.map((i) => offsets[i]!)).forEach((converted, k) => (offsets[at[k]!] = converted));
    }
    return {
      inputIds,
      tokenTypeIds: this.hasTokenTypeIds ? this.#typeIds(encoding, pair !== undefined) : new Array<number>(inputIds.length).fill(0),
      offsets,
      wordIds: encoding.getWordIds().map((id) => id ?? null),
      sequenceIds,
    };
  }

  /**
   * Pairs as Rust encodes them (each text on its own, then truncation and post-processing),
   * truncated by Python's longest-first rule. Call inside `#serial`.
   */
  async #encodePairs(texts: readonly string[], pairs: readonly string[], maxLength: number): Promise<Encoding[]> {
    if (texts.length === 0) return [];
    const raw = this.#rawTokenizer();
    const firsts = await raw.encodeBatch(texts as string[], { addSpecialTokens: false });
    const seconds = await raw.encodeBatch(pairs as string[], { addSpecialTokens: false });
    const budget = maxLength - this.#specials[1];
    const direction = this.#resolved.truncationSide;
    this.#truncateTo(maxLength); // what is left fits: the post-processor's own truncation changes nothing
    return firsts.map((first, i) => {
      const second = seconds[i]!;
      const [keepFirst, keepSecond] = longestFirstLengths(first.getLength(), second.getLength(), budget);
      if (keepFirst < first.getLength()) first.truncate(keepFirst, 0, direction);
      if (keepSecond < second.getLength()) second.truncate(keepSecond, 0, direction);
      return this.#tokenizer.postProcess(first, second, true);
    });
  }

  /**
   * Type ids of an encoding: the post-processor's, or for one that keeps the incoming ids
   * (ByteLevel), 1 on the pair's tokens as Rust gives them when it encodes a pair itself.
   */
  #typeIds(encoding: Encoding, pair: boolean): number[] {
    if (!pair || this.#setsTypeIds) return encoding.getTypeIds();
    return encoding.getSequenceIds().map((sequence) => (sequence === 1 ? 1 : 0));
  }

  /** The same pipeline without post-processor: raw encodings of pieces that are post-processed later. */
  #rawTokenizer(): Tokenizer {
    this.#raw ??= this.#module.Tokenizer.fromString(JSON.stringify({ ...this.#resolved.json, post_processor: null }));
    return this.#raw;
  }

  /**
   * Pre-split words (`is_split_into_words=True`), truncated to `maxLength`, not padded: as Rust,
   * each word is encoded on its own (word id = its index), the pieces merged, then truncated and
   * post-processed. Async; rejects with `RangeError` when `maxLength` cannot hold the special tokens.
   */
  async encodeWords(words: readonly string[], options: { maxLength: number }): Promise<WordsEncoding> {
    const { maxLength } = options;
    checkEncodeArguments('HfTokenizer.encodeWords', maxLength, this.specialTokenCount(false));
    return this.#serial(async () => {
      // An empty string encodes to no token: it stands for the empty merge of no words.
      const pieces = await this.#rawTokenizer().encodeBatch(words.length === 0 ? [''] : (words as string[]), { addSpecialTokens: false });
      const perWord = words.length === 0 ? [] : pieces.map((piece) => piece.getLength());
      const merged = this.#module.mergeEncodings(pieces, false);
      this.#truncateTo(maxLength);
      const encoding = this.#tokenizer.postProcess(merged, null, true);
      const inputIds = encoding.getIds();
      const sequenceIds = encoding.getSequenceIds();
      const all = perWord.flatMap((count, word) => new Array<number>(count).fill(word));
      const kept = sequenceIds.filter((s) => s === 0).length;
      const keptWords = this.#resolved.truncationSide === 'left' ? all.slice(all.length - kept) : all.slice(0, kept);
      let next = 0;
      const wordIds = sequenceIds.map((s) => (s === 0 ? keptWords[next++]! : null));
      const present = new Set(keptWords);
      const withTokens = perWord.filter((count) => count > 0).length;
      return {
        inputIds,
        tokenTypeIds: this.hasTokenTypeIds ? encoding.getTypeIds() : new Array<number>(inputIds.length).fill(0),
        wordIds,
        truncatedWords: withTokens - present.size,
        emptyWords: words.length - withTokens,
      };
    });
  }

  /** Token strings of ids ('' for an id outside the vocabulary). Sync; never throws. */
  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.#tokenizer.idToToken(id) ?? '');
  }

  /**
   * Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json (those the source
   * directory had) into `dir`, byte for byte. Async; rejects with the file system's error.
   */
  async save(dir: string): Promise<void> {
    for (const [name, bytes] of this.#files.raw) await writeFileAtomic(path.join(dir, name), bytes);
  }
}
