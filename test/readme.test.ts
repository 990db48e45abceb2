// The README's TypeScript example runs as written: it is extracted from README.md (the block
// after `<!-- runnable-example -->`), compiled with TypeScript as a user's project would, and
// run against this package installed under its name, in a fresh folder.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');

/** The code of the fenced block that follows `marker` in README.md. */
function exampleAfter(marker: string): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker}`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`README.md has no ts block after ${marker}`);
  return match[1]!;
}

t.test('the README example trains, predicts and saves on the CPU', async (t) => {
  const source = exampleAfter('<!-- runnable-example -->');
  t.match(source, /from 'pjrt-bert'/, 'imports the package by its name');
  const { outputText, diagnostics } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'] },
    reportDiagnostics: true,
  });
  t.same(diagnostics, [], 'transpiles');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-readme-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules', 'pjrt-bert'), 'dir');
  writeFileSync(path.join(dir, 'example.mjs'), outputText);
  const run = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  t.equal(run.status, 0, run.status === 0 ? 'exit 0' : run.stderr.slice(-3000));
  const accuracy = Number(/validation accuracy ([\d.]+)/.exec(run.stdout)?.[1]);
  t.ok(accuracy > 0.5, `validation accuracy ${accuracy} (3 classes)`);
  t.match(run.stdout, /^(negative|neutral|positive) \[/m, 'a prediction with its probabilities');
  t.ok(existsSync(path.join(dir, 'reviews-model', 'model.safetensors')), 'the model was saved in out');
  t.notOk(existsSync(path.join(dir, 'reviews-model', '.pjrt-bert.lock')), 'using released the lock');
});
