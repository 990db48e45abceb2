/**
 * The process side of a bench server built on lib/serve: parses the flags `pjrt-bert serve`
 * takes that the bench uses (`--model DIR --host --port --seq-len --max-batch-size
 * --max-wait-ms`), builds an engine, serves it with lib/serve's {@link Server} (the same HTTP
 * code and dynamic batching as `pjrt-bert serve`), prints `listening on http://HOST:PORT` on
 * stdout once bound, and exits 0 after SIGTERM/SIGINT once what was queued is answered.
 *
 * The transformers.js server of the bench (`tjs-server.ts`) runs on it, so the only difference
 * between it and `pjrt-bert serve` is the engine; the bench's tests run a stand-in over
 * `Predictor` on it.
 */
import { parseArgs } from 'node:util';

import { Server, handleShutdownSignals } from '../serve/server.js';
import type { EncodedInput, ServeEngine } from '../serve/engine.js';

/** The flags of an engine server, parsed. */
export interface EngineServerFlags {
  readonly model: string;
  readonly host: string;
  readonly port: number;
  readonly seqLen: number;
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  /** Flags the caller declared in `extra`, as given. */
  readonly extra: Readonly<Record<string, string | undefined>>;
}

function integer(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/**
 * Parses an engine server's command line; `extra` names further string flags. Sync; throws
 * RangeError naming the flag that is missing or out of range (or node's parseArgs error for an
 * unknown flag).
 */
export function parseEngineServerFlags(argv: readonly string[], extra: readonly string[] = []): EngineServerFlags {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      model: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8080' },
      'seq-len': { type: 'string', default: '128' },
      'max-batch-size': { type: 'string', default: '32' },
      'max-wait-ms': { type: 'string', default: '5' },
      ...Object.fromEntries(extra.map((name) => [name, { type: 'string' as const }])),
    },
    strict: true,
  });
  if (!values.model) throw new RangeError('--model DIR is required: the model folder to serve');
  const maxWaitMs = Number(values['max-wait-ms']);
  if (!(maxWaitMs >= 0)) throw new RangeError(`--max-wait-ms must be a number >= 0, got '${values['max-wait-ms']}'`);
  return {
    model: values.model as string,
    host: values.host as string,
    port: integer(values.port as string, '--port', 0),
    seqLen: integer(values['seq-len'] as string, '--seq-len', 2),
    maxBatchSize: integer(values['max-batch-size'] as string, '--max-batch-size', 1),
    maxWaitMs,
    extra: Object.fromEntries(extra.map((name) => [name, (values as Record<string, string | undefined>)[name]])),
  };
}

/**
 * Serves the engine `create` builds from the parsed flags until SIGTERM/SIGINT. Async; resolves
 * once listening (the process then lives on its server and exits from the signal handler);
 * writes the `listening on` line to stdout and log lines (info and above) to stderr. Rejects with
 * the flag or engine error; the caller prints it and exits 1.
 */
export async function runEngineServer<E extends EncodedInput>(argv: readonly string[], create: (flags: EngineServerFlags) => Promise<ServeEngine<E>>, extra: readonly string[] = []): Promise<void> {
  const flags = parseEngineServerFlags(argv, extra);
  const engine = await create(flags);
  const log = (level: string, message: string) => {
    if (level !== 'debug') process.stderr.write(`${level}: ${message}\n`);
  };
  const server = Server.create({ engine, host: flags.host, port: flags.port, maxBatchSize: flags.maxBatchSize, maxWaitMs: flags.maxWaitMs, log });
  handleShutdownSignals(server, { log });
  const { url } = await server.listen();
  process.stdout.write(`listening on ${url}\n`);
}
