/**
 * The HTTP server: a fine-tuned model behind Hugging Face text-embeddings-inference's API (TEI),
 * so existing TEI clients work, with dynamic batching (`batcher.ts`) over a {@link ServeEngine}.
 *
 *     const server = Server.create({ engine, port: 8080 });
 *     const { url } = await server.listen();   // binds, then compiles in the background
 *     await server.warmup();                    // GET /health answers 200 from here on
 *     ...
 *     await server.close();                     // stop accepting, finish what is queued
 *
 * Routes: `POST /predict` (see request.ts and responses.ts), `GET /health` (200 once warm-up
 * finished, else 503), `GET /info`, `GET /metrics` (server-metrics.ts). Errors are JSON
 * `{"error", "error_type"}` as TEI's. Status codes: 400 body not JSON or an empty batch; 422 JSON
 * of the wrong shape or an input the tokenizer refuses (TEI's code for both); 413 a body over
 * `maxBodyBytes` (answered without reading the rest), an input over the model's length without
 * `"truncate": true`, or more inputs than the queue holds; 503 + `Retry-After` before warm-up,
 * while closing, or when the queue is full (TEI answers 429 there; 503 is what the project's
 * contract asks and what load balancers retry); 500 an engine failure (TEI: 424), for the
 * requests of the failed batch only; 404 unknown route; 405 wrong method (with `Allow`).
 *
 * The server prints nothing: log lines go to the `log` option (one `debug` line per batch).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { packageRoot } from '../native/package-root.js';
import { BatchFailedError, Batcher, CancelledError, QueueFullError, type ServeLog } from './batcher.js';
import { type EncodedInput, type ServeEngine, checkEngineInfo } from './engine.js';
import { HttpError, parsePredictRequest } from './request.js';
import { formatResult } from './responses.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { ServerMetrics } from './server-metrics.js';

/** Options of {@link Server.create}. */
export interface ServerOptions<E extends EncodedInput = EncodedInput> {
  /** What runs the model; the server does not dispose it. */
  readonly engine: ServeEngine<E>;
  /** Address to bind (default `127.0.0.1`: only this machine can connect). */
  readonly host?: string;
  /** Port (default 8080; 0 takes any free port, see `listen()`'s result). */
  readonly port?: number;
  /** Most inputs per engine call (default 32, capped at `engine.info.maxBatchSize`). */
  readonly maxBatchSize?: number;
  /** How long the first queued input waits for others before its batch leaves (default 5 ms). */
  readonly maxWaitMs?: number;
  /** Most inputs waiting in the queue; requests beyond answer 503 (default 1024). */
  readonly maxQueue?: number;
  /** Largest request body; a larger one answers 413 (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** `truncate` for requests that do not say (default false, as TEI: too long answers 413). */
  readonly autoTruncate?: boolean;
  /** Receives log lines; nothing is printed without it. */
  readonly log?: ServeLog;
}

/** Where a listening server is reachable. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly url: string;
}

const MiB = 1024 * 1024;

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A TEI-compatible HTTP server over one engine. Create with {@link Server.create}. */
export class Server<E extends EncodedInput = EncodedInput> implements AsyncDisposable {
  readonly engine: ServeEngine<E>;
  readonly host: string;
  readonly port: number;
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly maxBodyBytes: number;
  readonly autoTruncate: boolean;
  readonly metrics: ServerMetrics;
  readonly #log: ServeLog | undefined;
  readonly #batcher: Batcher<E>;
  readonly #http: http.Server;
  readonly #version = readVersion();
  #address: ListenAddress | undefined;
  #warmup: Promise<void> | undefined;
  #warm = false;
  #warmupError: Error | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #inflight = 0;
  #compiledAtWarmup = 0;
  #compileWarned = false;
  #idle: (() => void)[] = [];

