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
export {
  DEFAULT_SEQ_LEN,
  HEAD_CONFIG_FIELD,
  type LoadBertOptions,
  type LoadedBert,
  SEQ_LEN_CONFIG_FIELD,
  type SaveBertOptions,
  type SeqLenChoice,
  type SeqLenSource,
  chooseSeqLen,
  getBertParams,
  loadBertParams,
  putBertParams,
  saveBertModel,
  trainedSeqLenOf,
} from './bert-files.js';
export { MODELING_FILE, modelingFileSource, remoteCodeAutoMap } from './bert-remote-code.js';
export { type BertPrediction, BertPredictor, type BertPredictorOptions } from './bert-predict.js';
