/**
 * Hugging Face `config.json` fields for every encoder family: one table of fields per family
 * (the JSON name, the camelCase name, a zod schema with HF's default), turned into a parser
 * that validates a parsed `config.json` and a writer that gives it back. Unknown fields are
 * kept verbatim in `extra` and written back, so a directory round-trips.
 *
 *     const parse = configParser('BERT', { hidden_size: ['hiddenSize', positiveInt] , ... });
 *     const config = parse(json, 'model/config.json');   // throws FileFormatError naming the file and the field
 */
import { z } from 'zod';

import { FileFormatError } from '../base/errors.js';


/** Fields every encoder config has, whatever the family calls them in config.json. */
export interface EncoderConfigBase {
  /** HF `model_type` (`bert`, `roberta`, `xlm-roberta`, ...). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** Longest sequence the position embeddings cover (for RoBERTa, after its padding offset). */
  maxPositionEmbeddings: number;
  /** Activation of the feed-forward block, by HF name (`gelu`, `gelu_new`, `relu`, `silu`). */
  hiddenAct: string;
  layerNormEps: number;
  padTokenId: number;
  /** Std of the normal initialisation of weights. */
  initializerRange: number;
  /** Dropout on embeddings and block outputs. */
  hiddenDropoutProb: number;
  /** Dropout on attention probabilities. */
  attentionProbsDropoutProb: number;
  /** Dropout before the classifier; null: the family's default (usually hiddenDropoutProb). */
  classifierDropout: number | null;
  /** Class names by id (from `id2label`); undefined when the file has none. */
  labels: string[] | undefined;
  /** HF `problem_type` (`single_label_classification`, `regression`, `multi_label_classification`). */
  problemType: string | undefined;
  /** Fields of the file that no table models, kept verbatim. */
  extra: Record<string, unknown>;
}

/** Upper bounds that no real encoder reaches: a config beyond them is refused before anything is allocated. */
export const CONFIG_LIMITS = { size: 1 << 16, layers: 1024, vocab: 1 << 24, positions: 1 << 20 } as const;

/** A positive integer up to `max`. */
export const positiveInt = (max: number) => z.number({ message: 'must be a number' }).int({ message: 'must be an integer' }).positive({ message: 'must be positive' }).max(max, { message: `must be at most ${max}` });
/** A probability in [0, 1]. */
export const probability = z.number().min(0).max(1);

/** One field: its camelCase name and its schema (with `.default(...)` for HF's default). */
export type FieldSpec = readonly [name: string, schema: z.ZodType];

/** A family's field table, keyed by the JSON name. */
export type FieldTable = Readonly<Record<string, FieldSpec>>;

/** Fields read by the generic code rather than a table (labels, problem type). */
const COMMON_JSON = new Set(['model_type', 'architectures', 'num_labels', 'id2label', 'label2id', 'problem_type', 'auto_map', 'transformers_version', 'torch_dtype', 'dtype']);

function labelsFrom(file: string, json: Record<string, unknown>): string[] | undefined {
  const id2label = json.id2label as Record<string, unknown> | undefined;
  const numLabels = json.num_labels;
  if (numLabels !== undefined && !(Number.isInteger(numLabels) && (numLabels as number) > 0 && (numLabels as number) <= CONFIG_LIMITS.vocab)) {
    throw new FileFormatError(file, `num_labels must be a positive integer, got ${JSON.stringify(numLabels)}`);
  }
  if (id2label === undefined) return numLabels === undefined ? undefined : Array.from({ length: numLabels as number }, (_, i) => `LABEL_${i}`);
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) throw new FileFormatError(file, 'id2label must be an object of class id to label');
  const ids = Object.keys(id2label).map(Number);
  const count = ids.length;
  if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id < count)) {
    throw new FileFormatError(file, `id2label keys must be the class ids 0..${count - 1}, got ${Object.keys(id2label).join(', ')}`);
  }
  if (numLabels !== undefined && numLabels !== count) throw new FileFormatError(file, `num_labels is ${String(numLabels)} but id2label has ${count} entries`);
  return Array.from({ length: count }, (_, i) => {
    const label = id2label[String(i)];
    if (typeof label !== 'string') throw new FileFormatError(file, `id2label["${i}"] must be a string`);
    return label;
  });
}

