/**
 * The metrics one server keeps, exposed on `GET /metrics` (Prometheus text format). Names follow
 * Prometheus conventions (`_total`, `_seconds`) under the `pjrt_bert_` prefix:
 *
 * | metric | type | what |
 * |---|---|---|
 * | `pjrt_bert_http_requests_total{route,status}` | counter | requests answered, by route (`/predict`, `/health`, `/info`, `/metrics`, `other`) and status |
 * | `pjrt_bert_request_duration_seconds{route}` | histogram | time from a request's arrival to its answer |
 * | `pjrt_bert_predict_inputs_total` | counter | inputs answered by `/predict` |
 * | `pjrt_bert_request_input_tokens` | histogram | tokens per input (special tokens included, before truncation) |
 * | `pjrt_bert_queue_size` | gauge | inputs waiting for a batch |
 * | `pjrt_bert_batches_running` | gauge | batches on the engine now |
 * | `pjrt_bert_batch_size` | histogram | inputs per engine call |
 * | `pjrt_bert_inference_duration_seconds` | histogram | time of one engine call |
 * | `pjrt_bert_queue_duration_seconds` | histogram | time an input waited for its batch |
 * | `pjrt_bert_batch_failures_total` | counter | engine calls that failed |
 * | `pjrt_bert_compiled_programs` | gauge | the engine's compile count (must not move after warm-up) |
 * | `pjrt_bert_ready` | gauge | 1 once warm-up finished, 0 before, while closing or after a failed warm-up |
 */
import type { BatchReport } from './batcher.js';
import { Counter, Gauge, Histogram, Registry, exponentialBuckets } from './metrics.js';

/** The routes with their own label value; anything else counts as `other`. */
export const ROUTES = ['/predict', '/health', '/info', '/metrics'] as const;

/** What the gauges read at scrape time. */
export interface MetricSources {
  readonly queued: () => number;
  readonly running: () => number;
  readonly compileCount: () => number;
  readonly ready: () => boolean;
}

/** Powers of two up to `max`, with `max` itself last (batch sizes, token counts). */
function powersUpTo(max: number): number[] {
  const bounds: number[] = [];
  for (let b = 1; b < max; b *= 2) bounds.push(b);
  bounds.push(max);
  return bounds;
}

/** The server's metrics and how requests and batches update them. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter;
  readonly requestDuration: Histogram;
  readonly inputs: Counter;
  readonly inputTokens: Histogram;
  readonly batchSize: Histogram;
  readonly inferenceDuration: Histogram;
  readonly queueDuration: Histogram;
  readonly batchFailures: Counter;

  /** Sync; never throws for sizes the server has checked. */
  constructor(sources: MetricSources, limits: { maxBatchSize: number; maxInputLength: number }) {
    const r = this.registry;
    const seconds = exponentialBuckets(0.0005, 2, 17); // 0.5 ms .. 33 s
    this.requests = r.add(new Counter('pjrt_bert_http_requests_total', 'HTTP requests answered, by route and status code.'));
    this.requestDuration = r.add(new Histogram('pjrt_bert_request_duration_seconds', 'Time from the arrival of a request to its answer, by route.', seconds));
    this.inputs = r.add(new Counter('pjrt_bert_predict_inputs_total', 'Inputs answered by /predict.'));
    this.inputTokens = r.add(
      new Histogram('pjrt_bert_request_input_tokens', 'Tokens per /predict input, special tokens included, before truncation.', powersUpTo(limits.maxInputLength)),
    );
    r.add(new Gauge('pjrt_bert_queue_size', 'Inputs waiting in the queue for a batch.', sources.queued));
    r.add(new Gauge('pjrt_bert_batches_running', 'Batches running on the engine now.', sources.running));
    this.batchSize = r.add(new Histogram('pjrt_bert_batch_size', 'Inputs per engine call.', powersUpTo(limits.maxBatchSize)));
    this.inferenceDuration = r.add(new Histogram('pjrt_bert_inference_duration_seconds', 'Time of one engine call (one batch).', seconds));
    this.queueDuration = r.add(new Histogram('pjrt_bert_queue_duration_seconds', 'Time an input waited in the queue for its batch.', seconds));
    this.batchFailures = r.add(new Counter('pjrt_bert_batch_failures_total', 'Engine calls that failed (their requests answered 500).'));
    r.add(new Gauge('pjrt_bert_compiled_programs', 'Programs the engine has compiled; constant after warm-up.', sources.compileCount));
    r.add(new Gauge('pjrt_bert_ready', '1 once warm-up finished and the server takes requests, else 0.', () => (sources.ready() ? 1 : 0)));
  }

  /** The route label of a path. Sync; never throws. */
  static route(path: string): string {
    return (ROUTES as readonly string[]).includes(path) ? path : 'other';
  }

  /** Counts one answered request. Sync; never throws. */
  request(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.requestDuration.observe(seconds, { route });
  }

  /** Records one engine call. Sync; never throws. */
  batch(report: BatchReport): void {
    this.batchSize.observe(report.size);
    this.inferenceDuration.observe(report.seconds);
    for (const wait of report.waits) this.queueDuration.observe(wait);
    if (report.error) this.batchFailures.inc();
  }

  /** The text of `GET /metrics`. Sync; never throws. */
  render(): string {
    return this.registry.render();
  }
}
