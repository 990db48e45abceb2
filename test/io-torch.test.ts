// PyTorch checkpoints: a state dict written by torch.save (many dtypes, non-contiguous
// and shared-storage tensors) read back identically; pickles that reference os.system or
// builtins.eval refused, naming the global, without running anything; legacy names.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { unpickle } from '../lib/io/pickle.js';
import { readSafetensors } from '../lib/io/safetensors.js';
import { type Tensor, tensorBytes } from '../lib/io/tensor.js';
import { parseTorchCheckpoint, readTorchCheckpoint } from '../lib/io/torch-checkpoint.js';
import { bert, bertPresetConfig, initModelParams, modelSpec } from '../lib/models/index.js';
import { loadModelDir } from '../lib/pretrained/model-dir.js';
import { torchCheckpointBytes } from './helpers/torch-zip.js';
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
  const renamed = (names: string[]) => names.map((name) => bert.normalizeName(name) ?? null);
  t.same(
    renamed(['embeddings.LayerNorm.gamma', 'encoder.layer.0.output.LayerNorm.beta', 'pooler.dense.weight', 'classifier.weight']),
    ['bert.embeddings.LayerNorm.weight', 'bert.encoder.layer.0.output.LayerNorm.bias', 'bert.pooler.dense.weight', 'classifier.weight'],
    'TF-era gamma/beta become weight/bias; a bare encoder gets the bert. prefix; a head keeps its name',
  );
  t.same(renamed(['bert.embeddings.LayerNorm.gamma', 'cls.x']), ['bert.embeddings.LayerNorm.weight', 'cls.x']);
  t.same(renamed(['embeddings.position_ids', 'bert.embeddings.position_ids']), [null, null], 'the position_ids buffer is dropped');
});

/** A tiny BERT directory whose pytorch_model.bin holds `tensors`; returns it and its fresh parameters. */
async function tinyBertDir(name: string, tensors: (params: Record<string, Tensor>) => Map<string, Tensor>): Promise<{ target: string; params: Record<string, Tensor> }> {
  const config = { ...bertPresetConfig('tiny', { vocabSize: 20 }), hiddenSize: 8, numAttentionHeads: 2, intermediateSize: 16, numHiddenLayers: 1, maxPositionEmbeddings: 8 };
  const spec = modelSpec(bert, config, 'linear');
  const params = initModelParams(spec, 7);
  const target = path.join(dir, name);
  await mkdir(target, { recursive: true });
  await writeFile(path.join(target, 'config.json'), JSON.stringify(bert.configToJson(config)));
  await writeFile(path.join(target, 'pytorch_model.bin'), torchCheckpointBytes(tensors(params)));
  return { target, params };
}

t.test('a .bin with legacy names loads under the current names, values unchanged', async (t) => {
  const legacy = (name: string) => name.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
  const { target, params } = await tinyBertDir('legacy', (params) => new Map(Object.entries(params).map(([name, tensor]) => [legacy(name), tensor])));
  const loaded = await loadModelDir(target);
  t.same(loaded.initialized, [], 'every parameter came from the file');
  t.same(loaded.unused, []);
  for (const [name, tensor] of Object.entries(params)) t.same([...loaded.params[name]!.data], [...tensor.data], `${name} (saved as ${legacy(name)})`);
});

t.test('two tensors that normalize to the same name are refused naming the file and both', async (t) => {
  const { target } = await tinyBertDir('twice', (params) => new Map([...Object.entries(params), ['bert.embeddings.LayerNorm.gamma', params['bert.embeddings.LayerNorm.weight']!]]));
  await t.rejects(loadModelDir(target), {
    name: 'FileFormatError',
    message: /twice\/pytorch_model\.bin: tensors bert\.embeddings\.LayerNorm\.weight and bert\.embeddings\.LayerNorm\.gamma both become bert\.embeddings\.LayerNorm\.weight/,
  });
});
