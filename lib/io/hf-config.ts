/**
 * Hugging Face `config.json` of a BERT model, read with zod validation into a camelCase
 * `BertConfig` and written back in the shape `transformers.BertConfig` reads.
 *
 * Required: the fields that fix the architecture (`vocab_size`, `hidden_size`,
 * `num_hidden_layers`, `num_attention_heads`, `intermediate_size`). The others take
 * `transformers`' BertConfig defaults. Unknown fields are kept in `extra` and written back.
 */
import { z } from 'zod';

import { FileFormatError, readJsonFile, writeJsonAtomic } from './files.js';

/** A BERT model configuration (HF `BertConfig`, camelCase). */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** Activation of the feed-forward block; BERT uses `'gelu'` (erf form). */
  hiddenAct: string;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  initializerRange: number;
  /** Dropout before the classifier; `null` = `hiddenDropoutProb`. */
  classifierDropout: number | null;
  /** Class names by class id (from `id2label`); `undefined` when the file has none. */
  labels: string[] | undefined;
  /** Fields of the file this interface does not model, kept verbatim. */
  extra: Record<string, unknown>;
}

const REQUIRED = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'] as const;

const positiveInt = z.number().int().positive();

/**
 * Upper bounds of the size fields: each at least 16x the largest BERT-family model
 * published, and small enough that no single one can make a parameter count overflow
 * or a typed array length invalid before the total parameter size is checked.
 */
export const BERT_CONFIG_LIMITS = Object.freeze({
  vocab_size: 1 << 24,
  hidden_size: 1 << 16,
  num_hidden_layers: 1 << 10,
  num_attention_heads: 1 << 12,
  intermediate_size: 1 << 20,
  max_position_embeddings: 1 << 20,
  type_vocab_size: 1 << 16,
  num_labels: 1 << 20,
});

const size = (field: keyof typeof BERT_CONFIG_LIMITS) =>
  positiveInt.max(BERT_CONFIG_LIMITS[field], { message: `must be at most ${BERT_CONFIG_LIMITS[field]}` });

const configSchema = z
  .object({
    model_type: z.string().optional(),
    vocab_size: size('vocab_size'),
    hidden_size: size('hidden_size'),
    num_hidden_layers: size('num_hidden_layers'),
    num_attention_heads: size('num_attention_heads'),
    intermediate_size: size('intermediate_size'),
    hidden_act: z.string().default('gelu'),
    hidden_dropout_prob: z.number().min(0).max(1).default(0.1),
    attention_probs_dropout_prob: z.number().min(0).max(1).default(0.1),
    max_position_embeddings: size('max_position_embeddings').default(512),
    type_vocab_size: size('type_vocab_size').default(2),
    layer_norm_eps: z.number().positive().default(1e-12),
    pad_token_id: z.number().int().min(0).default(0),
    initializer_range: z.number().positive().default(0.02),
    classifier_dropout: z.number().min(0).max(1).nullable().default(null),
    num_labels: size('num_labels').optional(),
    id2label: z.record(z.string(), z.string()).optional(),
    label2id: z.record(z.string(), z.number().int()).optional(),
  })
  .loose();

const MODELED = new Set([
  ...Object.keys(configSchema.shape),
  'architectures',
]);

function labelsFrom(file: string, parsed: z.infer<typeof configSchema>): string[] | undefined {
  const { id2label, num_labels: numLabels } = parsed;
  if (id2label === undefined) return numLabels === undefined ? undefined : Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  const ids = Object.keys(id2label).map(Number);
  const count = ids.length;
  if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id < count)) {
    throw new FileFormatError(file, `id2label keys must be the class ids 0..${count - 1}, got ${Object.keys(id2label).join(', ')}`);
  }
  if (numLabels !== undefined && numLabels !== count) {
    throw new FileFormatError(file, `num_labels is ${numLabels} but id2label has ${count} entries`);
  }
  return Array.from({ length: count }, (_, i) => id2label[String(i)]!);
}

/**
 * Validates a parsed `config.json` value. Synchronous; throws `FileFormatError` naming
 * `file` and every missing required field, every field of the wrong type or beyond its
 * bound (`BERT_CONFIG_LIMITS`, naming the value given), a `model_type` other than "bert",
 * a hidden size not divisible by the head count, a `pad_token_id` outside the vocabulary,
 * or an inconsistent `id2label`.
 */
