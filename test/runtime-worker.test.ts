// A Node environment (a worker thread) torn down while its executions are still running: the
// executions finish later on the plugin's threads and must touch nothing the environment freed
// (npm run test:asan runs this under AddressSanitizer), and the process carries on.
import t from 'tap';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { openTestRuntime, program, testPlugin } from './helpers/runtime.js';

/** A program that loops `n` times over a 256x256 matmul: slow to run. */
function slowProgram(n: number): string {
  return `func.func public @main(%arg0: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %zero = stablehlo.constant dense<0> : tensor<i32>
  %one = stablehlo.constant dense<1> : tensor<i32>
  %limit = stablehlo.constant dense<${n}> : tensor<i32>
  %r:2 = stablehlo.while(%i = %zero, %x = %arg0) : tensor<i32>, tensor<256x256xf32>
    cond {
      %c = stablehlo.compare LT, %i, %limit : (tensor<i32>, tensor<i32>) -> tensor<i1>
      stablehlo.return %c : tensor<i1>
    } do {
      %y = stablehlo.dot_general %x, %x, contracting_dims = [1] x [0] : (tensor<256x256xf32>, tensor<256x256xf32>) -> tensor<256x256xf32>
      %t = stablehlo.tanh %y : tensor<256x256xf32>
      %j = stablehlo.add %i, %one : tensor<i32>
      stablehlo.return %j, %t : tensor<i32>, tensor<256x256xf32>
    }
  return %r#1 : tensor<256x256xf32>
}`;
}

const iterations = 500;

t.test('a worker that exits or is terminated with executions in flight', { skip: testPlugin !== 'cpu' && 'CPU plugin only' }, async (t) => {
  // How long one execution takes here, to know when the orphaned ones are done.
  const rt = await openTestRuntime();
  const exe = await rt.compile(slowProgram(iterations));
  const x = await rt.put(new Float32Array(256 * 256).fill(0.001), [256, 256]);
  let start = performance.now();
  await exe.execute([x], { donate: false });
  const ms = performance.now() - start;
  t.ok(ms > 50, `one execution takes ${ms.toFixed(0)} ms, long enough to be in flight`);

  // Replica programs run one after another on each device: these take about executions x ms.
  const executions = 8;
  for (const how of ['exit', 'terminate'] as const) {
    const worker = new Worker(new URL('./helpers/inflight-worker.ts', import.meta.url), { workerData: { how, code: slowProgram(iterations), executions } });
    const [message] = (await once(worker, 'message')) as [string];
    const started = performance.now();
    t.equal(message, 'started', `${how}: the worker started ${executions} executions`);
    if (how === 'terminate') await worker.terminate();
    else t.equal(((await once(worker, 'exit')) as [number])[0], 0, 'exit: the worker exited');
    const gone = performance.now() - started;
    t.ok(gone < (ms * executions) / 2, `${how}: the environment was gone ${gone.toFixed(0)} ms after the executions started, long before they finish`);
    // Let the orphaned executions finish (and their completions run) on the plugin's threads.
    await sleep(ms * executions * 2 + 200);
  }
  const [[out]] = await exe.execute([await rt.put(new Float32Array(256 * 256).fill(0.001), [256, 256])]);
  t.equal(((await out!.toHost()) as Float32Array).length, 256 * 256, 'this thread still runs programs');
});
