/**
 * `lib/pretrained`: Hugging Face model directories of every supported family: the config picks
 * the family, the weights become its parameters and a head, the tokenizer is checked against
 * them; a trained model is saved as a directory transformers' Auto classes load.
 */
export {
  DEFAULT_SEQ_LEN,
  HEAD_CONFIG_FIELD,
  type LoadModelOptions,
  type LoadedModel,
  type ModelConfig,
  SEQ_LEN_CONFIG_FIELD,
  type SaveModelOptions,
  type SeqLenChoice,
  type SeqLenSource,
  chooseSeqLen,
  loadModelDir,
  readModelConfig,
  saveModelDir,
  trainedSeqLenOf,
} from './model-dir.js';
export { MODELING_FILE, isRemoteCodeAutoMap, modelingFileSource, remoteCodeAutoMap } from './remote-code.js';
export { type ModelTokenizer, checkTokenizer, loadModelTokenizer, tokenizerWriter } from './tokenizers.js';
