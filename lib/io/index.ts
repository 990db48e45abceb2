/**
 * `lib/io`: host tensors, safetensors, PyTorch checkpoints (restricted unpickler), the weights
 * of a model directory read in two phases, vocab.txt and tokenizer settings, atomic writes and
 * locked output directories. No model knowledge: families parse their own config.json.
 */
export { FileFormatError, makeDirectory, readJsonFile, syncDirectory, writeFileAtomic, writeJsonAtomic } from './files.js';
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
  type BertTokenizerSettings,
  type SpecialTokens,
  DEFAULT_SPECIAL_TOKENS,
  parseVocabText,
  readTokenizerSettings,
  readVocabFile,
  writeTokenizerSettings,
  writeVocabFile,
} from './hf-tokenizer-files.js';
export { type TensorInfo, type WeightsReader, WEIGHTS_FILES, openWeights } from './weights.js';
export { type LockHolder, LOCK_FILE, OutputDirError, OutputDirLock, describeDirError, formatBytes, isEmptyDir, probeWritableDir } from './output-dir.js';
