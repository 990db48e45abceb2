/**
 * What `transformers.AutoTokenizer.from_pretrained(dir)` (transformers 5) makes of a directory with
 * a `tokenizer.json`, as plain data: which tokenizer class it picks, and the pipeline that class
 * ends up running, written back as a `tokenizer.json` for the `tokenizers` package.
 *
 * Why this is needed: transformers 5 uses `tokenizer.json` as written only for the generic class
 * (`TokenizersBackend`, alias `PreTrainedTokenizerFast`). A model-specific class named by
 * `tokenizer_config.json` (or by `config.json`'s `model_type`) rebuilds its own pipeline and keeps
 * only the vocabulary (and merges) of the file: `BertTokenizer` (also DistilBERT's and ELECTRA's)
 * sets a BertNormalizer from `do_lower_case` / `strip_accents` / `tokenize_chinese_chars` (default:
 * lowercase), `RobertaTokenizer` a ByteLevel pre-tokenizer and RobertaProcessing from
 * `add_prefix_space` / `trim_offsets`, `XLMRobertaTokenizer` WhitespaceSplit + Metaspace and keeps
 * only a SentencePiece `Precompiled` normalizer. The ids then differ from the file's own pipeline
 * whenever the two disagree, so we rebuild as those classes do. Other model-specific classes are
 * not emulated: their `tokenizer.json` is used as written and `warnings` says so.
 *
 * Added and special tokens follow transformers' loading: the `added_tokens_decoder` of
 * `tokenizer_config.json` when present, else (legacy) `special_tokens_map.json` and the
 * `tokenizer.json` added tokens; named special tokens missing from the vocabulary are appended;
 * token ids are assigned as the Rust `AddedVocabulary` assigns them.
 */
import type { TokenizerKind } from './tokenizer.js';

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** The files of a model directory that decide the tokenizer (parsed; `{}`/undefined when absent). */
export interface TokenizerFiles {
  /** `tokenizer.json`. */
  tokenizerJson: JsonObject;
  /** `tokenizer_config.json` (`{}` when absent). */
  tokenizerConfig: JsonObject;
  /** `special_tokens_map.json`, when present. */
  specialTokensMap: JsonObject | undefined;
  /** `model_type` of `config.json`, when present. */
  modelType: string | undefined;
}

/** The outcome: the class transformers picks and the pipeline it runs. */
export interface ResolvedTokenizer {
  /** The transformers class `AutoTokenizer` instantiates (`TokenizersBackend`, `BertTokenizer`, ...). */
  tokenizerClass: string;
  /** True when that class rebuilt the pipeline (not `tokenizer.json` as written). */
  rebuilt: boolean;
  /** The effective `tokenizer.json` (no truncation or padding set). */
  json: JsonObject;
  kind: TokenizerKind;
  /** Special tokens the post-processor adds around one text and around a pair. */
  specialTokens: [number, number];
  /** Largest id (model vocabulary and added tokens) + 1. */
  vocabSize: number;
  /** The pad token string (undefined: the directory names none). */
  padToken: string | undefined;
  /** `model_max_length` when sane (an integer below 1e9). */
  modelMaxLength: number | undefined;
  /** Whether the class returns `token_type_ids` (its `model_input_names`). */
  hasTokenTypeIds: boolean;
  paddingSide: 'right' | 'left';
  truncationSide: 'right' | 'left';
  /** What could not be reproduced exactly, in plain words (empty when all is exact). */
  warnings: string[];
}

/** Thrown for content we cannot use; `where` names the file at fault (the caller prefixes its path). */
export class TokenizerFilesError extends Error {
  override readonly name: string = 'TokenizerFilesError';

  constructor(
    readonly where: 'tokenizer.json' | 'tokenizer_config.json',
    message: string,
  ) {
    super(message);
  }
}

type ClassName = 'TokenizersBackend' | 'BertTokenizer' | 'DistilBertTokenizer' | 'RobertaTokenizer' | 'XLMRobertaTokenizer';

