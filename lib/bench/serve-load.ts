/**
 * The load generator of `pjrt-bert bench --serve`: N concurrent clients, each sending one
 * Hugging Face TEI-style request at a time (`POST /predict` with `{"inputs": "text", "truncate":
 * true}`) over its own keep-alive connection, first for a warm-up period (not counted), then for
 * a fixed measured period. Only loopback addresses are accepted: this is a tool for servers on
 * this machine.
 *
 *     const load = await runLoad({ url: 'http://127.0.0.1:8080', texts, clients: 64, durationMs: 20_000, warmupMs: 5_000 });
 *     // { clients: 64, requests: 5120, errors: 0, rps: 256, p50_ms: 240, p99_ms: 410, ... }
 *
 * Counting: a request counts when it was sent inside the measured period; the clients stop
 * sending at its end and the requests still out are awaited, so the elapsed time (and with it
 * requests/s) runs from the start of the period to the last counted answer. Latency is from
 * sending the request to having read the whole answer. An answer that is not 200 with a JSON
 * list of `{label, score}`, or a failed connection, is an error (its latency is not counted).
 */
import http from 'node:http';
import { isIP } from 'node:net';

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** The server, `http://HOST:PORT`; HOST must be a loopback address (127.0.0.0/8, ::1, localhost). */
  readonly url: string;
  /** Request texts; client `c` sends `texts[(c + k * clients) % texts.length]` as its k-th request. */
  readonly texts: readonly string[];
  /** Concurrent clients (connections), each with one request out at a time. */
  readonly clients: number;
  /** Length of the measured period, ms. */
  readonly durationMs: number;
  /** Length of the warm-up period before it, ms (its requests are not counted; default 0). */
  readonly warmupMs?: number;
  /** A request that takes longer fails with a timeout error (default 60 s). */
  readonly requestTimeoutMs?: number;
}

/** What one load level measured. */
export interface LoadResult {
  clients: number;
  /** Requests counted (answered 200 with a result), sent inside the measured period. */
  requests: number;
  /** Requests of the measured period that failed (non-200, a bad body, a connection error). */
  errors: number;
  /** Counted requests per second over `duration_s`. */
  rps: number;
  /** Latency percentiles of the counted requests (nearest rank), ms; null without any. */
  p50_ms: number | null;
  p99_ms: number | null;
  mean_ms: number | null;
  max_ms: number | null;
  /** From the start of the measured period to the last counted answer, seconds. */
  duration_s: number;
  /** Up to 3 distinct error messages, to say why requests failed. */
  error_samples: string[];
}

/** Whether `host` (as in a URL, IPv6 in brackets or not) is a loopback address. Sync. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/**
 * The `p`-th percentile (0 < p <= 100) of `values` by the nearest-rank method: the smallest
 * value with at least p% of the values at or below it; null for no values. Sync.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Checks a `/predict` answer to one text: a non-empty JSON list of `{label, score}`. Sync;
 * returns the top label, or throws an Error saying what is wrong with the body.
 */
export function topLabel(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`the answer is not JSON: ${JSON.stringify(body.slice(0, 120))}`);
  }
  const first = Array.isArray(parsed) ? (parsed[0] as { label?: unknown; score?: unknown } | undefined) : undefined;
  if (!first || typeof first.label !== 'string' || typeof first.score !== 'number') {
    throw new Error(`the answer is not a list of {label, score}: ${JSON.stringify(body.slice(0, 120))}`);
  }
  return first.label;
}

/** The result of one request. */
interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * Sends one `POST /predict` with `payload` over `agent`. Async; resolves with the status and
 * body; rejects on a connection error or after `timeoutMs`.
 */
export function postPredict(url: URL, payload: unknown, agent: http.Agent, timeoutMs: number): Promise<Answer> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: '/predict', method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Checks `url` and returns it parsed. Sync; throws RangeError for another scheme or a non-loopback host. */
export function loopbackUrl(url: string): URL {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new RangeError(`the load generator speaks plain http to servers on this machine; got ${url}`);
  if (!isLoopbackHost(parsed.hostname)) throw new RangeError(`the load generator only targets loopback addresses (127.0.0.0/8, ::1, localhost); got host '${parsed.hostname}' in ${url}`);
  return parsed;
}

