/**
 * The parity suite every encoder family runs against transformers (test/reference/
 * family_reference.py), on tiny random models that transformers builds at test time:
 *   - logits of the loaded directory within 1e-5 (relative to the largest logit);
 *   - the loss and the gradient of every parameter within 1e-4;
 *   - saved by us, the directory loads in the Auto class with nothing missing or unexpected and
 *     gives the same logits (1e-4);
 *   - bf16 runs and stays near f32;
 *   - a packed row (two examples in one row, segmentIds/positionIds given) gives each example
 *     the same encoder output as alone (1e-5);
 *   - with a tokenizer: 20 AdamW steps of the Trainer within 1e-4 of the distance moved against
 *     a PyTorch loop, and 4 replicas giving 1 replica's parameters up to rounding.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { readSafetensors, toFloat32 } from '../../lib/io/index.js';
import { type EncoderInputs, type HostParam, type ModelParams, type ModelSpec, crossEntropyLoss, modelForward } from '../../lib/models/index.js';
import { loadModelDir, saveModelDir } from '../../lib/pretrained/index.js';
import type { DeviceArray, Runtime } from '../../lib/runtime/index.js';
import { jit, valueAndGrad, type Tensor } from '../../lib/trace/index.js';
import { putParams } from '../../lib/train/model-state.js';
import { runPythonJson } from '../reference/python.js';

/** One family's case: a tiny config and the batch to run. */
export interface FamilyCase {
  /** Test label, e.g. `roberta`. */
  readonly name: string;
  /** HF model_type. */
  readonly modelType: string;
  /** HF config fields (snake_case), sizes tiny. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Tokens per row and the real length of each row (the rest is padding). */
  readonly seqLen: number;
  readonly lengths: readonly number[];
  /** Whether the family takes token type ids (segment B in the second half of row 0). */
  readonly tokenTypes: boolean;
  /** Ids of real tokens start here (above the special tokens), below `config.vocab_size`. */
  readonly firstId?: number;
  /** The architecture HF should report for our saved directory. */
  readonly architecture: string;
  /**
   * The token-classification architecture: when given, a token-classification model that
   * transformers builds is also checked (logits, and our saved directory loading as this class).
   */
  readonly tokenArchitecture?: string;
}

/** A batch as the Python side takes it (rows of ids). */
export interface Batch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
}

/** A deterministic batch of `lengths` real tokens per row, padded with `pad`. */
export function makeBatch(familyCase: FamilyCase, pad: number): Batch {
  let state = 12345;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31), state);
  const vocab = familyCase.config.vocab_size as number;
  const first = familyCase.firstId ?? 5;
  const batch: Batch = { input_ids: [], attention_mask: [] };
  if (familyCase.tokenTypes) batch.token_type_ids = [];
  familyCase.lengths.forEach((length, row) => {
    batch.input_ids.push(Array.from({ length: familyCase.seqLen }, (_, i) => (i < length ? first + (next() % (vocab - first)) : pad)));
    batch.attention_mask.push(Array.from({ length: familyCase.seqLen }, (_, i) => (i < length ? 1 : 0)));
    batch.token_type_ids?.push(Array.from({ length: familyCase.seqLen }, (_, i) => (row === 0 && i >= length / 2 && i < length ? 1 : 0)));
  });
  return batch;
}

/** max |a - b| / max |b|. */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

async function putBatch(rt: Runtime, batch: Batch): Promise<{ inputIds: DeviceArray; attentionMask: DeviceArray; tokenTypeIds?: DeviceArray }> {
  const shape = [batch.input_ids.length, batch.input_ids[0]!.length];
  const put = (rows: number[][]) => rt.put(Int32Array.from(rows.flat()), shape);
  return { inputIds: await put(batch.input_ids), attentionMask: await put(batch.attention_mask), ...(batch.token_type_ids ? { tokenTypeIds: await put(batch.token_type_ids) } : {}) };
}

/** Our logits for host params and a batch, flat, and their shape. */
export async function ourLogits(rt: Runtime, spec: ModelSpec, params: ModelParams<HostParam>, batch: Batch, computeDtype: 'f32' | 'bf16' = 'f32'): Promise<Float32Array> {
  const forward = jit((p: Record<string, Tensor>, inputs: Record<string, Tensor>) => modelForward(spec, p, inputs as never, { train: false, computeDtype }), { runtime: rt });
  const out = (await forward(await putParams(rt, params), await putBatch(rt, batch))) as DeviceArray;
  forward.dispose();
  return (await out.toHost()) as Float32Array;
}

