#!/usr/bin/env node
// `npm run test:asan`: builds the addon with AddressSanitizer (build-asan/) and runs the runtime
// tests against it with LeakSanitizer on. Fails on any AddressSanitizer error, and on any leak
// whose allocation stack passes through node, the addon or a PJRT plugin. (Leaks reported for
// helper processes the tests start, such as python3 and bash, are not ours and are listed only.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args, env = process.env) => spawnSync(command, args, { cwd: root, stdio: 'inherit', env });

let status = run(process.execPath, ['scripts/install.mjs', '--native-only'], { ...process.env, PJRT_BERT_ASAN: '1' }).status;
if (status !== 0) process.exit(status ?? 1);

const libasan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
const reports = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-asan-'));
const tests = readdirSync(path.join(root, 'test')).filter((f) => /^runtime.*\.test\.ts$/.test(f)).map((f) => `test/${f}`);
status = run(path.join(root, 'node_modules', '.bin', 'tap'), ['--reporter=terse', ...tests], {
  ...process.env,
  LD_PRELOAD: libasan,
  ASAN_OPTIONS: `detect_leaks=1:log_path=${reports}/report:exitcode=0:abort_on_error=0`,
  PJRT_BERT_ADDON: path.join(root, 'build-asan', 'Debug', 'pjrt_bert.node'),
  PJRT_BERT_UNDER_ASAN: '1',
}).status;

let ours = 0;
for (const file of readdirSync(reports)) {
  const text = readFileSync(path.join(reports, file), 'utf8');
  const memoryError = /ERROR: AddressSanitizer/.test(text);
  const leakInNode = /ERROR: LeakSanitizer/.test(text) && /(\/bin\/node|pjrt_bert\.node|pjrt[^\s]*\.so|libtpu|xla_)/.test(text);
  if (memoryError || leakInNode) {
    ours++;
    console.error(`\n--- ${file} ---\n${text}`);
  } else {
    console.error(`asan: ignoring a report from a helper process (${file}: ${text.match(/in \S+ \((\/[^+)]+)/)?.[1] ?? 'unknown binary'})`);
  }
}
if (ours > 0) {
  console.error(`asan: ${ours} AddressSanitizer report(s) from the addon's process`);
  process.exit(1);
}
console.error(`asan: no AddressSanitizer errors or leaks in the addon's process (tests exit ${status})`);
process.exit(status ?? 1);
