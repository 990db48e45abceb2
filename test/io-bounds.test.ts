// Bounded parsers (issue 10, items 6 and 7): a small pytorch_model.bin or config.json must
// not cost gigabytes. Deflate bombs (honest and lying about their size), a stride-0 view
// over a one-element storage, views past their storage, corrupt CRC-32s, and configs whose
// sizes are absurd or do not fit the weights are refused with a FileFormatError naming the
// file (and the tensor or the field), before the memory is spent. The bombs are built
// here, streamed, never committed. Memory is measured as the growth of the process's peak
// resident size, which any buffer of the bomb's size would raise.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';

import { type Tensor, makeTensor, tensorBytes } from '../lib/io/tensor.js';
import { unpickle } from '../lib/io/pickle.js';
import { openTorchCheckpoint, parseTorchCheckpoint } from '../lib/io/torch-checkpoint.js';
import { openWeights } from '../lib/io/weights.js';
import { crc32, openZip } from '../lib/io/zip.js';
import { type BertConfig, bert, bertPresetConfig, initModelParams, modelSpec, parameterCount } from '../lib/models/index.js';
import { loadModelDir } from '../lib/pretrained/model-dir.js';
import { buildZip, deflatedZeros, statePickle, torchCheckpointBytes } from './helpers/torch-zip.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-bounds-'));
const MiB = 1 << 20;
/** The bombs inflate to this: far above the peak this test process reaches otherwise. */
const BOMB_BYTES = 512 * MiB;
/** Growth of the peak RSS that counts as "allocated the bomb". */
const ALLOWED_GROWTH = 128 * MiB;

const bomb = await deflatedZeros(BOMB_BYTES);
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

/** Runs `action`, then asserts it raised the peak RSS by less than ALLOWED_GROWTH. */
async function withinMemory(t: Test, what: string, action: () => unknown): Promise<void> {
  const before = peakRss();
  await action();
  const growth = peakRss() - before;
  t.ok(growth < ALLOWED_GROWTH, `${what}: peak RSS grew by ${(growth / MiB).toFixed(0)} MiB (bound ${ALLOWED_GROWTH / MiB} MiB)`);
}

const f32 = (shape: number[], seed = 1) => makeTensor('f32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + i)));

t.test('a stored entry read back checks size and CRC-32', async (t) => {
  const data = Buffer.from('hello, tensors');
  const good = buildZip([{ name: 'a', data }]);
  t.same(Buffer.from(openZip(good, 'ok.zip').read('a')), data);
  const flipped = Uint8Array.from(good);
  flipped[30 + 1 + 3] ^= 0x01; // one bit of the stored data
  t.throws(() => openZip(flipped, 'flip.zip').read('a'), { name: 'FileFormatError', message: /^flip\.zip: ZIP entry "a": CRC-32 mismatch/ });
  const lying = buildZip([{ name: 'a', data, size: data.byteLength + 1 }]);
  t.throws(() => openZip(lying, 'lie.zip'), { name: 'FileFormatError', message: /^lie\.zip: ZIP entry "a" is stored but declares 14 bytes stored and 15 bytes uncompressed/ });
  const unrecorded = buildZip([{ name: 'a', data, crc: 0 }]);
  t.same(Buffer.from(openZip(unrecorded, 'zero.zip').read('a')), data, 'CRC 0 = not recorded (torch.save with set_crc32_options(False))');
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the standard CRC-32 check value');
});

t.test('a deflate bomb that declares its size is inflated no further than a caller allows', async (t) => {
  const zip = buildZip([{ name: 'bomb', data: bomb.data, compressed: true, size: BOMB_BYTES, crc: bomb.crc }]);
  t.ok(zip.byteLength < 2 * MiB, `the bomb is ${(zip.byteLength / 1024).toFixed(0)} KiB`);
  await withinMemory(t, 'refused by maxBytes', () => {
    t.throws(() => openZip(zip, 'bomb.zip').read('bomb', { maxBytes: 64 * MiB }), {
      name: 'FileFormatError',
      message: /^bomb\.zip: ZIP entry "bomb": declares 536870912 bytes, more than the 67108864 allowed here/,
    });
  });
});

t.test('a deflate bomb that lies about its size stops at the declared size', async (t) => {
  const zip = buildZip([{ name: 'archive/data/0', data: bomb.data, compressed: true, size: 16, crc: bomb.crc }]);
  await withinMemory(t, 'inflating past the declared 16 bytes', () => {
    t.throws(() => openZip(zip, 'liar.bin').read('archive/data/0'), {
      name: 'FileFormatError',
      message: /^liar\.bin: ZIP entry "archive\/data\/0": inflates to more than the 16 bytes it declares/,
    });
  });
  const tensors = new Map<string, Tensor>([['w', f32([4])]]);
  const checkpoint = torchCheckpointBytes(tensors, { storages: { w: { data: bomb.data, compressed: true, size: 16, crc: bomb.crc } } });
  await withinMemory(t, 'the same bomb as a tensor storage', () => {
    t.throws(() => parseTorchCheckpoint(checkpoint, 'liar.bin'), { name: 'FileFormatError', message: /^liar\.bin: ZIP entry "archive\/data\/0": inflates to more than/ });
  });
});

t.test('a stride-0 view cannot turn a 4-byte storage into a gigabyte', async (t) => {
  const pickle = statePickle([{ name: 'w', storage: '0', dtype: 'f32', storageNumel: 1, offset: 0, shape: [16384, 16384], stride: [0, 0] }]);
  const bin = buildZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/data/0', data: new Uint8Array(4) },
  ]);
  t.ok(bin.byteLength < 1024, `${bin.byteLength} bytes`);
  await withinMemory(t, 'stride-0 view', () => {
    t.throws(() => parseTorchCheckpoint(bin, 'stride0.bin'), {
      name: 'FileFormatError',
      message: /^stride0\.bin: tensor "w" \(\[16384, 16384\], stride \[0, 0\], offset 0\) addresses 268435456 elements of storage 0, which holds 1 .*\.contiguous\(\)/,
    });
  });
});