/** The first two rows of `lengths` that fit in one row of `seqLen` tokens together. */
function packablePair(familyCase: FamilyCase): [number, number] | undefined {
  const { lengths, seqLen } = familyCase;
  for (let i = 0; i < lengths.length; i++) for (let j = i + 1; j < lengths.length; j++) if (lengths[i]! + lengths[j]! <= seqLen) return [i, j];
  return undefined;
}

/**
 * Packs rows `first` and `second` of `batch` into one row, as the Trainer packs short examples:
 * the real tokens of each one after the other, then `pad`; segmentIds 1 and 2 (0 on padding),
 * positionIds restarting at 0 for the second example. Returns s32 rows [1, S] by input name.
 */
function packRows(batch: Batch, lengths: readonly number[], [first, second]: [number, number], pad: number): Record<string, number[][]> {
  const seqLen = batch.input_ids[0]!.length;
  const a = lengths[first]!;
  const used = a + lengths[second]!;
  // the token at packed position i: row and index in it, or undefined on padding
  const source = (i: number): [number, number] | undefined => (i < a ? [first, i] : i < used ? [second, i - a] : undefined);
  const row = (value: (i: number, at: [number, number] | undefined) => number): number[][] => [Array.from({ length: seqLen }, (_, i) => value(i, source(i)))];
  const packed: Record<string, number[][]> = {
    inputIds: row((_, at) => (at ? batch.input_ids[at[0]]![at[1]]! : pad)),
    attentionMask: row((_, at) => (at ? 1 : 0)),
    segmentIds: row((i, at) => (at ? (i < a ? 1 : 2) : 0)),
    positionIds: row((_, at) => (at ? at[1] : 0)),
  };
  if (batch.token_type_ids) packed.tokenTypeIds = row((_, at) => (at ? batch.token_type_ids![at[0]]![at[1]]! : 0));
  return packed;
}


/**
 * Checks that two examples packed in one row (block-diagonal attention by segmentIds,
 * positions restarting by positionIds) get the encoder output each gets alone in its own
 * padded row, within 1e-5 relative. Async; a subtest of `t`.
 */
export async function packedParity(t: Test, rt: Runtime, familyCase: FamilyCase, spec: ModelSpec, params: ModelParams<HostParam>, batch: Batch, pad: number): Promise<void> {
  const pair = packablePair(familyCase);
  if (!pair) throw new Error(`${familyCase.name}: no two rows of lengths [${familyCase.lengths.join(', ')}] fit in one row of ${familyCase.seqLen}; add short rows`);
  await t.test(`${familyCase.name}: a packed row gives each example its output alone`, async (t) => {
    const alone = await ourSequence(rt, spec, params, {
      inputIds: batch.input_ids,
      attentionMask: batch.attention_mask,
      ...(batch.token_type_ids ? { tokenTypeIds: batch.token_type_ids } : {}),
    });
    const packed = await ourSequence(rt, spec, params, packRows(batch, familyCase.lengths, pair, pad));
    const hidden = packed.length / familyCase.seqLen;
    const seqLen = familyCase.seqLen;
    let offset = 0;
    for (const row of pair) {
      const length = familyCase.lengths[row]!;
      const want = alone.subarray(row * seqLen * hidden, (row * seqLen + length) * hidden);
      const got = packed.subarray(offset * hidden, (offset + length) * hidden);
      const diff = relativeDiff(got, want);
      t.ok(diff <= 1e-5, `example of row ${row} (${length} tokens at ${offset}): max relative difference ${diff.toExponential(2)} (bound 1e-5)`);
      offset += length;
    }
  });
}

/**
 * Runs the suite's forward, gradient, save and bf16 checks of `familyCase` as subtests of `t`.
 * Async; the Python reference runs once for all of them.
 */
