/**
 * Shared test setup: one CPU runtime with 8 virtual devices per test file (standing in for the
 * 8 cores of a TPU v2-8), closed when the file's tests end.
 */
import t from 'tap';
import { Runtime } from '../../lib/index.js';

let opened: Promise<Runtime> | undefined;

/** The test file's runtime (8 CPU devices), opened on first use and disposed at teardown. Async. */
export function openTestRuntime(): Promise<Runtime> {
  if (!opened) {
    opened = Runtime.open({ plugin: 'cpu', cpuDevices: 8 });
    t.teardown(async () => (await opened!).dispose());
  }
  return opened;
}

/** A `@main` with the given signature and body lines, as StableHLO text. Sync. */
export function program(params: string[], results: string[], body: string[]): string {
  const args = params.map((type, i) => `%arg${i}: ${type}`).join(', ');
  const resultTypes = results.length === 1 ? results[0] : `(${results.join(', ')})`;
  return `func.func public @main(${args}) -> ${resultTypes} {\n  ${body.join('\n  ')}\n}\n`;
}