/**
 * A parser of `config.json` values for one family: validates `fields` (each JSON name through
 * its schema, defaults applied), reads labels and problem type, keeps unknown fields in
 * `extra`, then calls `finish` to fill derived fields and check cross-field rules. Sync; the
 * parser throws FileFormatError naming the file and every missing or invalid field.
 */
export function configParser<C extends EncoderConfigBase>(
  familyName: string,
  modelTypes: readonly string[],
  fields: FieldTable,
  finish: (values: Record<string, unknown>, file: string) => C,
): (json: unknown, file: string) => C {
  return (json, file) => {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FileFormatError(file, `expected a JSON object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);
    const object = json as Record<string, unknown>;
    const modelType = object.model_type;
    if (modelType !== undefined && !modelTypes.includes(modelType as string)) {
      throw new FileFormatError(file, `model_type is ${JSON.stringify(modelType)}, not one of ${familyName}'s (${modelTypes.join(', ')})`);
    }
    const problems: string[] = [];
    const values: Record<string, unknown> = { modelType: modelType ?? modelTypes[0] };
    for (const [key, [name, schema]] of Object.entries(fields)) {
      const result = schema.safeParse(object[key]);
      if (result.success) values[name] = result.data;
      else problems.push(object[key] === undefined ? `${key} is required` : `${key}: ${result.error.issues.map((issue) => issue.message).join(', ')} (got ${JSON.stringify(object[key])})`);
    }
    if (problems.length) throw new FileFormatError(file, `invalid ${familyName} config: ${problems.join('; ')}`);
    values.labels = labelsFrom(file, object);
    const problemType = object.problem_type;
    if (problemType !== undefined && problemType !== null && typeof problemType !== 'string') throw new FileFormatError(file, 'problem_type must be a string');
    values.problemType = problemType ?? undefined;
    values.extra = Object.fromEntries(Object.entries(object).filter(([key]) => !(key in fields) && !COMMON_JSON.has(key)));
    const config = finish(values, file);
    if (config.hiddenSize % config.numAttentionHeads !== 0) {
      throw new FileFormatError(file, `the hidden size ${config.hiddenSize} is not a multiple of the ${config.numAttentionHeads} attention heads`);
    }
    return config;
  };
}

/**
 * The config.json object of `config` for a family's field table: its fields under their JSON
 * names, `model_type`, labels (`id2label`, `label2id`), `problem_type`, and the kept extras.
 * Sync; never throws.
 */
export function configToJson(config: EncoderConfigBase, fields: FieldTable): Record<string, unknown> {
  const json: Record<string, unknown> = { ...config.extra, model_type: config.modelType };
  const values = config as unknown as Record<string, unknown>;
  for (const [key, [name]] of Object.entries(fields)) if (values[name] !== undefined) json[key] = values[name];
  if (config.labels !== undefined) {
    json.id2label = Object.fromEntries(config.labels.map((label, id) => [String(id), label]));
    json.label2id = Object.fromEntries(config.labels.map((label, id) => [label, id]));
  }
  if (config.problemType !== undefined) json.problem_type = config.problemType;
  return json;
}

/**
 * The JSON names of the fields of `fields` that hold floats (their schema accepts 0.5): HF types
 * them `float`, and transformers 5 refuses an integer in such a field (`initializer_cutoff_factor: 2`).
 * Sync; never throws.
 */
export function floatFieldNames(fields: FieldTable): string[] {
  return Object.entries(fields)
    .filter(([, [, schema]]) => schema.safeParse(0.5).success)
    .map(([key]) => key);
}

const FLOAT_MARK = '\u0000hf-float:';

/**
 * config.json text of `json`: pretty JSON (2-space indent, trailing newline) in which each
 * top-level key of `floats` holding an integer is written with a decimal point (`2.0`), as
 * Python writes a float, so transformers' strict config types accept it. Sync; never throws.
 */
export function configJsonText(json: Record<string, unknown>, floats: readonly string[]): string {
  const keys = new Set(floats);
  const text = JSON.stringify(
    json,
    function (this: unknown, key: string, value: unknown) {
      return this === json && keys.has(key) && typeof value === 'number' && /^-?\d+$/.test(String(value)) ? `${FLOAT_MARK}${value}` : value;
    },
    2,
  );
  return `${text.replace(/"\\u0000hf-float:(-?\d+)"/g, '$1.0')}\n`;
}