export async function familyParity(t: Test, rt: Runtime, familyCase: FamilyCase): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), `pjrt-bert-${familyCase.name}-`));
  const dir = path.join(work, 'reference');
  const pad = (familyCase.config.pad_token_id as number | undefined) ?? 0;
  const batch = makeBatch(familyCase, pad);
  const labelCount = (familyCase.config.num_labels as number | undefined) ?? 2;
  const labels = familyCase.lengths.map((_, i) => i % labelCount);
  const reference = await runPythonJson<{ logits: number[][]; loss: number; class: string }>('family_reference.py', ['random', dir], {
    model_type: familyCase.modelType,
    config: familyCase.config,
    seed: 7,
    task: 'sequence',
    labels,
    ...batch,
  });

  const loaded = await loadModelDir(dir);
  await t.test(`${familyCase.name}: the directory loads with every tensor used`, async (t) => {
    t.equal(loaded.spec.family.modelTypes.includes(familyCase.modelType), true, `family ${loaded.spec.family.name}`);
    t.same(loaded.initialized, [], 'nothing initialised fresh');
    t.same(loaded.unused, [], 'every tensor used');
  });

  await t.test(`${familyCase.name}: logits match transformers`, async (t) => {
    const logits = await ourLogits(rt, loaded.spec, loaded.params, batch);
    const diff = relativeDiff(logits, reference.logits.flat());
    t.ok(diff <= 1e-5, `max relative logit difference ${diff.toExponential(2)} (bound 1e-5)`);
  });

  await t.test(`${familyCase.name}: loss and every gradient match transformers`, async (t) => {
    const step = jit(
      valueAndGrad((p: Record<string, Tensor>, inputs: Record<string, Tensor>, y: Tensor) => crossEntropyLoss(modelForward(loaded.spec, p, inputs as never, { train: false }), y)),
      { runtime: rt },
    );
    const [loss, grads] = (await step(await putParams(rt, loaded.params), await putBatch(rt, batch), await rt.put(Int32Array.from(labels), [labels.length]))) as [DeviceArray, Record<string, DeviceArray>];
    step.dispose();
    const ourLoss = ((await loss.toHost()) as Float32Array)[0]!;
    t.ok(Math.abs(ourLoss - reference.loss) <= 1e-5 * Math.abs(reference.loss), `loss ${ourLoss} vs ${reference.loss}`);
    const expected = (await readSafetensors(path.join(dir, 'grads.safetensors'))).tensors;
    const scale = Math.max(...[...expected.values()].map((g) => Math.max(...Array.from(toFloat32(g), Math.abs))));
    let worst = 0;
    let worstName = '';
    for (const [hfName, tensor] of expected) {
      const name = loaded.spec.family.normalizeName(hfName) ?? hfName;
      const ours = grads[name];
      if (!ours) {
        t.fail(`no gradient for ${name}`);
        continue;
      }
      const want = toFloat32(tensor);
      const got = (await ours.toHost()) as Float32Array;
      const norm = Math.max(...Array.from(want, Math.abs));
      // A gradient that is exactly zero in theory (a key bias: softmax ignores a shift shared
      // by all keys) is rounding noise on both sides: compare it with the global scale.
      const diff = norm <= 1e-6 * scale ? Math.max(...Array.from(got, Math.abs)) / scale : relativeDiff(got, want);
      if (diff > worst) [worst, worstName] = [diff, name];
    }
    t.ok(worst <= 1e-4, `max gradient relative error ${worst.toExponential(2)} (${worstName}; bound 1e-4)`);
  });

  await t.test(`${familyCase.name}: saved by us, transformers' Auto class loads it with the same logits`, async (t) => {
    const saved = path.join(work, 'saved');
    await saveModelDir(saved, loaded.spec, loaded.params, { writeTokenizer: async () => undefined });
    const back = await runPythonJson<{ class: string; logits: number[][]; missing: string[]; unexpected: string[]; mismatched: string[] }>('family_reference.py', ['logits', saved], { task: 'sequence', ...batch });
    t.equal(back.class, familyCase.architecture);
    t.same([back.missing, back.unexpected, back.mismatched], [[], [], []], 'nothing missing, unexpected or mismatched');
    const diff = relativeDiff(back.logits.flat(), reference.logits.flat());
    t.ok(diff <= 1e-4, `max relative logit difference ${diff.toExponential(2)} (bound 1e-4)`);
  });

  await packedParity(t, rt, familyCase, loaded.spec, loaded.params, batch, pad);

  await t.test(`${familyCase.name}: bf16 runs, near f32`, async (t) => {
    const logits = await ourLogits(rt, loaded.spec, loaded.params, batch, 'bf16');
    t.ok(logits.every(Number.isFinite), 'finite');
    const diff = relativeDiff(logits, reference.logits.flat());
    t.ok(diff < 0.1, `bf16 vs f32 logits: ${diff.toExponential(2)} (bf16 has 8 bits of mantissa)`);
  });

  await t.test(`${familyCase.name}: an mlp:N head runs and round-trips through our directories`, async (t) => mlpHeadRoundTrip(t, rt, familyCase, dir, path.join(work, 'mlp')));
  if (familyCase.tokenArchitecture) await t.test(`${familyCase.name}: token classification matches transformers`, async (t) => tokenParity(t, rt, familyCase, path.join(work, 'token')));
}