t.test('views past their storage are refused naming the file and the tensor', async (t) => {
  const cases: Array<[string, { offset: number; shape: number[]; stride: number[] }]> = [
    ['offset past the end', { offset: 4, shape: [1], stride: [1] }],
    ['size past the end', { offset: 0, shape: [5], stride: [1] }],
    ['stride past the end', { offset: 0, shape: [2, 2], stride: [3, 1] }],
  ];
  for (const [what, view] of cases) {
    const bin = buildZip([
      { name: 'archive/data.pkl', data: statePickle([{ name: 'layer.w', storage: '0', dtype: 'f32', storageNumel: 4, ...view }]) },
      { name: 'archive/data/0', data: new Uint8Array(16) },
    ]);
    t.throws(() => openTorchCheckpoint(bin, 'past.bin'), { name: 'FileFormatError', message: /^past\.bin: tensor "layer\.w" .* runs past its storage 0 \(4 f32 elements declared\)/ }, what);
  }
  const numel = buildZip([
    { name: 'archive/data.pkl', data: statePickle([{ name: 'w', storage: '0', dtype: 'f32', storageNumel: 1 << 28, offset: 0, shape: [4], stride: [1] }]) },
    { name: 'archive/data/0', data: new Uint8Array(16) },
  ]);
  t.throws(() => openTorchCheckpoint(numel, 'numel.bin'), { message: /^numel\.bin: storage 0: data\.pkl declares 268435456 f32 elements but the archive holds 16 bytes/ });
  const transposed = buildZip([
    { name: 'archive/data.pkl', data: statePickle([{ name: 't', storage: '0', dtype: 'f32', storageNumel: 6, offset: 0, shape: [3, 2], stride: [1, 3] }]) },
    { name: 'archive/data/0', data: new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer) },
  ]);
  t.same([...(parseTorchCheckpoint(transposed, 't.bin').get('t')!.data as Float32Array)], [1, 4, 2, 5, 3, 6], 'a transposed view inside its storage still reads');
});

t.test('expected shapes are checked before any storage is inflated', async (t) => {
  const tensors = new Map<string, Tensor>([['a', f32([2, 3])], ['big', f32([4])]]);
  const bin = torchCheckpointBytes(tensors, { storages: { big: { data: bomb.data, compressed: true, size: BOMB_BYTES, crc: bomb.crc } } });
  const info = openTorchCheckpoint(bin, 'lazy.bin');
  t.same([...info.tensors.keys()], ['a', 'big']);
  t.same(info.tensors.get('big')!.storageBytes, BOMB_BYTES, 'the index knows the declared size without inflating');
  await withinMemory(t, 'a wrong expected shape over a bomb', () => {
    t.throws(() => parseTorchCheckpoint(bin, 'lazy.bin', { expect: new Map([['a', [2, 3]], ['big', [5]]]) }), {
      name: 'FileFormatError',
      message: /^lazy\.bin: tensor big has shape \[4\], expected \[5\]/,
    });
  });
  await withinMemory(t, 'only the expected tensors are decoded', () => {
    const read = parseTorchCheckpoint(bin, 'lazy.bin', { expect: new Map([['a', [2, 3]]]) });
    t.same([...read.keys()], ['a']);
    t.same(Buffer.from(tensorBytes(read.get('a')!)), Buffer.from(tensorBytes(tensors.get('a')!)));
  });
  await withinMemory(t, 'a byte budget', () => {
    t.throws(() => info.read(['big'], { maxBytes: 64 * MiB }), { name: 'FileFormatError', message: /^lazy\.bin: decoding 1 tensor of 16 bytes would take 536870912 bytes .*more than the 67108864 allowed/ });
  });
  await withinMemory(t, 'the default budget: twice the tensors plus 1 MiB', () => {
    t.throws(() => parseTorchCheckpoint(bin, 'lazy.bin'), { name: 'FileFormatError', message: /^lazy\.bin: decoding 2 tensors of 40 bytes would take 536870936 bytes .*more than the 1048656 allowed.*decompression bomb/ });
  });
});

