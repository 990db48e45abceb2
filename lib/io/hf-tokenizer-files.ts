/**
 * Hugging Face tokenizer files of a BERT model directory: `vocab.txt`,
 * `tokenizer_config.json` and `special_tokens_map.json`, read (validated with zod) and
 * written (atomically) in the shapes `transformers` reads and writes.
 */
import path from 'node:path';
import { z } from 'zod';

import { FileFormatError, readJsonFile, readTextFile, writeFileAtomic, writeJsonAtomic } from './files.js';

/** The special tokens every BERT vocabulary must contain, by role. */
export interface SpecialTokens {
  unkToken: string;
  clsToken: string;
  sepToken: string;
  padToken: string;
  maskToken: string;
  /** Further tokens that are never split (`additional_special_tokens`). */
  additional: string[];
}

/** BERT's special tokens: `[UNK] [CLS] [SEP] [PAD] [MASK]`. */
export const DEFAULT_SPECIAL_TOKENS: Readonly<SpecialTokens> = Object.freeze({
  unkToken: '[UNK]',
  clsToken: '[CLS]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  maskToken: '[MASK]',
  additional: [],
});

/**
 * The tokenizer settings of `tokenizer_config.json` that BERT tokenization depends on.
 * Missing fields take `transformers`' defaults: uncased, accents stripped when
 * lowercasing, CJK characters split.
 */
export interface BertTokenizerSettings {
  doLowerCase: boolean;
  /** `null`: follow `doLowerCase` (the original BERT rule). */
  stripAccents: boolean | null;
  tokenizeChineseChars: boolean;
  /** `model_max_length` when the file gives a usable one. */
  modelMaxLength: number | undefined;
  special: SpecialTokens;
}

/**
 * Splits the text of a `vocab.txt` into tokens in id order, as Python's `load_vocab`:
 * universal newlines (`\n`, `\r\n`, `\r`), no trailing empty token, nothing else
 * stripped. Synchronous; never throws.
 */
export function parseVocabText(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Reads `vocab.txt` (one token per line, line number = id). Async; throws
 * `FileFormatError` naming the file when it cannot be read, is not valid UTF-8 (naming the
 * offset and line of the first bad byte), is empty, or lacks one of
 * `required` (by default `[UNK] [CLS] [SEP] [PAD]`), listing every missing token.
 */
export async function readVocabFile(
  file: string,
  required: readonly string[] = ['[UNK]', '[CLS]', '[SEP]', '[PAD]'],
): Promise<string[]> {
  const tokens = parseVocabText(await readTextFile(file));
  if (tokens.length === 0) throw new FileFormatError(file, 'vocabulary is empty');
  const present = new Set(tokens);
  const missing = required.filter((token) => !present.has(token));
  if (missing.length > 0) {
    throw new FileFormatError(
      file,
      `vocabulary lacks the special token${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(${tokens.length} tokens; BERT needs ${required.join(' ')})`,
    );
  }
  return tokens;
}

/**
 * Writes `vocab.txt`, one token per line in id order. Async; throws the file system's
 * error, or a plain `Error` when a token contains a line break (it could not be read back).
 */
export async function writeVocabFile(file: string, tokens: readonly string[]): Promise<void> {
  const bad = tokens.findIndex((token) => /[\r\n]/.test(token));
  if (bad >= 0) throw new Error(`${file}: token ${bad} contains a line break and cannot be written to vocab.txt`);
  await writeFileAtomic(file, tokens.map((token) => `${token}\n`).join(''));
}

/** A special token in a HF file: a plain string or an AddedToken object. */
const specialTokenSchema = z.union([z.string(), z.object({ content: z.string() }).loose()]);

const tokenizerConfigSchema = z
  .object({
    do_lower_case: z.boolean().optional(),
    strip_accents: z.boolean().nullable().optional(),
    tokenize_chinese_chars: z.boolean().optional(),
    model_max_length: z.number().optional(),
    unk_token: specialTokenSchema.optional(),
    cls_token: specialTokenSchema.optional(),
    sep_token: specialTokenSchema.optional(),
    pad_token: specialTokenSchema.optional(),
    mask_token: specialTokenSchema.optional(),
    additional_special_tokens: z.array(specialTokenSchema).optional(),
  })
  .loose();

type TokenizerConfigFile = z.infer<typeof tokenizerConfigSchema>;

function tokenText(token: z.infer<typeof specialTokenSchema> | undefined): string | undefined {
  return token === undefined ? undefined : typeof token === 'string' ? token : token.content;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new FileFormatError(file, `invalid contents: ${problems.join('; ')}`);
  }
  return result.data;
}

