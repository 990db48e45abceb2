/**
 * What an encoder family is: one module implementing {@link EncoderFamily} (its config fields
 * and defaults, its parameters under Hugging Face names with HF's initialisation, and a pure
 * `encode` returning the sequence output), registered in the table of `families.ts`. Task
 * heads (`heads.ts`) sit on top of any family's output; the Trainer, programs, checkpoints and
 * the CLI see only these interfaces.
 */
import type { ComputeDType, DropoutStream } from '../nn/index.js';
import type { SeededRandom } from '../nn/init.js';
import type { Tensor } from '../trace/index.js';
import type { EncoderConfigBase } from './hf-config.js';

/** Tokens of one batch, s32 [B, S] each, as a tokenizer's `encodeBatch` makes them. */
export interface EncoderInputs {
  readonly inputIds: Tensor;
  /** 1 for real tokens, 0 for padding; all ones when omitted. */
  readonly attentionMask?: Tensor;
  /** Segment (sentence A/B) ids, for the families that use them; zeros when omitted. */
  readonly tokenTypeIds?: Tensor;
  /**
   * Packed rows: the 1-based index of the example each token belongs to (0 for padding).
   * Attention is then block diagonal (a token sees only its own example) and positions
   * restart at each example (see `positionIds`). Omitted for one example per row.
   */
  readonly segmentIds?: Tensor;
  /** Position of each token within its example (s32 [B, S]); 0..S-1 per row when omitted. */
  readonly positionIds?: Tensor;
  /**
   * Packed rows: the flat index (row * S + offset) of each example's first token, s32 [E]; sequence
   * heads then read one vector per example, not per row. Read by the model, not by families.
   */
  readonly exampleStarts?: Tensor;
}

/** What an encoder returns. */
export interface EncoderOutput {
  /** The last hidden states, f32 [B, S, H]. */
  readonly sequence: Tensor;
}

/** How an encoder runs. */
export interface EncoderRunOptions {
  /** Training mode: dropout draws from `dropout` (when given and rates are above 0). */
  readonly train: boolean;
  /** The dropout masks' source; inactive (identity) when omitted. */
  readonly dropout?: DropoutStream;
  /** `bf16`: matrix products and activations in bf16 (f32 master parameters cast inside). */
  readonly computeDtype?: ComputeDType;
}

/** Which tokenizer a family's checkpoints come with. */
export type TokenizerKind = 'wordpiece' | 'bpe' | 'unigram';

/** The architectures (HF class names) of a family, by task. */
export interface FamilyArchitectures {
  readonly sequenceClassification: string;
  readonly tokenClassification: string;
}

/**
 * An encoder family. `C` is its config: the common fields plus its own. Everything is pure:
 * no files, no tokenizers (the layer above reads directories and picks a tokenizer of
 * `tokenizerKinds`).
 */
export interface EncoderFamily<C extends EncoderConfigBase = EncoderConfigBase> {
  /** Short name (`bert`, `roberta`, ...), as written in messages and the family table. */
  readonly name: string;
  /** The `model_type` values of its config.json (the first is written back by default). */
  readonly modelTypes: readonly string[];
  /** Tokenizer kinds its checkpoints use (to check a directory's tokenizer). */
  readonly tokenizerKinds: readonly TokenizerKind[];
  /** HF class names, by task (written to config.json `architectures`). */
  readonly architectures: FamilyArchitectures;
  /** The prefix of its base-model parameters in task models (`bert`, `roberta`, `distilbert`...). */
  readonly baseModelPrefix: string;
  /** The sequence-classification head HF puts on this family (a row of the head table). */
  readonly classificationHead: string;
  /**
   * The token-classification head of HF's `<Family>ForTokenClassification`, when it is not the
   * generic `token` (dropout + classifier): `--head token` picks it (ModernBERT's runs its
   * prediction head first).
   */
  readonly tokenClassificationHead?: string;
  /**
   * config.json fields HF types as `float` (written `2.0`, not `2`: transformers 5 validates
   * config types strictly); none when omitted. See `floatFieldNames` in hf-config.ts.
   */
  readonly floatFields?: readonly string[];
  /** Parses a config.json value. Sync; throws FileFormatError naming the file and field. */
  parseConfig(json: unknown, file: string): C;
  /** The config.json object of `config` (labels and extras included). Sync. */
  configToJson(config: C): Record<string, unknown>;
  /** The longest sequence `config` can encode. Sync. */
  maxSequenceLength(config: C): number;
  /** The base model's parameters (names with `baseModelPrefix`) and shapes, in a fixed order. Sync. */
  paramShapes(config: C): Map<string, number[]>;
  /**
   * The pooler's parameters (BERT's), which only heads that read the pooled output use: a model
   * whose head does not (token classification) has none, as HF's classes do. Sync.
   */
  poolerParams?(config: C): readonly string[];
  /** Parameters a checkpoint may lack, initialised fresh when it does (BERT's pooler, absent from some encoders). Sync. */
  optionalParams(config: C): readonly string[];
  /** HF's `_init_weights` for one parameter, from `random`. Sync. */
  initParam(config: C, name: string, shape: readonly number[], random: SeededRandom): Float32Array;
  /**
   * Renames a checkpoint's tensor to this family's names (legacy `gamma`/`beta`, a base
   * model saved without its prefix), or returns undefined for tensors it does not use. Sync.
   */
  normalizeName(name: string): string | undefined;
  /**
   * The pooler (BERT's tanh of a Linear) over each example's first token `first` [E, H], for the
   * families that have one. Call inside trace/jit/grad. Sync.
   */
  pool?(config: C, params: Readonly<Record<string, Tensor>>, first: Tensor, compute: ComputeDType): Tensor;
  /**
   * The encoder over one batch: the sequence output. Call inside trace/jit/grad. Sync; throws
   * ShapeError or RangeError naming what does not fit the config.
   */
  encode(config: C, params: Readonly<Record<string, Tensor>>, inputs: EncoderInputs, options: EncoderRunOptions): EncoderOutput;
}

/** A parameter lookup that names a missing parameter and its family. Sync. */
export function paramGetter(family: string, params: Readonly<Record<string, Tensor>>): (name: string) => Tensor {
  return (name) => {
    const tensor = params[name];
    if (!tensor) throw new Error(`${family}: parameter ${name} is missing`);
    return tensor;
  };
}

/** Erases a family's config type for the family table (each family still checks its own configs). Sync. */
export function erased<C extends EncoderConfigBase>(family: EncoderFamily<C>): EncoderFamily {
  return family as unknown as EncoderFamily;
}