t.test('pickles: a negative length cannot loop, repeated torch.Size calls cannot multiply memory', async (t) => {
  // LONG4 with length -5 once moved the reader back onto its own opcode, forever.
  const loop = Uint8Array.from([0x80, 0x02, 0x8b, 0xfb, 0xff, 0xff, 0xff, 0x2e]);
  t.throws(() => unpickle(loop, { file: 'loop.pkl', resolveGlobal: () => undefined }), { name: 'FileFormatError', message: /^loop\.pkl: malformed pickle at byte 7: negative length -5/ });
  // A list of 10,000 ints, then torch.Size(list) 10,000 times, every result kept on the
  // stack: 80 KB of pickle that once made 10^8 list elements (800 MB).
  const n = 10_000;
  const ops: number[] = [0x80, 0x02, 0x5d, 0x28];
  for (let i = 0; i < n; i++) ops.push(0x4b, 1);
  ops.push(0x65, 0x71, 0x00, ...Buffer.from('ctorch\nSize\n'), 0x71, 0x01, 0x28);
  for (let i = 0; i < n; i++) ops.push(0x68, 0x01, 0x68, 0x00, 0x85, 0x52);
  ops.push(0x31, 0x7d, 0x2e); // POP_MARK, EMPTY_DICT, STOP
  const bin = buildZip([{ name: 'archive/data.pkl', data: Uint8Array.from(ops) }]);
  await withinMemory(t, '10,000 torch.Size calls on one list', () => {
    t.same(parseTorchCheckpoint(bin, 'sizes.bin').size, 0, 'an empty state dict');
  });
});

/** A tiny BERT directory with its weights as pytorch_model.bin; `storages` as in torchCheckpointBytes. */
async function tinyBertDir(name: string, build: Parameters<typeof torchCheckpointBytes>[1] = {}, extra: Map<string, Tensor> = new Map()): Promise<{ dir: string; params: Record<string, Tensor> }> {
  const config = { ...bertPresetConfig('tiny', { vocabSize: 40 }), hiddenSize: 16, numAttentionHeads: 2, intermediateSize: 32, numHiddenLayers: 1, maxPositionEmbeddings: 24 };
  const params = initModelParams(modelSpec(bert, config, 'linear'), 3);
  const target = path.join(dir, name);
  await mkdir(target, { recursive: true });
  await writeFile(path.join(target, 'config.json'), JSON.stringify(bert.configToJson(config)));
  await writeFile(path.join(target, 'pytorch_model.bin'), torchCheckpointBytes(new Map<string, Tensor>([...Object.entries(params), ...extra]), build));
  return { dir: target, params };
}

t.test('the BERT loader reads a .bin in two phases: unused bombs are never inflated, used ones refused', async (t) => {
  const extra = new Map<string, Tensor>([['cls.predictions.bias', f32([40])]]);
  const unusedBomb = { 'cls.predictions.bias': { data: bomb.data, compressed: true, size: BOMB_BYTES, crc: bomb.crc } };
  const { dir: unused, params } = await tinyBertDir('unused-bomb', { storages: unusedBomb }, extra);
  await withinMemory(t, 'loading past an unused bomb', async () => {
    const loaded = await loadModelDir(unused);
    t.same(loaded.unused, ['cls.predictions.bias']);
    const name = 'bert.encoder.layer.0.attention.self.query.weight';
    t.same([...loaded.params[name]!.data], [...params[name]!.data], `${name} read back`);
  });
  const usedBomb = { 'bert.embeddings.LayerNorm.bias': { data: bomb.data, compressed: true, size: BOMB_BYTES, crc: bomb.crc } };
  const { dir: used } = await tinyBertDir('used-bomb', { storages: usedBomb });
  await withinMemory(t, 'a bomb in a parameter', async () => {
    await t.rejects(loadModelDir(used), { name: 'FileFormatError', message: /used-bomb\/pytorch_model\.bin: decoding \d+ tensors of \d+ bytes would take \d+ bytes .*decompression bomb/ });
  });
  const { dir: deflated, params: same } = await tinyBertDir('deflated', { deflate: true });
  const loaded = await loadModelDir(deflated);
  t.same([...loaded.params['bert.pooler.dense.weight']!.data], [...same['bert.pooler.dense.weight']!.data], 'deflated storages load');
  const weights = await openWeights(deflated);
  t.equal(weights.read(weights.infos.keys()).size, Object.keys(same).length, 'openWeights still reads every tensor');
});

