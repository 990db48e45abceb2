/**
 * `lib/io`: host tensors, safetensors, PyTorch checkpoints (restricted unpickler) and the
 * Hugging Face model-directory files (config.json, vocab.txt, tokenizer files).
 */
export { FileFormatError, readJsonFile, writeFileAtomic, writeJsonAtomic } from './files.js';
export {
  type DType,
  type Tensor,
  type TensorDataByDType,
  DTYPES,
  bf16ToNumber,
  dtypeByteSize,
  elementCount,
  f16ToNumber,
  makeTensor,
  numberToBf16,
  numberToF16,
  tensorBytes,
  tensorFromBytes,
  toFloat32,
  zerosTensor,
} from './tensor.js';
export { type SafetensorsContents, encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';
export { UnsafePickleError } from './pickle.js';
export {
  type TorchCheckpoint,
  type TorchCheckpointOptions,
  type TorchReadOptions,
  type TorchTensorInfo,
  openTorchCheckpoint,
  parseTorchCheckpoint,
  readTorchCheckpoint,
} from './torch-checkpoint.js';
export {
  type BertConfig,
  type BertEncoderParameterCounts,
  BERT_CONFIG_LIMITS,
  bertConfigToJson,
  bertEncoderParameterCounts,
  describeBertSizes,
  parseBertConfig,
  readBertConfig,
  writeBertConfig,
} from './hf-config.js';
export {
  type BertTokenizerSettings,
  type SpecialTokens,
  DEFAULT_SPECIAL_TOKENS,
  parseVocabText,
  readTokenizerSettings,
  readVocabFile,
  writeTokenizerSettings,
  writeVocabFile,
} from './hf-tokenizer-files.js';
export {
  type BertCheckpoint,
  type BertCheckpointReader,
  type BertModelFiles,
  type OpenBertCheckpointOptions,
  type TensorInfo,
  normalizeBertParameterNames,
  openBertCheckpoint,
  readBertCheckpoint,
  saveBertModelDirectory,
} from './hf-model-dir.js';
