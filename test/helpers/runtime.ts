/**
 * Shared test setup: one runtime per test file, closed when the file's tests end. By default the
 * CPU plugin with 8 virtual devices (standing in for the 8 cores of a TPU v2-8);
 * `PJRT_BERT_TEST_PLUGIN=cuda` (or a path) runs the same tests on another plugin, where tests
 * that need more devices than it has are skipped (scripts/gpu-smoke.sh).
 */
import t from 'tap';
import { Runtime } from '../../lib/index.js';

let opened: Promise<Runtime> | undefined;

/** The plugin the tests run on: `$PJRT_BERT_TEST_PLUGIN`, default `cpu`. */
export const testPlugin = process.env.PJRT_BERT_TEST_PLUGIN ?? 'cpu';

/** The test file's runtime, opened on first use and disposed at teardown. Async. */
export function openTestRuntime(): Promise<Runtime> {
  if (!opened) {
    opened = Runtime.open(testPlugin === 'cpu' ? { plugin: 'cpu', cpuDevices: 8 } : { plugin: testPlugin });
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
