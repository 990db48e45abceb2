// PyTorch checkpoints: a state dict written by torch.save (many dtypes, non-contiguous
// and shared-storage tensors) read back identically; pickles that reference os.system or
// builtins.eval refused, naming the global, without running anything; legacy names.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { normalizeBertParameterNames } from '../lib/io/hf-model-dir.js';
import { unpickle } from '../lib/io/pickle.js';
import { readSafetensors } from '../lib/io/safetensors.js';
import { type Tensor, makeTensor, tensorBytes } from '../lib/io/tensor.js';
import { parseTorchCheckpoint, readTorchCheckpoint } from '../lib/io/torch-checkpoint.js';
import { runPythonJson } from './reference/python.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-torch-'));

t.test('a torch.save state dict reads back identically', async (t) => {
  const bin = path.join(dir, 'state.bin');
  const safetensors = path.join(dir, 'state.safetensors');
  const python = await runPythonJson<Record<string, { dtype: string; shape: number[] }>>('io_reference.py', ['torch-save', bin, safetensors]);
  const ours = await readTorchCheckpoint(bin);
  const reference = (await readSafetensors(safetensors)).tensors;
  t.same([...ours.keys()], Object.keys(python), 'names in order');
  for (const [name, tensor] of ours) {
    const want = reference.get(name)!;
    t.equal(tensor.dtype, want.dtype, `${name} dtype`);
    t.same(tensor.shape, python[name]!.shape, `${name} shape`);
    t.same(Buffer.from(tensorBytes(tensor)), Buffer.from(tensorBytes(want)), `${name} bytes`);
  }
  t.equal(ours.get('transposed')!.shape.join('x'), '10x6');
});

for (const [variant, global] of [['os.system', 'os.system'], ['builtins.eval', 'builtins.eval'], ['torch', 'posix.system']]) {
  t.test(`a pickle calling ${global} (${variant}) is refused, naming it, running nothing`, async (t) => {
    const bin = path.join(dir, `evil-${variant}.bin`);
    const marker = path.join(dir, `pwned-${variant}`);
    await runPythonJson('io_reference.py', ['evil', bin, variant, marker]);
    const escaped = (s: string) => s.replace(/\./g, '\\.');
    await t.rejects(readTorchCheckpoint(bin), {
      name: 'UnsafePickleError',
      global,
      message: new RegExp(`evil-${escaped(variant)}\\.bin: refusing to unpickle global ${escaped(global)}`),
    });
    t.notOk(existsSync(marker), 'the payload did not run');
  });
}

t.test('hand-made pickles: GLOBAL opcode refused, malformed data named', async (t) => {
  // protocol 0: cposix\nsystem\n(S'true'\ntR.
  const evil = Buffer.from("cposix\nsystem\n(S'true'\ntR.", 'latin1');
  t.throws(() => unpickle(evil, { file: 'x.pkl', resolveGlobal: () => undefined }), { name: 'UnsafePickleError', global: 'posix.system' });
  t.throws(() => unpickle(Buffer.from([0x80, 0x02, 0x7d]), { file: 'y.pkl', resolveGlobal: () => undefined }), /y\.pkl: malformed pickle.*missing STOP/);
  t.throws(() => unpickle(Buffer.from([0x80, 0x02, 0xff]), { file: 'z.pkl', resolveGlobal: () => undefined }), /unsupported opcode 0xff/);
  const value = unpickle(Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 0x01, 0, 0, 0, 0x61, 0x4b, 0x05, 0x73, 0x2e]), {
    file: 'ok.pkl',
    resolveGlobal: () => undefined,
  });
  t.same(value, new Map([['a', 5]]));
});

t.test('not a checkpoint, truncated, or legacy format: clear errors', async (t) => {
  const bin = path.join(dir, 'state.bin');
  const bytes = await readFile(bin);
  const truncated = path.join(dir, 'truncated.bin');
  await writeFile(truncated, bytes.subarray(0, bytes.length - 100));
  await t.rejects(readTorchCheckpoint(truncated), { name: 'FileFormatError', message: /truncated\.bin: / });
  const text = path.join(dir, 'text.bin');
  await writeFile(text, 'hello world, this is not a zip file at all');
  await t.rejects(readTorchCheckpoint(text), { message: /text\.bin: not a ZIP archive/ });
  t.throws(() => parseTorchCheckpoint(Buffer.from([0x80, 0x02, 0x8a, 0x0a]), 'old.bin'), /old\.bin: legacy \(pre-1\.6, non-ZIP\)/);
});

t.test('legacy parameter names are normalized', async (t) => {
  const one = makeTensor('f32', [1], Float32Array.from([1]));
  const names = (map: Map<string, Tensor>) => [...map.keys()];
  t.same(
    names(normalizeBertParameterNames(new Map([
      ['embeddings.LayerNorm.gamma', one],
      ['encoder.layer.0.output.LayerNorm.beta', one],
      ['pooler.dense.weight', one],
      ['classifier.weight', one],
    ]))),
    ['bert.embeddings.LayerNorm.weight', 'bert.encoder.layer.0.output.LayerNorm.bias', 'bert.pooler.dense.weight', 'classifier.weight'],
  );
  t.same(names(normalizeBertParameterNames(new Map([['bert.embeddings.LayerNorm.gamma', one], ['cls.x', one]]))), [
    'bert.embeddings.LayerNorm.weight',
    'cls.x',
  ]);
  t.throws(() => normalizeBertParameterNames(new Map([['a.gamma', one], ['a.weight', one]])), /both become a\.weight/);
});