/** The encoder parameters a BERT config implies, as the loader checks them: the required ones, and the optional pooler. */
function encoderCounts(config: BertConfig): { required: number; pooler: number } {
  const optional = new Set(bert.optionalParams(config));
  const counts = { required: 0, pooler: 0 };
  for (const [name, shape] of bert.paramShapes(config)) counts[optional.has(name) ? 'pooler' : 'required'] += shape.reduce((a, b) => a * b, 1);
  return counts;
}

t.test('absurd config sizes are refused naming config.json and the field, before any allocation', async (t) => {
  const base = { vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
  t.throws(() => bert.parseConfig({ ...base, hidden_size: 1e9 }, 'config.json'), { name: 'FileFormatError', message: /^config\.json: invalid BERT config: hidden_size: must be at most 65536 \(got 1000000000\)/ });
  t.throws(() => bert.parseConfig({ ...base, num_hidden_layers: 1e6 }, 'config.json'), { message: /num_hidden_layers: must be at most 1024 \(got 1000000\)/ });
  t.throws(() => bert.parseConfig({ ...base, vocab_size: 2 ** 40 }, 'config.json'), { message: /vocab_size: must be at most 16777216/ });
  t.throws(() => bert.parseConfig({ ...base, max_position_embeddings: 1e12 }, 'config.json'), { message: /max_position_embeddings: must be at most/ });
  t.throws(() => bert.parseConfig({ ...base, pad_token_id: 10 }, 'config.json'), { message: /^config\.json: pad_token_id 10 is not below vocab_size 10/ });
  const config = bert.parseConfig({ ...base, max_position_embeddings: 4, type_vocab_size: 2 }, 'c.json');
  // embeddings (10 + 4 + 2) x 8 + 16, one layer 4*64 + 2*8*16 + 9*8 + 16, pooler 64 + 8
  t.same(encoderCounts(config), { required: 16 * 8 + 16 + (256 + 256 + 72 + 16), pooler: 72 });
  t.equal(parameterCount(modelSpec(bert, config, 'linear')), 16 * 8 + 16 + 600 + 72 + (2 * 8 + 2), 'the model: encoder, pooler and a two-class classifier');
});

t.test('a config larger than its weights file or the memory is refused before the weights are decoded', async (t) => {
  const { dir: target } = await tinyBertDir('too-big');
  const huge = { ...bert.configToJson(bertPresetConfig('base')), hidden_size: 65536, num_attention_heads: 64, intermediate_size: 262144 };
  await writeFile(path.join(target, 'config.json'), JSON.stringify(huge));
  await withinMemory(t, 'hidden_size 65536 over a tiny .bin', async () => {
    await t.rejects(loadModelDir(target), {
      name: 'FileFormatError',
      message: /too-big\/config\.json: its sizes \(vocab_size 30522, hidden_size 65536, num_hidden_layers 12, num_attention_heads 64, intermediate_size 262144, .*\) describe a bert encoder of \d+ parameters \(\d+\.\d GiB as f32\), more than this machine's memory/,
    });
  });
  const fits = { ...bert.configToJson(bertPresetConfig('base')), hidden_size: 1024, num_attention_heads: 16 };
  await writeFile(path.join(target, 'config.json'), JSON.stringify(fits));
  await withinMemory(t, 'hidden_size 1024 over a tiny .bin', async () => {
    await t.rejects(loadModelDir(target), {
      name: 'FileFormatError',
      message: /too-big\/config\.json: its sizes \(vocab_size 30522, hidden_size 1024, .*\) describe \d+ required bert parameters \(at least [\d.]+ MiB at 16 bits each\), but pytorch_model\.bin holds only \d+ bytes of tensors/,
    });
  });
  await t.rejects(loadModelDir(target, { maxParameterBytes: 1024 }), { message: /config\.json: .*more than the limit \(1024 bytes\)/ });
});

t.test('initialising parameters checks their total size first', async (t) => {
  const config = { ...bertPresetConfig('base', { vocabSize: 1 << 24 }), hiddenSize: 65536, numAttentionHeads: 64 };
  await withinMemory(t, 'a preset with a 2^24 vocabulary at hidden 65536', () => {
    t.throws(() => initModelParams(modelSpec(bert, config, 'linear'), 0), { name: 'RangeError', message: /initModelParams: \d+ parameters to initialise \(.* GiB as f32\) are more than this machine's memory .*hidden_size 65536, vocab_size 16777216/ });
  });
  const head = initModelParams(modelSpec(bert, bertPresetConfig('tiny', { vocabSize: 30 }), 'linear'), 0, ['classifier.weight']);
  t.same(Object.keys(head), ['classifier.weight'], 'a small model still initialises');
});
