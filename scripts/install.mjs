#!/usr/bin/env node
// `npm install` hook: compiles the TypeScript if needed, provisions pjrt_c_api.h (pinned, from
// PyPI), builds the native addon with cmake-js, and installs the CPU PJRT plugin into .cache/.
//
//   node scripts/install.mjs                 everything
//   node scripts/install.mjs --native-only   header + addon, no plugin
//   PJRT_BERT_SKIP_PLUGIN=1                  same as --native-only
//   PJRT_BERT_ASAN=1                         build the addon with AddressSanitizer into build-asan/
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeOnly = process.argv.includes('--native-only') || process.env.PJRT_BERT_SKIP_PLUGIN === '1';
const asan = process.env.PJRT_BERT_ASAN === '1';

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`pjrt-bert install: \`${command} ${args.join(' ')}\` failed (exit ${result.status ?? result.error?.message})`);
    process.exit(result.status || 1);
  }
}

// 1. The provisioning code is TypeScript: compile it when installing from a git checkout.
const provisionJs = path.join(root, 'dist', 'lib', 'runtime', 'provision.js');
if (!existsSync(provisionJs)) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    console.error('pjrt-bert install: dist/ is missing and TypeScript is not installed; run `npm install` with dev dependencies');
    process.exit(1);
  }
  run(process.execPath, [tsc, '-p', 'tsconfig.json']);
}
const provision = await import(provisionJs);

// 2. The PJRT C API header, then the addon.
await provision.provisionHeader();
const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const cmakeArgs = [cmakeJs, 'compile', '--log-level', 'warn'];
if (asan) cmakeArgs.push('--out', 'build-asan', '--CDPJRT_BERT_ASAN=ON', '--debug');
run(process.execPath, cmakeArgs);

// 3. The CPU plugin for CI, laptops and the CPU fallback.
if (!nativeOnly) {
  const plugin = await provision.installCpuPlugin();
  console.error(`pjrt-bert: CPU plugin ready at ${plugin}`);
}
