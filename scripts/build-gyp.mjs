#!/usr/bin/env node
// `npm run build:gyp`: builds the addon from binding.gyp with node-gyp into build-gyp/ (so it
// never clobbers the cmake-js build in build/), then loads it and checks that it runs a program
// on the CPU plugin. Uses the Node headers installed with node (e.g. /usr/include/node) when
// present, so no download from nodejs.org is needed.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args, env = process.env) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run(process.execPath, ['scripts/install.mjs', '--native-only']); // header (and the cmake build)

// node-gyp always builds into ./build: move the cmake-js output aside while it runs.
const nodedir = path.resolve(path.dirname(process.execPath), '..');
const localHeaders = existsSync(path.join(nodedir, 'include', 'node', 'common.gypi'));
const aside = path.join(root, 'build-cmake-aside');
rmSync(aside, { recursive: true, force: true });
if (existsSync(path.join(root, 'build'))) cpSync(path.join(root, 'build'), aside, { recursive: true });
try {
  const gyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  run(process.execPath, [gyp, 'rebuild', '--loglevel=warn', ...(localHeaders ? [`--nodedir=${nodedir}`] : [])]);
  rmSync(path.join(root, 'build-gyp'), { recursive: true, force: true });
  mkdirSync(path.join(root, 'build-gyp'), { recursive: true });
  cpSync(path.join(root, 'build', 'Release'), path.join(root, 'build-gyp', 'Release'), { recursive: true });
} finally {
  rmSync(path.join(root, 'build'), { recursive: true, force: true });
  if (existsSync(aside)) cpSync(aside, path.join(root, 'build'), { recursive: true });
  rmSync(aside, { recursive: true, force: true });
}

// Smoke test: the node-gyp addon compiles and runs a program on the CPU plugin.
const smoke = `
import { Runtime } from './dist/lib/index.js';
const rt = await Runtime.open({ plugin: 'cpu', cpuDevices: 2 });
const exe = await rt.compile('func.func public @main(%a: tensor<3xf32>) -> tensor<3xf32> { %0 = stablehlo.add %a, %a : tensor<3xf32>\\n return %0 : tensor<3xf32> }');
const [[out]] = await exe.execute([await rt.put(new Float32Array([1, 2, 3]), [3])]);
const host = Array.from(await out.toHost());
if (host.join() !== '2,4,6') throw new Error('node-gyp addon computed ' + host);
console.log('node-gyp addon OK: [1,2,3] + [1,2,3] = [' + host + ']');
`;
run(process.execPath, ['--input-type=module', '-e', smoke], {
  ...process.env,
  PJRT_BERT_ADDON: path.join(root, 'build-gyp', 'Release', 'pjrt_bert.node'),
  TF_CPP_MIN_LOG_LEVEL: '2',
});