async function readOptionalJson<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    return parseWith(schema, await readJsonFile(file), file);
  } catch (error) {
    if (error instanceof FileFormatError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

/**
 * Reads the tokenizer settings of a model directory from `tokenizer_config.json` and
 * `special_tokens_map.json` (both optional; the special-tokens map wins for token
 * strings). An empty `{}` config means uncased with accent stripping, as in
 * `transformers`. Async; throws `FileFormatError` naming the file when one exists but is
 * not valid JSON or has fields of the wrong type.
 */
export async function readTokenizerSettings(dir: string): Promise<BertTokenizerSettings> {
  const config: TokenizerConfigFile =
    (await readOptionalJson(path.join(dir, 'tokenizer_config.json'), tokenizerConfigSchema)) ?? {};
  const map: TokenizerConfigFile =
    (await readOptionalJson(path.join(dir, 'special_tokens_map.json'), tokenizerConfigSchema)) ?? {};
  const pick = (key: 'unk_token' | 'cls_token' | 'sep_token' | 'pad_token' | 'mask_token', fallback: string) =>
    tokenText(map[key]) ?? tokenText(config[key]) ?? fallback;
  const additional = (map.additional_special_tokens ?? config.additional_special_tokens ?? []).map(
    (token) => tokenText(token)!,
  );
  const maxLength = config.model_max_length;
  return {
    doLowerCase: config.do_lower_case ?? true,
    stripAccents: config.strip_accents ?? null,
    tokenizeChineseChars: config.tokenize_chinese_chars ?? true,
    modelMaxLength: maxLength !== undefined && Number.isInteger(maxLength) && maxLength < 1e9 ? maxLength : undefined,
    special: {
      unkToken: pick('unk_token', DEFAULT_SPECIAL_TOKENS.unkToken),
      clsToken: pick('cls_token', DEFAULT_SPECIAL_TOKENS.clsToken),
      sepToken: pick('sep_token', DEFAULT_SPECIAL_TOKENS.sepToken),
      padToken: pick('pad_token', DEFAULT_SPECIAL_TOKENS.padToken),
      maskToken: pick('mask_token', DEFAULT_SPECIAL_TOKENS.maskToken),
      additional,
    },
  };
}

/**
 * Writes `tokenizer_config.json` and `special_tokens_map.json` for `settings` into
 * `dir`, in the shape `transformers.BertTokenizer.from_pretrained` reads. Async; throws
 * the file system's error.
 */
export async function writeTokenizerSettings(dir: string, settings: BertTokenizerSettings): Promise<void> {
  const { special } = settings;
  const tokens = {
    unk_token: special.unkToken,
    sep_token: special.sepToken,
    pad_token: special.padToken,
    cls_token: special.clsToken,
    mask_token: special.maskToken,
    ...(special.additional.length > 0 ? { additional_special_tokens: special.additional } : {}),
  };
  await writeJsonAtomic(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: settings.doLowerCase,
    strip_accents: settings.stripAccents,
    tokenize_chinese_chars: settings.tokenizeChineseChars,
    ...(settings.modelMaxLength !== undefined ? { model_max_length: settings.modelMaxLength } : {}),
    ...tokens,
  });
  await writeJsonAtomic(path.join(dir, 'special_tokens_map.json'), tokens);
}