/** transformers' `TOKENIZER_MAPPING_NAMES` for the model types we serve. */
const REGISTERED: Readonly<Record<string, ClassName>> = {
  bert: 'BertTokenizer',
  distilbert: 'BertTokenizer',
  electra: 'BertTokenizer',
  roberta: 'RobertaTokenizer',
  'xlm-roberta': 'XLMRobertaTokenizer',
  modernbert: 'TokenizersBackend',
};

/** Model types whose hub `tokenizer_class` transformers ignores (`MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS`, our families). */
const HUB_CLASS_IGNORED = new Set(['modernbert']);

/** `tokenizer_class_from_name` for the classes we emulate (with and without `Fast`). */
const CLASSES: Readonly<Record<string, ClassName>> = {
  TokenizersBackend: 'TokenizersBackend',
  PreTrainedTokenizerFast: 'TokenizersBackend',
  PreTrainedTokenizer: 'TokenizersBackend', // PythonBackend, which AutoTokenizer swaps for TokenizersBackend
  BertTokenizer: 'BertTokenizer',
  ElectraTokenizer: 'BertTokenizer',
  DistilBertTokenizer: 'DistilBertTokenizer',
  RobertaTokenizer: 'RobertaTokenizer',
  XLMRobertaTokenizer: 'XLMRobertaTokenizer',
};

const stripFast = (name: string): string => (name.endsWith('Fast') ? name.slice(0, -4) : name);

function lookupClass(name: string): ClassName | undefined {
  return CLASSES[name] ?? CLASSES[`${name}Fast`] ?? CLASSES[stripFast(name)];
}

/**
 * The class `AutoTokenizer.from_pretrained` instantiates for a hub `tokenizer_class` and a
 * `config.json` `model_type` (either may be missing): `{ name }` when we emulate it, else
 * `{ unknown }` with the name transformers would use. Sync; never throws.
 */
export function autoTokenizerClass(hubClass: string | undefined, modelType: string | undefined): { name: ClassName } | { unknown: string } {
  const registered = modelType === undefined ? undefined : REGISTERED[modelType];
  if (hubClass !== undefined && registered !== undefined && stripFast(registered) !== stripFast(hubClass)) {
    if (registered === 'TokenizersBackend') return { name: 'TokenizersBackend' };
    const chosen = HUB_CLASS_IGNORED.has(modelType!) ? registered : hubClass;
    const known = lookupClass(chosen);
    if (known !== undefined) return { name: known };
    return /^[A-Za-z0-9_]+Tokenizer(Fast)?$/.test(chosen) ? { unknown: chosen } : { name: 'TokenizersBackend' };
  }
  if (hubClass !== undefined) {
    const known = lookupClass(stripFast(hubClass));
    if (known !== undefined) return { name: known };
    return { unknown: hubClass };
  }
  return { name: registered ?? 'TokenizersBackend' };
}

