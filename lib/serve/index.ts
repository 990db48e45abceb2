/**
 * The serve layer: a fine-tuned model behind a Hugging Face TEI-compatible HTTP API with dynamic
 * batching. The server drives a {@link ServeEngine} (tokenizer + compiled programs) and imports
 * no model, runtime or tokenizer; {@link ModelEngine} (model-engine.ts) is the engine over a
 * saved model directory, the only file here that reaches the layers below.
 */
export {
  SERVE_TASKS,
  checkEngineInfo,
  type ServeInput,
  type ServeTask,
  type EngineInfo,
  type EncodedInput,
  type SequenceOutput,
  type TokenOutput,
  type TokensOutput,
  type EngineOutput,
  type RunOptions,
  type ServeEngine,
} from './engine.js';
export { Server, handleShutdownSignals, type ServerOptions, type ListenAddress, type ShutdownOptions } from './server.js';
export { Batcher, QueueFullError, BatchFailedError, CancelledError, type BatcherOptions, type BatchReport, type SubmitResult, type LogLevel, type ServeLog } from './batcher.js';
export { HttpError, parsePredictRequest, type PredictRequest, type Aggregation, type ErrorType } from './request.js';
export { formatResult, softmax, sigmoid, type LabelScore, type EntityGroup, type TokenEntity, type PredictResult, type ResultOptions } from './responses.js';
export { ServerMetrics, ROUTES } from './server-metrics.js';
export { Counter, Gauge, Histogram, Registry, exponentialBuckets, formatValue, PROMETHEUS_CONTENT_TYPE, type Labels } from './metrics.js';
export { ModelEngine, bucketSizes, defaultBatchBuckets, defaultLengthBuckets, layoutBatch, servedShapes, serveTaskOf, wordOutputs, type BatchLayout, type Buckets, type ModelEncoded, type ModelEngineOptions, type ServeShape } from './model-engine.js';
