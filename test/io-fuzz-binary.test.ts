// Fuzzing the binary readers (issue 10, item 9): safetensors, ZIP, pickle, PyTorch
// checkpoints, the weights reader and the model directory loader, with mutations of valid files (bit flips,
// boundary integers over header fields, truncations, insertions) and generated headers
// and opcode streams. Every input must end in a result or a FileFormatError naming the
// file, never another exception or a hang, and the bytes a reader returns are bounded by
// its input (views, declared sizes); the whole run must not raise the peak RSS by more
// than 256 MiB. Budget: PJRT_BERT_FUZZ_RUNS runs per property (a few seconds by default).
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';

import { unpickle } from '../lib/io/pickle.js';
import { encodeSafetensors, parseSafetensors } from '../lib/io/safetensors.js';
import { type Tensor, makeTensor } from '../lib/io/tensor.js';
import { parseTorchCheckpoint } from '../lib/io/torch-checkpoint.js';
import { openWeights } from '../lib/io/weights.js';
import { openZip } from '../lib/io/zip.js';
import { bert, bertPresetConfig, initModelParams, modelSpec } from '../lib/models/index.js';
import { loadModelDir } from '../lib/pretrained/model-dir.js';
import { endsWell, endsWellAsync, fuzzParameters, mutants } from './helpers/fuzz.js';
import { buildZip, statePickle, torchCheckpointBytes } from './helpers/torch-zip.js';

const MiB = 1 << 20;
const startPeak = process.resourceUsage().maxRSS * 1024;
const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-fuzz-'));

const tensors = new Map<string, Tensor>([
  ['a.weight', makeTensor('f32', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]))],
  ['a.bias', makeTensor('f16', [3], Uint16Array.from([0x3c00, 0x4000, 0x4200]))],
  ['ids', makeTensor('s64', [2], BigInt64Array.from([7n, -8n]))],
  ['empty', makeTensor('f32', [0, 4], new Float32Array(0))],
]);
const concat = (chunks: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks));
const bytesOf = (tensor: Tensor): number => tensor.data.byteLength;
const total = (map: Map<string, Tensor>): number => [...map.values()].reduce((sum, tensor) => sum + bytesOf(tensor), 0);

t.test('safetensors: mutated files', async (t) => {
  const seeds = [concat(encodeSafetensors(tensors, { format: 'pt' })), concat(encodeSafetensors([['x', tensors.get('a.weight')!]]))];
  fc.assert(
    fc.property(mutants(seeds, 64), (bytes) =>
      endsWell('fuzz.safetensors', () => parseSafetensors(bytes, 'fuzz.safetensors'), (contents) => total(contents.tensors) <= bytes.length),
    ),
    fuzzParameters(1000),
  );
  t.pass('every mutant was read or refused naming the file; tensors never outgrew the file');
});

t.test('safetensors: generated headers', async (t) => {
  const dim = fc.oneof(fc.nat({ max: 8 }), fc.constantFrom(2 ** 31, 2 ** 53, 1e300, -1, 0.5));
  const entry = fc.record({
    dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'BOOL', 'U8', 'F64'), fc.string({ maxLength: 4 })),
    shape: fc.oneof(fc.array(dim, { maxLength: 4 }), fc.anything()),
    data_offsets: fc.oneof(fc.tuple(fc.nat({ max: 64 }), fc.nat({ max: 64 })), fc.tuple(dim, dim), fc.anything()),
  }, { requiredKeys: [] });
  const header = fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__metadata__')), fc.oneof(entry, fc.anything()), { maxKeys: 4 });
  fc.assert(
    fc.property(header, fc.nat({ max: 96 }), (json, dataLength) => {
      const text = Buffer.from(JSON.stringify(json));
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(text.length));
      const bytes = concat([prefix, text, new Uint8Array(dataLength)]);
      return endsWell('gen.safetensors', () => parseSafetensors(bytes, 'gen.safetensors'), (contents) => total(contents.tensors) <= dataLength);
    }),
    fuzzParameters(1000),
  );
  t.pass('every generated header was read or refused naming the file');
});

t.test('ZIP: mutated archives, every entry read', async (t) => {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(20));
  const seeds = [
    buildZip([{ name: 'a.txt', data: text }, { name: 'b/c', data: text.subarray(0, 50), deflate: true }, { name: 'empty', data: new Uint8Array(0) }]),
    buildZip([{ name: 'only', data: text, deflate: true }]),
  ];
  fc.assert(
    fc.property(mutants(seeds), (bytes) =>
      endsWell('fuzz.zip', () => {
        const zip = openZip(bytes, 'fuzz.zip');
        let out = 0;
        for (const [name, entry] of zip.entries) {
          const data = zip.read(name);
          if (data.byteLength !== entry.size) throw new Error(`read ${data.byteLength} bytes of ${name}, declared ${entry.size}`);
          out += data.byteLength;
        }
        return out;
      }, (out) => out <= 1032 * bytes.length + 1024),
    ),
    fuzzParameters(1000),
  );
  t.pass('every entry read had its declared size, bounded by the deflate ratio of the input');
});