export function parseBertConfig(value: unknown, file: string): BertConfig {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const missing = REQUIRED.filter((key) => !(key in value));
    if (missing.length > 0) throw new FileFormatError(file, `BERT config lacks required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  const result = configSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(root)';
      const given = issue.path.length === 1 ? (value as Record<PropertyKey, unknown>)[issue.path[0]!] : undefined;
      const shown = typeof given === 'number' || typeof given === 'string' ? ` (got ${JSON.stringify(given).slice(0, 40)})` : '';
      return `${field}: ${issue.message}${shown}`;
    });
    throw new FileFormatError(file, `invalid BERT config: ${problems.join('; ')}`);
  }
  const c = result.data;
  if (c.model_type !== undefined && c.model_type !== 'bert') {
    throw new FileFormatError(file, `model_type is ${JSON.stringify(c.model_type)}, expected "bert"`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new FileFormatError(file, `hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.pad_token_id >= c.vocab_size) {
    throw new FileFormatError(file, `pad_token_id ${c.pad_token_id} is not below vocab_size ${c.vocab_size}`);
  }
  const extra = Object.fromEntries(Object.entries(c).filter(([key]) => !MODELED.has(key)));
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    hiddenAct: c.hidden_act,
    hiddenDropoutProb: c.hidden_dropout_prob,
    attentionProbsDropoutProb: c.attention_probs_dropout_prob,
    maxPositionEmbeddings: c.max_position_embeddings,
    typeVocabSize: c.type_vocab_size,
    layerNormEps: c.layer_norm_eps,
    padTokenId: c.pad_token_id,
    initializerRange: c.initializer_range,
    classifierDropout: c.classifier_dropout,
    labels: labelsFrom(file, c),
    extra,
  };
}

/** Parameter counts of the encoder a config describes (the head aside). */
export interface BertEncoderParameterCounts {
  /** Embeddings and encoder layers: the tensors every BERT checkpoint must have. */
  required: number;
  /** The pooler's dense layer (optional in a checkpoint: initialised fresh when absent). */
  pooler: number;
}

/**
 * Counts the encoder parameters `config` implies, by arithmetic on its sizes (nothing is
 * allocated): embeddings (V + P + T) x H + 2H, per layer 4H^2 + 2HI + 9H + I, pooler
 * H^2 + H. Synchronous; never throws.
 */
export function bertEncoderParameterCounts(config: BertConfig): BertEncoderParameterCounts {
  const { vocabSize: v, maxPositionEmbeddings: p, typeVocabSize: t, hiddenSize: h, intermediateSize: i, numHiddenLayers: l } = config;
  const embeddings = (v + p + t) * h + 2 * h;
  const layer = 4 * h * h + 2 * h * i + 9 * h + i;
  return { required: embeddings + l * layer, pooler: h * h + h };
}

/**
 * The size fields of `config` as config.json spells them, for messages about the size of
 * the model it describes. Synchronous; never throws.
 */
export function describeBertSizes(config: BertConfig): string {
  return `vocab_size ${config.vocabSize}, hidden_size ${config.hiddenSize}, num_hidden_layers ${config.numHiddenLayers}, intermediate_size ${config.intermediateSize}, max_position_embeddings ${config.maxPositionEmbeddings}, type_vocab_size ${config.typeVocabSize}`;
}

/**
 * Reads and validates a `config.json`. Async; throws `FileFormatError` naming the file
 * when it is missing, not JSON, or not a valid BERT config (see `parseBertConfig`).
 */
export async function readBertConfig(file: string): Promise<BertConfig> {
  return parseBertConfig(await readJsonFile(file), file);
}

/**
 * The `config.json` object for `config`: snake_case fields, `model_type: "bert"`,
 * `architectures`, and `id2label`/`label2id` when the config has labels. Synchronous;
 * never throws.
 */
export function bertConfigToJson(config: BertConfig, architectures: string[] = ['BertForSequenceClassification']): Record<string, unknown> {
  const json: Record<string, unknown> = {
    ...config.extra,
    architectures,
    model_type: 'bert',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropoutProb,
    attention_probs_dropout_prob: config.attentionProbsDropoutProb,
    max_position_embeddings: config.maxPositionEmbeddings,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    pad_token_id: config.padTokenId,
    initializer_range: config.initializerRange,
    classifier_dropout: config.classifierDropout,
  };
  if (config.labels !== undefined) {
    json.id2label = Object.fromEntries(config.labels.map((label, id) => [String(id), label]));
    json.label2id = Object.fromEntries(config.labels.map((label, id) => [label, id]));
  }
  return json;
}

/**
 * Writes `config.json` atomically (see `bertConfigToJson`). Async; throws the file
 * system's error.
 */
export async function writeBertConfig(file: string, config: BertConfig, architectures?: string[]): Promise<void> {
  await writeJsonAtomic(file, bertConfigToJson(config, architectures));
}
