/**
 * pjrt-bert: fine-tune BERT from TypeScript on TPUs, GPUs and CPUs through the PJRT C API.
 * This is the package's public entry point.
 */
export * from './runtime/index.js';
export {
  jit,
  grad,
  valueAndGrad,
  ops,
  lax,
  trace,
  Tensor,
  TracedProgram,
  ShapeError,
  matchDonations,
  type JitFunction,
  type JitOptions,
  type DeviceResult,
  type GradOptions,
  type GradientsOf,
  type AuxOf,
  type TensorSpec,
  type TraceOptions,
  type Alias,
  type Tree,
} from './trace/index.js';
export * from './data/index.js';
export {
  FileFormatError,
  UnsafePickleError,
  readSafetensors,
  writeSafetensors,
  parseSafetensors,
  encodeSafetensors,
  readTorchCheckpoint,
  parseTorchCheckpoint,
  openTorchCheckpoint,
  openWeights,
  readVocabFile,
  writeVocabFile,
  readTokenizerSettings,
  writeTokenizerSettings,
  DEFAULT_SPECIAL_TOKENS,
  writeFileAtomic,
  type Tensor as HostTensor,
  type DType as HostDType,
  type TorchCheckpoint,
  type WeightsReader,
  type BertTokenizerSettings,
  type SpecialTokens,
} from './io/index.js';
export * from './models/index.js';
export * from './pretrained/index.js';
export * from './optim/index.js';
export { Trainer, type TrainerOptions, type FitOptions, type LabelledTexts, type LabelledWords, type TaskData } from './train/trainer.js';
export { Predictor, type PredictorOptions } from './train/predictor.js';
export { type Prediction, type ClassPrediction, type ScorePrediction, type LabelSetPrediction, type TagPrediction, type Entity, entitiesOf } from './train/predictions.js';
export { TASKS, taskNamed, type TaskOptions } from './train/tasks.js';
export type { Task, TaskName, TaskMetrics } from './train/task.js';
export { parseTrainerConfig, ConfigError, type TrainerConfig, type TrainerConfigInput, type EpochMetrics, type StepProgress, type TrainerCallbacks } from './train/config.js';
export { DataError } from './train/data.js';
export { generateDemoDataset, type DemoDataset } from './train/demo-data.js';
export {
  generatePairDataset,
  generateRegressionDataset,
  generateMultiLabelDataset,
  generateTokenDataset,
  type PairDataset,
  type RegressionDataset,
  type MultiLabelDataset,
  type TokenDataset,
  type TaskDataset,
} from './train/task-datasets.js';
export { formatTaskDataset, writeTaskDataset, TASK_DATASET_COLUMNS, type TaskFileFormat } from './train/task-dataset-files.js';
export type { Evaluation } from './train/evaluation.js';
export { benchModel, trainStepFlops, mfu, type BenchModel } from './bench/bench-models.js';
export { runBench, type BenchOptions, type BenchReport, type BenchResult } from './bench/bench-run.js';
export { measureMatmulCeiling, measureTrainStep, type MatmulCeiling, type TrainStepMeasurement } from './bench/our-bench.js';
export {
  Server,
  ModelEngine,
  handleShutdownSignals,
  SERVE_TASKS,
  type ServerOptions,
  type ModelEngineOptions,
  type ListenAddress,
  type ShutdownOptions,
  type ServeEngine,
  type ServeInput,
  type ServeTask,
  type EngineInfo,
  type EncodedInput,
  type EngineOutput,
  type SequenceOutput,
  type TokensOutput,
  type TokenOutput,
  type RunOptions,
  type LogLevel,
  type ServeLog,
  type LabelScore,
  type EntityGroup,
  type TokenEntity,
  type PredictResult,
} from './serve/index.js';
