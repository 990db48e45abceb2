// Worker thread of test/runtime-worker.test.ts: starts executions that take a while, disposes
// its runtime, reports 'started', then either exits (workerData.how === 'exit') or waits to be
// terminated, while the executions are still in flight.
import { parentPort, workerData } from 'node:worker_threads';
import { Runtime } from '../../lib/index.js';

const { how, code, executions } = workerData as { how: 'exit' | 'terminate'; code: string; executions: number };
const rt = await Runtime.open({ plugin: 'cpu', cpuDevices: 2 });
const exe = await rt.compile(code, { replicas: 2 });
const args = await Promise.all([0, 1].map(async (device) => [await rt.put(new Float32Array(256 * 256).fill(0.001), [256, 256], { device })]));
for (let i = 0; i < executions; i++) void exe.execute(args, { donate: false }).catch(() => undefined);
exe.dispose();
rt.dispose(); // the executions in flight keep what they need alive
parentPort!.postMessage('started');
if (how === 'exit') process.exit(0);
setInterval(() => undefined, 1000); // until terminated