/** The opcodes of the unpickler and a few arguments, in random order: stack machines gone wrong. */
const opcodeStream = fc
  .array(
    fc.oneof(
      fc.constantFrom(0x80, 0x95, 0x28, 0x7d, 0x5d, 0x29, 0x8f, 0x4e, 0x88, 0x89, 0x74, 0x85, 0x86, 0x87, 0x6c, 0x64, 0x73, 0x75, 0x61, 0x65, 0x90, 0x91, 0x30, 0x31, 0x32, 0x94, 0x52, 0x81, 0x62, 0x51, 0x93).map((op) => [op]),
      fc.tuple(fc.constantFrom(0x4b, 0x71, 0x68, 0x43, 0x55, 0x8c, 0x8a), fc.nat({ max: 255 })).map(([op, n]) => [op, n]),
      fc.tuple(fc.constantFrom(0x4a, 0x4d, 0x72, 0x6a, 0x58, 0x42, 0x54, 0x8b), fc.constantFrom(0, 1, 2, 0x7fffffff, 0xffffffff, 0xfffffffb)).map(([op, n]) => [op, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]),
      fc.constantFrom([0x63, ...Buffer.from('collections\nOrderedDict\n')], [0x63, ...Buffer.from('os\nsystem\n')], [0x49, ...Buffer.from('12\n')], [0x46, ...Buffer.from('1.5\n')], [0x8c, 3, 0x61, 0x62, 0x63]),
    ),
    { maxLength: 60 },
  )
  .map((ops) => Uint8Array.from([...ops.flat(), 0x2e]));

t.test('pickle: opcode streams and mutated state dicts', async (t) => {
  const resolveGlobal = (module: string, name: string) =>
    module === 'collections' && name === 'OrderedDict' ? { module, name, call: () => new Map() } : undefined;
  const options = { file: 'fuzz.pkl', resolveGlobal, persistentLoad: (pid: unknown) => ({ pid }) };
  const seeds = [statePickle([{ name: 'w', storage: '0', dtype: 'f32', storageNumel: 6, offset: 0, shape: [2, 3], stride: [3, 1] }])];
  fc.assert(fc.property(fc.oneof(opcodeStream, mutants(seeds, 32)), (bytes) => endsWell('fuzz.pkl', () => unpickle(bytes, options))), fuzzParameters(2000));
  t.pass('every stream was unpickled or refused naming the file');
});

t.test('PyTorch checkpoints: mutated archives, stored and deflated', async (t) => {
  const seeds = [torchCheckpointBytes(tensors), torchCheckpointBytes(tensors, { deflate: true })];
  fc.assert(
    fc.property(mutants(seeds, 256), (bytes) =>
      endsWell('fuzz.bin', () => parseTorchCheckpoint(bytes, 'fuzz.bin'), (read) => total(read) <= 1032 * bytes.length + MiB),
    ),
    fuzzParameters(1000),
  );
  t.pass('every mutant was read or refused naming the file; tensors bounded by the input');
});

t.test('BERT directories: a mutated pytorch_model.bin is read or refused naming it (or config.json when too small for it)', async (t) => {
  const config = { ...bertPresetConfig('tiny', { vocabSize: 12 }), hiddenSize: 4, numAttentionHeads: 2, intermediateSize: 8, numHiddenLayers: 1, maxPositionEmbeddings: 6 };
  const params = new Map<string, Tensor>(Object.entries(initModelParams(modelSpec(bert, config, 'linear'), 1)));
  const model = path.join(dir, 'model');
  await mkdir(model, { recursive: true });
  await writeFile(path.join(model, 'config.json'), JSON.stringify(bert.configToJson(config)));
  const bin = path.join(model, 'pytorch_model.bin');
  const files = [bin, path.join(model, 'config.json')];
  const loadedBytes = (loaded: Awaited<ReturnType<typeof loadModelDir>>): number => Object.values(loaded.params).reduce((sum, param) => sum + param.data.byteLength, 0);
  await fc.assert(
    fc.asyncProperty(mutants([torchCheckpointBytes(params)], 512), async (bytes) => {
      await writeFile(bin, bytes);
      // Every tensor the file holds, through the generic reader; then the model the directory describes.
      const everyTensor = await endsWellAsync(files, async () => {
        const weights = await openWeights(model);
        return weights.read(weights.infos.keys());
      }, (read) => total(read) <= 2 * bytes.length + MiB);
      const directory = await endsWellAsync(files, () => loadModelDir(model), (loaded) => loadedBytes(loaded) <= 2 * bytes.length + MiB);
      return everyTensor && directory;
    }),
    fuzzParameters(300),
  );
  t.pass('every mutant was read or refused naming pytorch_model.bin');
});

t.test('the fuzzing stayed within its memory bound', async (t) => {
  const growth = process.resourceUsage().maxRSS * 1024 - startPeak;
  t.ok(growth < 256 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(0)} MiB over the whole run (bound 256 MiB)`);
});