/** The encoder's sequence output [B, S, H] (flat) for host params and s32 inputs given as rows (EncoderInputs names). */
export async function ourSequence(rt: Runtime, spec: ModelSpec, params: ModelParams<HostParam>, rows: Record<string, number[][]>): Promise<Float32Array> {
  const encode = jit((p: Record<string, Tensor>, inputs: Record<string, Tensor>) => spec.family.encode(spec.config, p, inputs as unknown as EncoderInputs, { train: false }).sequence, { runtime: rt });
  const shape = [rows.inputIds!.length, rows.inputIds![0]!.length];
  const inputs = Object.fromEntries(await Promise.all(Object.entries(rows).map(async ([name, values]) => [name, await rt.put(Int32Array.from(values.flat()), shape)] as const)));
  const out = (await encode(await putParams(rt, params), inputs)) as DeviceArray;
  encode.dispose();
  return (await out.toHost()) as Float32Array;
}


/**
 * The reference directory with an `mlp:16` head (initialised fresh): finite logits [B, labels],
 * saved and loaded back by us with the head recorded and the same logits. Async.
 */
export async function mlpHeadRoundTrip(t: Test, rt: Runtime, familyCase: FamilyCase, dir: string, saved: string): Promise<void> {
  const pad = (familyCase.config.pad_token_id as number | undefined) ?? 0;
  const batch = makeBatch(familyCase, pad);
  const withMlp = await loadModelDir(dir, { head: 'mlp:16' });
  t.same(withMlp.initialized.sort(), ['classifier.0.bias', 'classifier.0.weight', 'classifier.3.bias', 'classifier.3.weight'], 'only the mlp head is initialised fresh');
  const logits = await ourLogits(rt, withMlp.spec, withMlp.params, batch);
  t.equal(logits.length, familyCase.lengths.length * withMlp.spec.config.labels!.length, 'one row of logits per example');
  t.ok(logits.every(Number.isFinite), 'finite');
  await saveModelDir(saved, withMlp.spec, withMlp.params, { writeTokenizer: async () => undefined });
  const back = await loadModelDir(saved);
  t.same([back.spec.head, back.initialized, back.unused], [{ kind: 'mlp', hidden: 16 }, [], []], 'the head is recorded and every tensor is used');
  t.same(await ourLogits(rt, back.spec, back.params, batch), logits, 'the same logits after the round trip');
}

/**
 * Token classification: transformers builds a random `<Family>ForTokenClassification`; loaded
 * with the `token` head, our logits [B, S, labels] match within 1e-5, and our saved directory
 * loads in AutoModelForTokenClassification as `tokenArchitecture` with nothing missing or
 * unexpected and the same logits (1e-4). Async.
 */
export async function tokenParity(t: Test, rt: Runtime, familyCase: FamilyCase, work: string): Promise<void> {
  const pad = (familyCase.config.pad_token_id as number | undefined) ?? 0;
  const batch = makeBatch(familyCase, pad);
  const labelCount = (familyCase.config.num_labels as number | undefined) ?? 2;
  const labels = batch.input_ids.map((row) => row.map((id) => id % labelCount));
  const dir = path.join(work, 'reference');
  const reference = await runPythonJson<{ logits: number[][][]; class: string }>('family_reference.py', ['random', dir], { model_type: familyCase.modelType, config: familyCase.config, seed: 11, task: 'token', labels, ...batch });
  t.equal(reference.class, familyCase.tokenArchitecture, 'transformers built the expected class');
  const loaded = await loadModelDir(dir, { head: 'token' });
  t.same([loaded.initialized, loaded.unused], [[], []], 'every tensor used, nothing initialised fresh');
  const logits = await ourLogits(rt, loaded.spec, loaded.params, batch);
  const diff = relativeDiff(logits, reference.logits.flat(2));
  t.ok(diff <= 1e-5, `max relative token logit difference ${diff.toExponential(2)} (bound 1e-5)`);
  const saved = path.join(work, 'saved');
  await saveModelDir(saved, loaded.spec, loaded.params, { writeTokenizer: async () => undefined });
  const back = await runPythonJson<{ class: string; logits: number[][][]; missing: string[]; unexpected: string[]; mismatched: string[] }>('family_reference.py', ['logits', saved], { task: 'token', ...batch });
  t.equal(back.class, familyCase.tokenArchitecture);
  t.same([back.missing, back.unexpected, back.mismatched], [[], [], []], 'nothing missing, unexpected or mismatched');
  const savedDiff = relativeDiff(back.logits.flat(2), reference.logits.flat(2));
  t.ok(savedDiff <= 1e-4, `max relative token logit difference of the saved directory ${savedDiff.toExponential(2)} (bound 1e-4)`);
}