/** An added token as the Rust `AddedToken` holds it. */
interface AddedToken {
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

function sameToken(a: AddedToken, b: AddedToken): boolean {
  return (
    a.content === b.content &&
    a.single_word === b.single_word &&
    a.lstrip === b.lstrip &&
    a.rstrip === b.rstrip &&
    a.normalized === b.normalized &&
    a.special === b.special
  );
}

/**
 * A token as a Python `AddedToken` object holds it: `normalized` may be unset, and then follows
 * `special` when the token is handed to Rust (`!special`).
 */
interface TokenSpec extends Omit<AddedToken, 'normalized'> {
  normalized: boolean | undefined;
}

const finalize = (spec: TokenSpec, special = spec.special): AddedToken => ({
  ...spec,
  special,
  normalized: spec.normalized ?? !special,
});

/** A token value of a config file: a string, or an AddedToken object (`{content, lstrip, ...}`). */
function tokenSpecOf(value: unknown, special?: boolean): TokenSpec | string | undefined {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object' || typeof (value as JsonObject).content !== 'string') return undefined;
  const v = value as JsonObject;
  return {
    content: v.content as string,
    single_word: v.single_word === true,
    lstrip: v.lstrip === true,
    rstrip: v.rstrip === true,
    normalized: typeof v.normalized === 'boolean' ? v.normalized : undefined,
    special: special ?? v.special === true,
  };
}

const specialToken = (content: string): TokenSpec => ({
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** The Rust `AddedVocabulary` over a model vocabulary, for assigning ids exactly as it does. */
class AddedVocabulary {
  readonly byId = new Map<number, AddedToken>();
  readonly ids = new Map<string, number>();

  constructor(private readonly modelIds: ReadonlyMap<string, number>) {}

  tokenToId(content: string): number | undefined {
    return this.ids.get(content) ?? this.modelIds.get(content);
  }

  /** `AddedVocabulary::add_tokens`: identical tokens are skipped; known contents keep their id. */
  add(tokens: readonly AddedToken[]): void {
    for (const token of tokens) {
      if (token.content === '' || [...this.byId.values()].some((t) => sameToken(t, token))) continue;
      let id = this.tokenToId(token.content);
      if (id === undefined) {
        const size = this.modelIds.size;
        const max = largestId(this.ids);
        id = max < 0 ? size : max >= size || size === 0 ? max + 1 : size;
      }
      this.ids.set(token.content, id);
      this.byId.set(id, token);
    }
  }

  toJson(): JsonObject[] {
    return [...this.byId.entries()].sort((a, b) => a[0] - b[0]).map(([id, token]) => ({ id, ...token }));
  }
}

const NAMED = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;
type Named = (typeof NAMED)[number];

const CLASS_DEFAULTS: Readonly<Record<ClassName, Partial<Record<Named, string>>>> = {
  TokenizersBackend: {},
  BertTokenizer: { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' },
  DistilBertTokenizer: { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' },
  RobertaTokenizer: { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>' },
  XLMRobertaTokenizer: { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>' },
};

const MODEL_OF_CLASS: Readonly<Record<Exclude<ClassName, 'TokenizersBackend'>, string>> = {
  BertTokenizer: 'WordPiece',
  DistilBertTokenizer: 'WordPiece',
  RobertaTokenizer: 'BPE',
  XLMRobertaTokenizer: 'Unigram',
};

const KINDS: Readonly<Record<string, TokenizerKind>> = { WordPiece: 'wordpiece', BPE: 'bpe', Unigram: 'unigram' };

function modelVocabulary(model: JsonObject): Map<string, number> {
  const vocab = model.vocab;
  const ids = new Map<string, number>();
  if (Array.isArray(vocab)) {
    vocab.forEach((entry, id) => {
      const token = Array.isArray(entry) ? entry[0] : entry;
      if (typeof token === 'string' && !ids.has(token)) ids.set(token, id);
    });
  } else if (vocab !== null && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab as JsonObject)) if (typeof id === 'number') ids.set(token, id);
  } else {
    throw new TokenizerFilesError('tokenizer.json', `model.vocab is missing (model type ${String(model.type)})`);
  }
  return ids;
}

/** The SentencePiece `Precompiled` normalizer inside `normalizer` (itself or in a Sequence), if any. */
function precompiledOf(normalizer: unknown): JsonObject | null {
  if (normalizer === null || typeof normalizer !== 'object') return null;
  const n = normalizer as JsonObject;
  if (n.type === 'Precompiled' && n.precompiled_charsmap != null) return n;
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    for (const inner of n.normalizers) {
      const found = precompiledOf(inner);
      if (found) return found;
    }
  }
  return null;
}

const bool = (value: unknown, fallback: boolean): boolean => (typeof value === 'boolean' ? value : fallback);

function templateProcessing(single: [string, number][], pair: [string, number][], ids: Map<string, number>): JsonObject {
  const piece = ([id, typeId]: [string, number]) =>
    id === '$A' || id === '$B' ? { Sequence: { id: id.slice(1), type_id: typeId } } : { SpecialToken: { id, type_id: typeId } };
  const specials: JsonObject = {};
  for (const [id] of [...single, ...pair]) {
    if (id.startsWith('$')) continue;
    const tokenId = ids.get(id);
    if (tokenId === undefined) throw new TokenizerFilesError('tokenizer_config.json', `special token ${JSON.stringify(id)} has no id in the vocabulary`);
    specials[id] = { id, ids: [tokenId], tokens: [id] };
  }
  return { type: 'TemplateProcessing', single: single.map(piece), pair: pair.map(piece), special_tokens: specials };
}

/**
 * Number of special tokens a post-processor adds (Rust `added_tokens(is_pair)`). Sync; throws
 * `TokenizerFilesError` for a post-processor type it does not know.
 */
export function specialTokenCount(processor: unknown, pair: boolean): number {
  if (processor === null || processor === undefined) return 0;
  const p = processor as JsonObject;
  switch (p.type) {
    case 'TemplateProcessing': {
      const specials = (p.special_tokens ?? {}) as Record<string, { ids?: unknown[] }>;
      const pieces = (pair ? p.pair : p.single) as JsonObject[] | undefined;
      let count = 0;
      for (const piece of pieces ?? []) {
        const special = piece.SpecialToken as { id?: string } | undefined;
        if (special?.id !== undefined) count += specials[special.id]?.ids?.length ?? 0;
      }
      return count;
    }
    case 'RobertaProcessing':
      return pair ? 4 : 2;
    case 'BertProcessing':
      return pair ? 3 : 2;
    case 'ByteLevel':
      return 0;
    case 'Sequence':
      return ((p.processors ?? []) as unknown[]).reduce<number>((sum, inner) => sum + specialTokenCount(inner, pair), 0);
    default:
      throw new TokenizerFilesError('tokenizer.json', `post_processor type ${String(p.type)} is not supported`);
  }
}

/**
 * Whether a post-processor sets the token type ids itself (TemplateProcessing, BertProcessing,
 * RobertaProcessing, alone or in a Sequence); if not (ByteLevel), the ids Rust gives each
 * sequence when encoding it (0 for the text, 1 for the pair) pass through. Sync; never throws.
 */
export function processorSetsTypeIds(processor: unknown): boolean {
  if (processor === null || typeof processor !== 'object') return false;
  const p = processor as JsonObject;
  if (p.type === 'Sequence') return ((p.processors ?? []) as unknown[]).some(processorSetsTypeIds);
  return p.type === 'TemplateProcessing' || p.type === 'BertProcessing' || p.type === 'RobertaProcessing';
}

/** The kind of a model section without "type" (older tokenizer.json files), told by its fields as Rust does. */
function untypedModel(model: JsonObject): string | undefined {
  if ('merges' in model) return 'BPE';
  if (Array.isArray(model.vocab) && 'unk_id' in model) return 'Unigram';
  if ('continuing_subword_prefix' in model && 'max_input_chars_per_word' in model) return 'WordPiece';
  if ('unk_token' in model && 'vocab' in model) return 'WordLevel';
  return undefined;
}

function largestId(ids: ReadonlyMap<string, number>): number {
  let largest = -1;
  for (const id of ids.values()) if (id > largest) largest = id;
  return largest;
}

/**
 * Resolves the directory's files the way `AutoTokenizer.from_pretrained` does (see the module
 * comment). Sync; throws `TokenizerFilesError` (naming the file at fault) for a model kind other
 * than WordPiece, BPE and Unigram, a class whose model differs from the file's, or a file without
 * a vocabulary.
 */
export function resolveAutoTokenizer(files: TokenizerFiles): ResolvedTokenizer {
  const source = files.tokenizerJson;
  const config = files.tokenizerConfig;
  const model = source.model as JsonObject | undefined;
  const modelType = model === undefined ? undefined : typeof model.type === 'string' ? model.type : untypedModel(model);
  const kind = modelType === undefined ? undefined : KINDS[modelType];
  if (!model || kind === undefined) {
    throw new TokenizerFilesError(
      'tokenizer.json',
      `model kind ${modelType ?? '(none)'} is not supported; pjrt-bert reads WordPiece, BPE and Unigram tokenizers`,
    );
  }
  const warnings: string[] = [];
  const hubClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : undefined;
  const resolved = autoTokenizerClass(hubClass, files.modelType);
  let cls: ClassName;
  if ('unknown' in resolved) {
    warnings.push(
      `tokenizer_config.json names ${resolved.unknown}, which transformers rebuilds in its own way; ` +
        'pjrt-bert uses tokenizer.json as written, so ids may differ from AutoTokenizer where the two disagree',
    );
    cls = 'TokenizersBackend';
  } else {
    cls = resolved.name;
  }
  const rebuilt = cls !== 'TokenizersBackend';
  if (rebuilt && MODEL_OF_CLASS[cls as Exclude<ClassName, 'TokenizersBackend'>] !== modelType) {
    throw new TokenizerFilesError(
      'tokenizer_config.json',
      `tokenizer_class ${hubClass ?? cls} builds a ${MODEL_OF_CLASS[cls as Exclude<ClassName, 'TokenizersBackend'>]} tokenizer, ` +
        `but tokenizer.json holds a ${modelType} model`,
    );
  }

  // Named special tokens and the added tokens to restore, as _from_pretrained collects them.
  const named = new Map<Named, TokenSpec | string>();
  for (const [key, value] of Object.entries(CLASS_DEFAULTS[cls])) named.set(key as Named, value);
  const legacy = config.added_tokens_decoder === undefined;
  const decoderTokens: [number, TokenSpec][] = [];
  const pushDecoder = (id: unknown, value: unknown) => {
    const token = tokenSpecOf(value);
    if (token !== undefined && typeof token !== 'string') decoderTokens.push([Number(id), token]);
  };
  if (!legacy) for (const [id, value] of Object.entries((config.added_tokens_decoder ?? {}) as JsonObject)) pushDecoder(id, value);
  for (const key of NAMED) {
    const token = tokenSpecOf(config[key]);
    if (token !== undefined) named.set(key, token);
    else if (config[key] === null) named.delete(key); // an explicit null overrides the class default
  }
  if (legacy) {
    for (const key of NAMED) {
      const token = tokenSpecOf(files.specialTokensMap?.[key], true);
      if (token !== undefined) named.set(key, token);
    }
    for (const value of Array.isArray(source.added_tokens) ? source.added_tokens : []) pushDecoder((value as JsonObject).id, value);
  }
  const extraList = config.extra_special_tokens ?? config.additional_special_tokens ?? files.specialTokensMap?.additional_special_tokens;
  const extras = (Array.isArray(extraList) ? extraList : []).map((v) => tokenSpecOf(v, true)).filter((t) => t !== undefined);
  decoderTokens.sort((a, b) => a[0] - b[0]);
  const byContent = new Map(decoderTokens.map(([, token]) => [token.content, token]));
  for (const [key, value] of named) if (typeof value === 'string' && byContent.has(value)) named.set(key, byContent.get(value)!);
  if (!rebuilt && !named.has('pad_token')) {
    const padding = source.padding as JsonObject | null | undefined;
    if (typeof padding?.pad_token === 'string') named.set('pad_token', padding.pad_token);
  }
  const text = (value: TokenSpec | string | undefined): string | undefined => (typeof value === 'string' ? value : value?.content);

  // The pipeline.
  const json: JsonObject = { ...source, truncation: null, padding: null };
  const vocabulary = modelVocabulary(model);
  if (cls === 'BertTokenizer' || cls === 'DistilBertTokenizer') {
    const lower = bool(config.do_lower_case, true);
    json.normalizer = {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: bool(config.tokenize_chinese_chars, true),
      strip_accents: typeof config.strip_accents === 'boolean' ? config.strip_accents : null,
      lowercase: lower,
    };
    json.pre_tokenizer = { type: 'BertPreTokenizer' };
    json.decoder = { type: 'WordPiece', prefix: '##', cleanup: true };
    json.model = { type: 'WordPiece', unk_token: text(named.get('unk_token')), continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: model.vocab };
  } else if (cls === 'RobertaTokenizer') {
    const prefix = bool(config.add_prefix_space, false);
    json.normalizer = null;
    json.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: prefix, trim_offsets: true, use_regex: true };
    json.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
    json.model = {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: model.vocab, merges: model.merges ?? [],
    };
  } else if (cls === 'XLMRobertaTokenizer') {
    const scheme = bool(config.add_prefix_space, true) ? 'always' : 'never';
    json.normalizer = precompiledOf(source.normalizer);
    json.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: true }] };
    json.decoder = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: true };
    json.model = { type: 'Unigram', unk_id: 3, vocab: model.vocab, byte_fallback: false };
  }

  // Added tokens: the backend's own (as written only), then those TokenizersBackend.__init__ adds
  // (restored tokens, then named ones not yet there, a named content making a token special),
  // then those _post_init adds as special tokens.
  const added = new AddedVocabulary(vocabulary);
  if (!rebuilt) {
    for (const value of Array.isArray(source.added_tokens) ? source.added_tokens : []) {
      const token = tokenSpecOf(value);
      if (token !== undefined && typeof token !== 'string') added.add([finalize(token)]);
    }
  }
  const namedContents = new Set([...named.values()].map(text));
  const toAdd: (TokenSpec | string)[] = decoderTokens.map(([, token]) => token);
  const present = new Set([...added.ids.keys(), ...toAdd.map(text)]);
  for (const value of [...named.values(), ...extras]) {
    if (!present.has(text(value))) {
      toAdd.push(value);
      present.add(text(value));
    }
  }
  added.add(toAdd.map((value) => (typeof value === 'string' ? finalize(specialToken(value)) : finalize(value, value.special || namedContents.has(value.content)))));
  added.add([...named.values(), ...extras].map((value) => finalize(typeof value === 'string' ? specialToken(value) : value, true)));
  json.added_tokens = added.toJson();
  const ids = new Map(vocabulary);
  for (const [content, id] of added.ids) ids.set(content, id);

  if (cls === 'BertTokenizer' || cls === 'DistilBertTokenizer') {
    const clsToken = text(named.get('cls_token'))!;
    const sep = text(named.get('sep_token'))!;
    json.post_processor = templateProcessing([[clsToken, 0], ['$A', 0], [sep, 0]], [[clsToken, 0], ['$A', 0], [sep, 0], ['$B', 1], [sep, 1]], ids);
  } else if (cls === 'RobertaTokenizer') {
    const sep = text(named.get('sep_token'))!;
    const clsToken = text(named.get('cls_token'))!;
    json.post_processor = {
      type: 'RobertaProcessing', sep: [sep, ids.get(sep) ?? null], cls: [clsToken, ids.get(clsToken) ?? null],
      trim_offsets: bool(config.trim_offsets, true), add_prefix_space: bool(config.add_prefix_space, false),
    };
  } else if (cls === 'XLMRobertaTokenizer') {
    const bos = text(named.get('bos_token'))!;
    const eos = text(named.get('eos_token'))!;
    json.post_processor = templateProcessing([[bos, 0], ['$A', 0], [eos, 0]], [[bos, 0], ['$A', 0], [eos, 0], [eos, 0], ['$B', 0], [eos, 0]], ids);
  } else if (source.post_processor == null) {
    // update_post_processor without add_bos_token/add_eos_token: "$A:0" and "$A:0 $B:1".
    json.post_processor = templateProcessing([['$A', 0]], [['$A', 0], ['$B', 1]], ids);
  }

  const inputNames = Array.isArray(config.model_input_names) ? config.model_input_names : cls === 'BertTokenizer' ? ['token_type_ids'] : [];
  const maxLength = config.model_max_length;
  const side = (value: unknown, key: string): 'right' | 'left' => {
    if (value === undefined || value === 'right' || value === 'left') return (value ?? 'right') as 'right' | 'left';
    throw new TokenizerFilesError('tokenizer_config.json', `${key} must be "right" or "left", got ${JSON.stringify(value)}`);
  };
  return {
    tokenizerClass: 'unknown' in resolved ? resolved.unknown : cls,
    rebuilt,
    json,
    kind,
    vocabSize: largestId(ids) + 1,
    specialTokens: [specialTokenCount(json.post_processor, false), specialTokenCount(json.post_processor, true)],
    padToken: text(named.get('pad_token')),
    modelMaxLength: typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength > 0 && maxLength < 1e9 ? maxLength : undefined,
    hasTokenTypeIds: inputNames.includes('token_type_ids'),
    paddingSide: side(config.padding_side, 'padding_side'),
    truncationSide: side(config.truncation_side, 'truncation_side'),
    warnings,
  };
}
