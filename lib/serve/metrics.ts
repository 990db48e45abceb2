/**
 * A small Prometheus registry for the server's `/metrics`: counters, gauges and histograms with
 * labels, written in the Prometheus text exposition format (version 0.0.4):
 *
 *     # HELP pjrt_bert_http_requests_total HTTP requests answered, by route and status.
 *     # TYPE pjrt_bert_http_requests_total counter
 *     pjrt_bert_http_requests_total{route="/predict",status="200"} 42
 *
 * No dependency and no global registry: each server owns one, so two servers in one process keep
 * separate numbers.
 */

/** Label names to values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** The content type of the text format, for the `/metrics` response. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A number as the text format writes it (`+Inf`, `-Inf`, `NaN`, else JavaScript's shortest form). */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function key(labels: Labels): string {
  return labelText(labels);
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {
    if (!NAME.test(name)) throw new RangeError(`metric name '${name}' is not a valid Prometheus name (${NAME})`);
  }

  protected checkLabels(labels: Labels): void {
    for (const name of Object.keys(labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__') || name === 'le') {
        throw new RangeError(`label name '${name}' of metric ${this.name} is not allowed (${LABEL_NAME}, not reserved)`);
      }
    }
  }

  /** The sample lines of this metric (no HELP/TYPE). */
  abstract samples(): string[];

  /** HELP, TYPE and sample lines. */
  render(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()];
  }
}

/** A monotonically increasing count per label set. */
export class Counter extends Metric {
  readonly #series = new Map<string, { labels: Labels; value: number }>();

  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }

  /** Adds `by` (default 1, never negative) to the series of `labels`. Sync; throws RangeError for a negative step or a bad label name. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} cannot go down (inc by ${by})`);
    const k = key(labels);
    const series = this.#series.get(k);
    if (series) series.value += by;
    else {
      this.checkLabels(labels);
      this.#series.set(k, { labels: { ...labels }, value: by });
    }
  }

  /** The current value for `labels` (0 when never incremented). Sync. */
  get(labels: Labels = {}): number {
    return this.#series.get(key(labels))?.value ?? 0;
  }

  samples(): string[] {
    return [...this.#series.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${formatValue(value)}`);
  }
}

/** A value that goes up and down; either set, or read from a callback at scrape time. */
export class Gauge extends Metric {
  #value = 0;

  constructor(
    name: string,
    help: string,
    readonly read?: () => number,
  ) {
    super(name, help, 'gauge');
  }

  /** Sets the value (ignored when the gauge reads a callback). Sync; never throws. */
  set(value: number): void {
    this.#value = value;
  }

  /** The current value. Sync. */
  get(): number {
    return this.read ? this.read() : this.#value;
  }

  samples(): string[] {
    return [`${this.name} ${formatValue(this.get())}`];
  }
}

/** Observations counted into cumulative buckets per label set, with their sum and count. */
export class Histogram extends Metric {
  readonly buckets: readonly number[];
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  /** `buckets`: upper bounds, strictly increasing (`+Inf` is added). Throws RangeError otherwise. */
  constructor(name: string, help: string, buckets: readonly number[]) {
    super(name, help, 'histogram');
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new RangeError(`histogram ${name}: buckets [${buckets.join(', ')}] must be finite and strictly increasing`);
    }
    this.buckets = [...buckets];
  }

  /** Records one observation for `labels`. Sync; throws RangeError for a bad label name. */
  observe(value: number, labels: Labels = {}): void {
    const k = key(labels);
    let series = this.#series.get(k);
    if (!series) {
      this.checkLabels(labels);
      series = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(k, series);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** Observations and their sum for `labels` (zeros when none). Sync. */
  get(labels: Labels = {}): { count: number; sum: number } {
    const series = this.#series.get(key(labels));
    return { count: series?.count ?? 0, sum: series?.sum ?? 0 };
  }

  samples(): string[] {
    const lines: string[] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket${labelText(labels, ['le', formatValue(bound)])} ${counts[i]}`));
      lines.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${formatValue(sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

/** Bounds growing by `factor` from `start`, `count` of them (for latencies and sizes). Sync; never throws. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)));
}

/** The metrics of one server, written together. */
export class Registry {
  readonly #metrics: Metric[] = [];

  /** Adds a metric; returns it. Sync; throws RangeError for a name already registered. */
  add<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) throw new RangeError(`metric ${metric.name} is registered twice`);
    this.#metrics.push(metric);
    return metric;
  }

  /** All metrics in the text format, ending with a newline. Sync; never throws. */
  render(): string {
    return `${this.#metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}
