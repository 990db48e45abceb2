/**
 * `lib/models`: encoder families (config fields with HF's defaults, parameters under Hugging
 * Face names, a pure `encode`) in one table, task heads in another, and a model as family +
 * config + head with a pure forward. No files, no tokenizers: `lib/pretrained` reads and writes
 * model directories.
 */
export { type BertConfig, BERT_FIELDS, BERT_PRESETS, type BertPreset, bert, bertPresetConfig, isBertPreset } from './bert.js';
export { type DistilBertConfig, DISTILBERT_BLOCK_NAMES, DISTILBERT_FIELDS, distilbert, sinusoidalPositionTable } from './distilbert.js';
export { distilbertHead } from './distilbert-head.js';
export { type ElectraConfig, ELECTRA_FIELDS, electra } from './electra.js';
export { BERT_BLOCK_NAMES, type BlockNames, apply as applyDropout, checkInputs, initLikeHf, postLayerNormBlock } from './blocks.js';
export { type EncoderRunOptions, type EncoderFamily, type EncoderInputs, type EncoderOutput, type FamilyArchitectures, erased, paramGetter } from './family.js';
export { FAMILIES, type FamilyName, familyNamed, familyOfModelType, supportedModelTypes } from './families.js';
export { type Head, type HeadContext, type HeadRunOptions, classifierDropoutOf, firstToken, initHead, linearShapes } from './head.js';
export { HEADS, type HeadKind, headOf } from './heads.js';
export { MODERNBERT_FIELDS, type ModernBertConfig, type ModernBertLayerType, initModernBertParam, modernbert, modernBertInitStds } from './modernbert.js';
export { maskedMean, modernBertHead, modernBertTokenHead } from './modernbert-head.js';
export { CONFIG_LIMITS, type EncoderConfigBase, type FieldSpec, type FieldTable, configJsonText, configParser, configToJson, floatFieldNames, positiveInt, probability } from './hf-config.js';
export { crossEntropyLoss } from './losses.js';
export { type RobertaConfig, ROBERTA_FIELDS, XLM_ROBERTA_FIELDS, roberta, robertaMaxSequenceLength, xlmRoberta } from './roberta.js';
export {
  type ForwardOptions,
  type HeadSpec,
  type HostParam,
  type ModelParams,
  type ModelSpec,
  encoderParamShapes,
  formatHead,
  headParamShapes,
  initModelParams,
  isTokenHead,
  modelForward,
  modelParamShapes,
  modelSpec,
  numLabelsOf,
  parameterCount,
  parseHead,
} from './model.js';
