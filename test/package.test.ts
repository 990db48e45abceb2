// The package as users import it: `import { ... } from 'pjrt-bert'` from the repo root resolves
// through package.json "exports" to the compiled dist/ (npm test builds it first), and the
// runtime example of the README runs exactly as written.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function runModule(source: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('the public entry point exports the documented names', async (t) => {
  const { status, stdout, stderr } = runModule(`
    import * as api from 'pjrt-bert';
    console.log(JSON.stringify(Object.keys(api).sort()));
  `);
  t.equal(status, 0, stderr);
  const names = JSON.parse(stdout) as string[];
  const runtime = ['Runtime', 'DeviceArray', 'Executable', 'PjrtError', 'jit', 'grad', 'valueAndGrad', 'ops'];
  const training = ['Trainer', 'Predictor', 'BertTokenizer', 'HfTokenizer', 'loadTokenizer', 'adamw', 'readTable', 'generateDemoDataset'];
  // The family API of issue 11: the family table, a model as family + config + head, model directories.
  const models = ['FAMILIES', 'bert', 'modelSpec', 'initModelParams', 'modelForward', 'crossEntropyLoss', 'readModelConfig', 'loadModelDir', 'saveModelDir', 'openWeights', 'FileFormatError'];
  const serving = ['Server', 'handleShutdownSignals'];
  for (const name of [...runtime, ...training, ...models, ...serving]) {
    t.ok(names.includes(name), `exports ${name}`);
  }
});

t.test('the README runtime example runs as written', async (t) => {
  const { status, stdout, stderr } = runModule(`
    import { Runtime } from 'pjrt-bert';
    const stablehloText = 'func.func public @main(%x: tensor<4xf32>) -> tensor<4xf32> { %0 = "stablehlo.all_reduce"(%x) ({ ^bb0(%a: tensor<f32>, %b: tensor<f32>): %s = stablehlo.add %a, %b : tensor<f32>\\n stablehlo.return %s : tensor<f32> }) {replica_groups = dense<[[0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<1x8xi64>} : (tensor<4xf32>) -> tensor<4xf32>\\n return %0 : tensor<4xf32> }';
    const rt = await Runtime.open({ plugin: 'cpu', cpuDevices: 8 });
    const exe = await rt.compile(stablehloText, { replicas: 8 });
    const x = await rt.put(new Float32Array([1, 2, 3, 4]), [4], { device: 3 });
    const lists = await Promise.all(rt.devices.map((d) => rt.put(new Float32Array([1, 2, 3, 4]), [4], { device: d.index })));
    const outs = await exe.execute(lists.map((a) => [a]));
    const host = await outs[0][0].toHost();
    console.log(JSON.stringify({ devices: rt.devices.length, device: x.device, host: Array.from(host), type: host.constructor.name }));
  `);
  t.equal(status, 0, stderr);
  t.same(JSON.parse(stdout), { devices: 8, device: 3, host: [8, 16, 24, 32], type: 'Float32Array' });
});
