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
export { parseTorchCheckpoint, readTorchCheckpoint } from './torch-checkpoint.js';
export { type BertConfig, bertConfigToJson, parseBertConfig, readBertConfig, writeBertConfig } from './hf-config.js';
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
  type BertModelFiles,
  normalizeBertParameterNames,
  readBertCheckpoint,
  saveBertModelDirectory,
} from './hf-model-dir.js';
