/**
 * `lib/models`: BERT for sequence classification with Hugging Face parameter names (config,
 * presets, params, pure forward, loss), its model-directory I/O, and batch prediction.
 */
export {
  BERT_PRESETS,
  type BertForwardOptions,
  type BertHead,
  type BertInputs,
  type BertParams,
  type BertPreset,
  type BertSpec,
  bertForward,
  bertHeadShapes,
  bertLoss,
  bertParamShapes,
  bertPresetConfig,
  formatBertHead,
  headDropoutOf,
  initBertParam,
  initBertParams,
  isBertPreset,
  numLabelsOf,
  parseBertHead,
} from './bert.js';
export { HEAD_CONFIG_FIELD, type LoadBertOptions, type LoadedBert, type SaveBertOptions, getBertParams, loadBertParams, putBertParams, saveBertModel } from './bert-files.js';
export { type BertPrediction, BertPredictor, type BertPredictorOptions } from './bert-predict.js';