  private constructor(options: ServerOptions<E>) {
    const { engine } = options;
    checkEngineInfo(engine.info);
    this.engine = engine;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 8080;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) throw new RangeError(`port ${this.port} must be an integer in 0..65535 (0: any free port)`);
    this.maxBatchSize = options.maxBatchSize ?? Math.min(32, engine.info.maxBatchSize);
    if (this.maxBatchSize > engine.info.maxBatchSize) {
      throw new RangeError(`maxBatchSize ${this.maxBatchSize} is over the engine's ${engine.info.maxBatchSize} (its programs' batch size); ask for at most that`);
    }
    this.maxWaitMs = options.maxWaitMs ?? 5;
    this.maxQueue = options.maxQueue ?? 1024;
    this.maxBodyBytes = options.maxBodyBytes ?? MiB;
    if (!Number.isInteger(this.maxBodyBytes) || this.maxBodyBytes < 1) throw new RangeError(`maxBodyBytes ${this.maxBodyBytes} must be a positive integer`);
    this.autoTruncate = options.autoTruncate ?? false;
    this.#log = options.log;
    this.metrics = new ServerMetrics(
      {
        queued: () => this.#batcher.queued,
        running: () => this.#batcher.running,
        compileCount: () => engine.compileCount,
        ready: () => this.#warm && !this.#closing,
      },
      { maxBatchSize: this.maxBatchSize, maxInputLength: engine.info.maxInputLength },
    );
    this.#batcher = new Batcher<E>({
      engine,
      maxBatchSize: this.maxBatchSize,
      maxWaitMs: this.maxWaitMs,
      maxQueue: this.maxQueue,
      replicas: engine.info.replicas,
      ...(this.#log ? { log: this.#log } : {}),
      onBatch: (report) => {
        this.metrics.batch(report);
        this.#checkCompiles();
      },
    });
    this.#http = http.createServer((req, res) => this.#handle(req, res));
  }

  /**
   * Checks the options and the engine's info; does not bind or compile (see `listen`). Sync;
   * throws RangeError naming an option or engine field that is out of range.
   */
  static create<E extends EncodedInput>(options: ServerOptions<E>): Server<E> {
    return new Server(options);
  }

  /** Whether warm-up finished and the server takes requests (what `/health` says). */
  get healthy(): boolean {
    return this.#warm && !this.#closing;
  }

  /** Where the server listens, once `listen` resolved. */
  get address(): ListenAddress | undefined {
    return this.#address;
  }

  /** Requests received and not yet answered (their bodies may still be arriving). */
  get requestsInFlight(): number {
    return this.#inflight;
  }

  /** Inputs waiting for a batch now. */
  get queued(): number {
    return this.#batcher.queued;
  }

  /**
   * Starts the engine's warm-up unless started (`listen` starts it) and returns it. Async;
   * resolves once every program is compiled; rejects with the engine's error when warm-up failed
   * (the server then stays unhealthy: `/health` and `/predict` answer 503 with that error).
   */
  warmup(): Promise<void> {
    if (!this.#warmup) {
      this.#warmup = Promise.resolve()
        .then(() => this.engine.warmup())
        .then(
          () => {
            this.#warm = true;
            this.#compiledAtWarmup = this.engine.compileCount;
            this.#log?.('info', `warm-up done: ${this.engine.compileCount} programs compiled`);
          },
          (error: unknown) => {
            this.#warmupError = error instanceof Error ? error : new Error(String(error));
            this.#log?.('error', `warm-up failed: ${this.#warmupError.message}`);
            throw this.#warmupError;
          },
        );
      this.#warmup.catch(() => {}); // reported through /health and the log; `warmup()` still rejects for whoever awaits it
    }
    return this.#warmup;
  }

  /**
   * Binds `host:port` and starts the engine's warm-up in the background (`/health` answers 503
   * until it is done; await `warmup()` to wait for it). Async; resolves with the address (the real
   * port when 0 was asked); rejects when the address cannot be bound (EADDRINUSE, EACCES: the
   * error names host and port) or the server was closed.
   */
  async listen(): Promise<ListenAddress> {
    if (this.#closing) throw new Error('this server was closed; create a new one');
    if (this.#address) return this.#address;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(new Error(`cannot listen on ${this.host}:${this.port}: ${error.code ?? error.message}; choose another --host/--port (0: any free port)`, { cause: error }));
      };
      this.#http.once('error', onError);
      this.#http.listen(this.port, this.host, () => {
        this.#http.off('error', onError);
        resolve();
      });
    });
    const { port } = this.#http.address() as AddressInfo;
    const host = this.host;
    this.#address = { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
    this.#log?.('info', `bound to ${this.#address.url}; warming up (GET /health answers 503 until the programs are compiled)`);
    void this.warmup().catch(() => {});
    return this.#address;
  }

  /**
   * Stops accepting connections, answers every request already received (queued inputs run at
   * once, without waiting `maxWaitMs`), waits for a warm-up in progress, then closes the
   * remaining connections. Requests that arrive on open connections meanwhile answer 503.
   * Async; idempotent; never rejects. The engine is the caller's to dispose afterwards.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closing = true;
    this.#closed = (async () => {
      const listening = this.#http.listening;
      const httpClosed = listening ? new Promise<void>((resolve) => this.#http.close(() => resolve())) : Promise.resolve();
      this.#http.closeIdleConnections();
      void this.#batcher.drain();
      await this.#requestsDone();
      await this.#batcher.drain();
      if (this.#warmup) await this.#warmup.catch(() => {});
      this.#http.closeAllConnections();
      await httpClosed;
      this.#log?.('info', 'closed');
    })();
    return this.#closed;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Warns once when the engine compiled during requests: its warm-up missed a program shape. */
  #checkCompiles(): void {
    const extra = this.engine.compileCount - this.#compiledAtWarmup;
    if (this.#warm && extra > 0 && !this.#compileWarned) {
      this.#compileWarned = true;
      this.#log?.('warn', `the engine compiled ${extra} program(s) while serving requests; its warmup() should compile every shape a batch can take`);
    }
  }

  #requestsDone(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = req.url ?? '/'; // not a URL: answered 404 below
    }
    const route = ServerMetrics.route(pathname);
    this.#inflight++;
    res.once('close', () => {
      // 499 (as nginx): the client went away before its answer
      this.metrics.request(route, res.writableFinished ? res.statusCode : 499, (performance.now() - started) / 1000);
      if (--this.#inflight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
    this.#route(req, res, pathname).catch((error: unknown) => {
      if (error instanceof CancelledError) return; // the client went away; nobody to answer
      if (error instanceof HttpError) return this.#sendError(res, error);
      // a bug, not a bad request: say so in the log (failed batches are logged by the batcher)
      const message = `internal error: ${error instanceof Error ? error.message : String(error)}`;
      this.#log?.('error', `${req.method} ${pathname}: ${message}`);
      this.#sendError(res, new HttpError(500, 'backend', message));
    });
  }

  async #route(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    const method = req.method ?? 'GET';
    const allow = pathname === '/predict' ? 'POST' : ['/health', '/info', '/metrics'].includes(pathname) ? 'GET' : undefined;
    if (!allow) throw new HttpError(404, 'not_found', `no route ${pathname}; the routes are POST /predict, GET /health, GET /info, GET /metrics`);
    if (method !== allow) throw new HttpError(405, 'method_not_allowed', `${pathname} takes ${allow}, not ${method}`, { Allow: allow });
    if (this.#closing && pathname !== '/metrics') {
      throw new HttpError(503, 'unhealthy', 'the server is shutting down; send requests to another instance', { 'Retry-After': '1' });
    }
    if (pathname === '/health') return this.#health(res);
    if (pathname === '/info') return this.#sendJson(res, 200, this.info());
    if (pathname === '/metrics') return this.#send(res, 200, PROMETHEUS_CONTENT_TYPE, this.metrics.render());
    return this.#predict(req, res);
  }

  #health(res: http.ServerResponse): void {
    if (this.#warm) return this.#send(res, 200, 'text/plain; charset=utf-8', '');
    const why = this.#warmupError ? `warm-up failed: ${this.#warmupError.message}` : 'warming up: the programs are being compiled';
    throw new HttpError(503, 'unhealthy', why, this.#warmupError ? {} : { 'Retry-After': '1' });
  }

  /**
   * What `GET /info` answers: TEI's field names where they exist (`model_id`, `model_dtype`,
   * `model_type.classifier.id2label/label2id`, `max_input_length`, `max_batch_requests`,
   * `max_client_batch_size`, `auto_truncate`, `version`), and this server's own (`family`, `task`,
   * `labels`, `max_batch_size`, `max_wait_ms`, `max_queue`, `replicas`, `ready`). Sync; never throws.
   */
  info(): Record<string, unknown> {
    const { info } = this.engine;
    return {
      model_id: info.modelId,
      model_sha: null,
      model_dtype: info.dtype ?? 'float32',
      model_type: {
        classifier: {
          id2label: Object.fromEntries(info.labels.map((label, i) => [String(i), label])),
          label2id: Object.fromEntries(info.labels.map((label, i) => [label, i])),
        },
      },
      max_input_length: info.maxInputLength,
      max_batch_requests: this.maxBatchSize,
      max_client_batch_size: this.maxQueue,
      auto_truncate: this.autoTruncate,
      version: this.#version,
      sha: null,
      docker_label: null,
      family: info.family,
      task: info.task,
      labels: [...info.labels],
      max_batch_size: this.maxBatchSize,
      max_wait_ms: this.maxWaitMs,
      max_queue: this.maxQueue,
      replicas: info.replicas,
      ready: this.healthy,
    };
  }

  async #predict(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    if (!this.#warm) {
      throw new HttpError(503, 'unhealthy', this.#warmupError ? `the model failed to load: ${this.#warmupError.message}` : 'the model is warming up (compiling); retry shortly', {
        'Retry-After': '1',
      });
    }
    const request = parsePredictRequest(await this.#readBody(req));
    const { info } = this.engine;
    if (info.task === 'token-classification' && request.inputs.some((input) => input.pair !== undefined)) {
      throw new HttpError(422, 'validation', 'this token-classification model takes single texts, not pairs');
    }
    if (request.inputs.length > this.maxQueue) {
      throw new HttpError(413, 'validation', `the request has ${request.inputs.length} inputs, more than this server queues (${this.maxQueue}, --max-queue); split it`);
    }
    const truncate = request.truncate ?? this.autoTruncate;
    const where = (i: number) => (request.batch ? `input ${i}` : 'the input');
    const encoded = await Promise.all(
      request.inputs.map(async (input, i) => {
        try {
          return await this.engine.encode(input);
        } catch (error) {
          throw new HttpError(422, 'tokenizer', `${where(i)} cannot be tokenized: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    encoded.forEach((e, i) => {
      this.metrics.inputTokens.observe(e.tokenCount);
      if (e.tokenCount > info.maxInputLength && !truncate) {
        throw new HttpError(
          413,
          'validation',
          `${where(i)} is ${e.tokenCount} tokens long, over the model's limit of ${info.maxInputLength} (max_input_length); shorten it or send "truncate": true`,
        );
      }
    });
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let result;
    try {
      result = await this.#batcher.submit(encoded, abort.signal);
    } catch (error) {
      if (error instanceof QueueFullError) throw new HttpError(503, 'overloaded', `the model is overloaded: ${error.message}`, { 'Retry-After': '1' });
      if (error instanceof BatchFailedError) throw new HttpError(500, 'backend', error.message);
      throw error;
    }
    let results;
    try {
      results = result.outputs.map((output, i) => formatResult(output, request.inputs[i]!, info, request));
    } catch (error) {
      const message = `the engine's output is unusable: ${(error as Error).message}`;
      this.#log?.('error', message);
      throw new HttpError(500, 'backend', message);
    }
    this.metrics.inputs.inc({}, results.length);
    const ms = (seconds: number) => String(Math.round(seconds * 1000));
    this.#sendJson(res, 200, request.batch ? results : results[0], {
      'x-compute-tokens': String(encoded.reduce((sum, e) => sum + Math.min(e.tokenCount, info.maxInputLength), 0)),
      'x-total-time': ms((performance.now() - started) / 1000),
      'x-queue-time': ms(result.queueSeconds),
      'x-inference-time': ms(result.inferenceSeconds),
    });
  }

  /**
   * The request body as text, refused with 413 once it passes `maxBodyBytes` (by its
   * Content-Length before reading anything, else while reading; the rest is not read).
   */
  #readBody(req: http.IncomingMessage): Promise<string> {
    const limit = this.maxBodyBytes;
    const tooLarge = (size: string) =>
      new HttpError(413, 'validation', `the request body is ${size} bytes, over the limit of ${limit} bytes (maxBodyBytes); send fewer or shorter inputs`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.pause();
      return Promise.reject(tooLarge(String(declared)));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.off('data', onData);
          req.pause();
          reject(tooLarge(`over ${size}`));
          return;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.once('error', reject);
    });
  }

  #sendError(res: http.ServerResponse, error: HttpError): void {
    if (error.status === 413 && !res.headersSent && !(res.req as http.IncomingMessage).complete) res.setHeader('Connection', 'close');
    this.#send(res, error.status, 'application/json', error.body(), error.headers);
  }

  #sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.#send(res, status, 'application/json', JSON.stringify(body), headers);
  }

  #send(res: http.ServerResponse, status: number, type: string, body: string, headers: Readonly<Record<string, string>> = {}): void {
    if (res.headersSent || res.destroyed) return;
    if (this.#closing) res.setHeader('Connection', 'close'); // no more requests on this connection
    res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** Options of {@link handleShutdownSignals}. */
export interface ShutdownOptions {
  /** Signals to handle (default SIGTERM and SIGINT). */
  readonly signals?: readonly NodeJS.Signals[];
  /** Ends the process (default `process.exit`); tests pass their own. */
  readonly exit?: (code: number) => void;
  readonly log?: ServeLog;
}

/**
 * Installs handlers (only when called: a library changes no process state by itself) that, on
 * the first of `signals`, close `server` (stop accepting, finish what is queued) and exit 0, or 1
 * when closing failed; a second signal while closing exits 1 at once. Sync; returns a function
 * that removes the handlers. Never throws.
 */
export function handleShutdownSignals(server: Pick<Server, 'close'>, options: ShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      options.log?.('warn', `${signal} again while closing: exiting now`);
      exit(1);
      return;
    }
    closing = true;
    options.log?.('info', `${signal}: finishing queued requests, then exiting`);
    server.close().then(
      () => exit(0),
      (error: unknown) => {
        options.log?.('error', `closing failed: ${error instanceof Error ? error.message : String(error)}`);
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