/** A load level's result with every counted latency (ms), so that slices can be merged. */
export interface LoadSlice {
  readonly result: LoadResult;
  readonly latencies: readonly number[];
}

/** The result of `latencies` (ms) and counts measured over `durationS` seconds. Sync. */
function summarize(clients: number, latencies: readonly number[], errors: number, durationS: number, errorSamples: string[]): LoadResult {
  return {
    clients,
    requests: latencies.length,
    errors,
    rps: durationS > 0 ? latencies.length / durationS : 0,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    mean_ms: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
    max_ms: latencies.length ? latencies.reduce((a, b) => Math.max(a, b), -Infinity) : null,
    duration_s: durationS,
    error_samples: errorSamples,
  };
}

/**
 * One result of several slices measured at the same client count (e.g. rounds alternating
 * between servers): requests and errors added, requests/s over the summed durations,
 * percentiles over all latencies. Sync; throws RangeError for no slices or mixed client counts.
 */
export function mergeLoads(slices: readonly LoadSlice[]): LoadResult {
  if (slices.length === 0) throw new RangeError('no load slices to merge');
  const clients = slices[0]!.result.clients;
  if (slices.some((s) => s.result.clients !== clients)) throw new RangeError(`load slices of different client counts: ${slices.map((s) => s.result.clients).join(', ')}`);
  const samples = [...new Set(slices.flatMap((s) => s.result.error_samples))].slice(0, 3);
  return summarize(
    clients,
    slices.flatMap((s) => s.latencies),
    slices.reduce((sum, s) => sum + s.result.errors, 0),
    slices.reduce((sum, s) => sum + s.result.duration_s, 0),
    samples,
  );
}

/**
 * Runs one load level against the server at `options.url`. Async; resolves with the counts and
 * latencies of the measured period (failed requests are counted, never thrown).
 * @throws RangeError (synchronously, as a rejection) for a non-loopback URL, no texts, or a
 * client count or duration that is not positive.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return (await runLoadSlice(options)).result;
}

/** {@link runLoad}, also returning every counted latency (for {@link mergeLoads}). Async; rejects as runLoad. */
export async function runLoadSlice(options: LoadOptions): Promise<LoadSlice> {
  const url = loopbackUrl(options.url);
  const { clients, durationMs, texts } = options;
  if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`clients must be a positive integer, got ${clients}`);
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be positive, got ${durationMs}`);
  if (texts.length === 0) throw new RangeError('the load generator needs at least one text to send');
  const warmupMs = options.warmupMs ?? 0;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  const latencies: number[] = [];
  const errorMessages = new Map<string, number>();
  let errors = 0;
  let lastAnswer = 0;
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const stopAt = measureFrom + durationMs;

  const client = async (c: number) => {
    for (let k = 0; ; k++) {
      const sent = performance.now();
      if (sent >= stopAt) return;
      const counted = sent >= measureFrom;
      const text = texts[(c + k * clients) % texts.length]!;
      let failure: string | undefined;
      try {
        const answer = await postPredict(url, { inputs: text, truncate: true }, agent, timeoutMs);
        if (answer.status !== 200) failure = `HTTP ${answer.status}: ${answer.body.slice(0, 160)}`;
        else topLabel(answer.body);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      const done = performance.now();
      if (!counted) continue;
      if (failure === undefined) {
        latencies.push(done - sent);
        lastAnswer = Math.max(lastAnswer, done);
      } else {
        errors++;
        errorMessages.set(failure, (errorMessages.get(failure) ?? 0) + 1);
        // a server that refuses at once must not turn this loop into a busy spin
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  } finally {
    agent.destroy();
  }
  const elapsed = latencies.length ? (lastAnswer - measureFrom) / 1000 : durationMs / 1000;
  const samples = [...errorMessages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([message, count]) => `${count}x ${message}`);
  return { result: summarize(clients, latencies, errors, elapsed, samples), latencies };
}
