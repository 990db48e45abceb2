/**
 * The parity suite every encoder family runs against transformers (test/reference/
 * family_reference.py), on tiny random models that transformers builds at test time:
 *   - logits of the loaded directory within 1e-5 (relative to the largest logit);
 *   - the loss and the gradient of every parameter within 1e-4;
 *   - saved by us, the directory loads in the Auto class with nothing missing or unexpected and
 *     gives the same logits (1e-4);
 *   - bf16 runs and stays near f32;
 *   - a packed row (two examples, segmentIds and positionIds) gives each example its logits alone;
 *   - the token head against <Family>ForTokenClassification (logits, loss, gradients, save -> Auto
 *     class), and our `mlp:N` head runs, saves and loads back;
 *   - with a tokenizer: 20 AdamW steps of the Trainer within 1e-4 of the distance moved against
 *     a PyTorch loop, and 4 replicas giving 1 replica's parameters up to rounding.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { readSafetensors, toFloat32 } from '../../lib/io/index.js';
import { type EncoderInputs, type HostParam, type ModelParams, type ModelSpec, crossEntropyLoss, headParamShapes, initModelParams, modelForward, modelSpec, numLabelsOf } from '../../lib/models/index.js';
import { type LoadedModel, loadModelDir, saveModelDir } from '../../lib/pretrained/index.js';
import type { DeviceArray, Runtime } from '../../lib/runtime/index.js';
import { jit, ops, valueAndGrad, type Tensor } from '../../lib/trace/index.js';
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
   * Also run {@link tokenHeadParity} (two more Python runs).
   */
  readonly tokenHead?: boolean;
}

/** A batch as the Python side takes it (rows of ids); packed rows add segment and position ids (our side only). */
export interface Batch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  segment_ids?: number[][];
  position_ids?: number[][];
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
    // row 0 holds the pad id as a real token (attention 1): tokenizers can emit it (a Unigram
    // vocabulary of the tests mapped '…' to it), and HF's padding_idx rows get no gradient from it
    batch.input_ids.push(Array.from({ length: familyCase.seqLen }, (_, i) => (i < length ? (row === 0 && i === 2 ? pad : first + (next() % (vocab - first))) : pad)));
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

async function putBatch(rt: Runtime, batch: Batch): Promise<Record<string, DeviceArray>> {
  const shape = [batch.input_ids.length, batch.input_ids[0]!.length];
  const put = (rows: number[][]) => rt.put(Int32Array.from(rows.flat()), shape);
  const inputs: Record<string, DeviceArray> = { inputIds: await put(batch.input_ids), attentionMask: await put(batch.attention_mask) };
  if (batch.token_type_ids) inputs.tokenTypeIds = await put(batch.token_type_ids);
  if (batch.segment_ids) inputs.segmentIds = await put(batch.segment_ids);
  if (batch.position_ids) inputs.positionIds = await put(batch.position_ids);
  return inputs;
}

/** Our logits for host params and a batch, flat, and their shape. */
export async function ourLogits(rt: Runtime, spec: ModelSpec, params: ModelParams<HostParam>, batch: Batch, computeDtype: 'f32' | 'bf16' = 'f32'): Promise<Float32Array> {
  const forward = jit((p: Record<string, Tensor>, inputs: Record<string, Tensor>) => modelForward(spec, p, inputs as never, { train: false, computeDtype }), { runtime: rt });
  const out = (await forward(await putParams(rt, params), await putBatch(rt, batch))) as DeviceArray;
  forward.dispose();
  return (await out.toHost()) as Float32Array;
}

/** Our encoder's sequence output [B, S, H] for rows of token ids (and masks, ...), flat. */
export async function ourSequence(rt: Runtime, spec: ModelSpec, params: ModelParams<HostParam>, rows: Record<string, number[][]>): Promise<Float32Array> {
  const encode = jit((p: Record<string, Tensor>, inputs: Record<string, Tensor>) => spec.family.encode(spec.config, p, inputs as unknown as EncoderInputs, { train: false }).sequence, { runtime: rt });
  const shape = [rows.inputIds!.length, rows.inputIds![0]!.length];
  const inputs = Object.fromEntries(await Promise.all(Object.entries(rows).map(async ([name, values]) => [name, await rt.put(Int32Array.from(values.flat()), shape)] as const)));
  const out = (await encode(await putParams(rt, params), inputs)) as DeviceArray;
  encode.dispose();
  return (await out.toHost()) as Float32Array;
}

/**
 * Asserts that our gradients `grads` (by our names) match transformers' (DIR/grads.safetensors,
 * by HF names) within 1e-4 relative to each tensor's largest value. Async.
 */
async function compareGradients(t: Test, spec: ModelSpec, dir: string, grads: Record<string, DeviceArray>): Promise<void> {
  const expected = (await readSafetensors(path.join(dir, 'grads.safetensors'))).tensors;
  const scale = Math.max(...[...expected.values()].map((g) => Math.max(...Array.from(toFloat32(g), Math.abs))));
  let worst = 0;
  let worstName = '';
  for (const [hfName, tensor] of expected) {
    const name = spec.family.normalizeName(hfName) ?? hfName;
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
    await compareGradients(t, loaded.spec, dir, grads);
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


  await t.test(`${familyCase.name}: bf16 runs, near f32`, async (t) => {
    const logits = await ourLogits(rt, loaded.spec, loaded.params, batch, 'bf16');
    t.ok(logits.every(Number.isFinite), 'finite');
    const diff = relativeDiff(logits, reference.logits.flat());
    t.ok(diff < 0.1, `bf16 vs f32 logits: ${diff.toExponential(2)} (bf16 has 8 bits of mantissa)`);
  });

  await packedRowParity(t, rt, familyCase, loaded);
  await mlpHeadRoundTrip(t, rt, familyCase, loaded);
  if (familyCase.tokenHead) await tokenHeadParity(t, rt, familyCase);
}

/** The loaded encoder with a fresh head of `head` (seeded), as a spec and parameters. */
function withHead(loaded: LoadedModel, head: string, seed: number): { spec: ModelSpec; params: ModelParams<HostParam> } {
  const spec = modelSpec(loaded.spec.family, loaded.spec.config, head);
  const encoder = Object.fromEntries([...spec.family.paramShapes(spec.config).keys()].map((name) => [name, loaded.params[name]!]));
  return { spec, params: { ...encoder, ...initModelParams(spec, seed, [...headParamShapes(spec).keys()]) } };
}

/**
 * Packed rows: the two shortest examples of the case's batch packed into one row (segmentIds 1
 * and 2, positionIds restarting at 0) give every real token the same logits of a token head on
 * the loaded encoder as each example alone (within 1e-5); the same row without segments and
 * positions does not (so the check can fail). Async.
 */
export async function packedRowParity(t: Test, rt: Runtime, familyCase: FamilyCase, loaded: LoadedModel): Promise<void> {
  await t.test(`${familyCase.name}: a packed row gives each example the logits it has alone`, async (t) => {
    const pad = (familyCase.config.pad_token_id as number | undefined) ?? 0;
    const batch = makeBatch(familyCase, pad);
    const [a, b] = familyCase.lengths.map((length, row) => ({ length, row })).sort((x, y) => x.length - y.length);
    if (!a || !b || a.length + b.length > familyCase.seqLen) {
      t.fail(`the case needs two rows whose lengths fit together in seqLen ${familyCase.seqLen}`);
      return;
    }
    const { spec, params } = withHead(loaded, 'token', 3);
    const fill = (n: number, value: number) => Array.from({ length: n }, () => value);
    const rest = familyCase.seqLen - a.length - b.length;
    const real = (rows: number[][], example: { row: number; length: number }) => rows[example.row]!.slice(0, example.length);
    const alone: Batch = { input_ids: [batch.input_ids[a.row]!, batch.input_ids[b.row]!], attention_mask: [batch.attention_mask[a.row]!, batch.attention_mask[b.row]!] };
    const packed: Batch = {
      input_ids: [[...real(batch.input_ids, a), ...real(batch.input_ids, b), ...fill(rest, pad)]],
      attention_mask: [[...fill(a.length + b.length, 1), ...fill(rest, 0)]],
      segment_ids: [[...fill(a.length, 1), ...fill(b.length, 2), ...fill(rest, 0)]],
      position_ids: [[...Array.from({ length: a.length }, (_, i) => i), ...Array.from({ length: b.length }, (_, i) => i), ...fill(rest, 0)]],
    };
    if (batch.token_type_ids) {
      alone.token_type_ids = [batch.token_type_ids[a.row]!, batch.token_type_ids[b.row]!];
      packed.token_type_ids = [[...real(batch.token_type_ids, a), ...real(batch.token_type_ids, b), ...fill(rest, 0)]];
    }
    const labels = numLabelsOf(spec.config);
    const row = (logits: Float32Array, r: number, from: number, count: number) => logits.slice((r * familyCase.seqLen + from) * labels, (r * familyCase.seqLen + from + count) * labels);
    const aloneLogits = await ourLogits(rt, spec, params, alone);
    const want = Float32Array.from([...row(aloneLogits, 0, 0, a.length), ...row(aloneLogits, 1, 0, b.length)]);
    const packedLogits = await ourLogits(rt, spec, params, packed);
    const diff = relativeDiff(row(packedLogits, 0, 0, a.length + b.length), want);
    t.ok(diff <= 1e-5, `max relative difference, packed vs alone: ${diff.toExponential(2)} (bound 1e-5)`);
    const unpacked: Batch = { input_ids: packed.input_ids, attention_mask: packed.attention_mask, token_type_ids: packed.token_type_ids };
    const mixed = relativeDiff(row(await ourLogits(rt, spec, params, unpacked), 0, 0, a.length + b.length), want);
    t.ok(mixed > 1e-3, `without segments and positions the examples mix: ${mixed.toExponential(2)}`);
  });
}

/**
 * The token head against transformers' <Family>ForTokenClassification built at test time:
 * the directory loads with `head: 'token'` using every tensor, logits within 1e-5, the loss
 * over real tokens and every gradient within 1e-4, and our saved directory loads in
 * AutoModelForTokenClassification as the family's class with the same logits (1e-4). Async.
 */
export async function tokenHeadParity(t: Test, rt: Runtime, familyCase: FamilyCase): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), `pjrt-bert-${familyCase.name}-token-`));
  const dir = path.join(work, 'reference');
  const batch = makeBatch(familyCase, (familyCase.config.pad_token_id as number | undefined) ?? 0);
  const labelCount = (familyCase.config.num_labels as number | undefined) ?? 2;
  // HF's CrossEntropyLoss ignores -100: the padding; our loss weighs it 0 instead.
  const labels = batch.attention_mask.map((row, r) => row.map((real, i) => (real ? (r + i) % labelCount : -100)));
  const reference = await runPythonJson<{ logits: number[][][]; loss: number; class: string }>('family_reference.py', ['random', dir], {
    model_type: familyCase.modelType,
    config: familyCase.config,
    seed: 11,
    task: 'token',
    labels,
    ...batch,
  });
  const want = reference.logits.flat(2);
  const loaded = await loadModelDir(dir, { head: 'token' });

  await t.test(`${familyCase.name}: token head: loads with every tensor used, logits, loss and gradients match transformers`, async (t) => {
    // HF's token classes may lack a part the family marks optional (BERT's pooler): fresh is right then.
    const optional = new Set(loaded.spec.family.optionalParams(loaded.spec.config));
    t.same([loaded.initialized.filter((name) => !optional.has(name)), loaded.unused], [[], []], 'nothing but optional parameters initialised fresh, every tensor used');
    const diff = relativeDiff(await ourLogits(rt, loaded.spec, loaded.params, batch), want);
    t.ok(diff <= 1e-5, `max relative logit difference ${diff.toExponential(2)} (bound 1e-5)`);
    const [rows, seqLen] = [batch.input_ids.length, familyCase.seqLen];
    const step = jit(
      valueAndGrad((p: Record<string, Tensor>, inputs: Record<string, Tensor>, y: Tensor, weights: Tensor) => {
        const logits = modelForward(loaded.spec, p, inputs as never, { train: false }); // [B, S, C]
        return crossEntropyLoss(ops.reshape(logits, [rows * seqLen, labelCount]), y, weights);
      }),
      { runtime: rt },
    );
    const flat = labels.flat();
    const [loss, grads] = (await step(
      await putParams(rt, loaded.params),
      await putBatch(rt, batch),
      await rt.put(Int32Array.from(flat, (label) => Math.max(label, 0)), [flat.length]),
      await rt.put(Float32Array.from(batch.attention_mask.flat()), [flat.length]),
    )) as [DeviceArray, Record<string, DeviceArray>];
    step.dispose();
    const ourLoss = ((await loss.toHost()) as Float32Array)[0]!;
    t.ok(Math.abs(ourLoss - reference.loss) <= 1e-5 * Math.abs(reference.loss), `loss ${ourLoss} vs ${reference.loss}`);
    await compareGradients(t, loaded.spec, dir, grads);
  });

  await t.test(`${familyCase.name}: token head: saved by us, AutoModelForTokenClassification loads it with the same logits`, async (t) => {
    const saved = path.join(work, 'saved');
    await saveModelDir(saved, loaded.spec, loaded.params, { writeTokenizer: async () => undefined });
    const back = await runPythonJson<{ class: string; logits: number[][][]; missing: string[]; unexpected: string[]; mismatched: string[] }>('family_reference.py', ['logits', saved], { task: 'token', ...batch });
    t.equal(back.class, loaded.spec.family.architectures.tokenClassification);
    t.same([back.missing, back.unexpected, back.mismatched], [[], [], []], 'nothing missing, unexpected or mismatched');
    const diff = relativeDiff(back.logits.flat(2), want);
    t.ok(diff <= 1e-4, `max relative logit difference ${diff.toExponential(2)} (bound 1e-4)`);
  });
}

/**
 * Our `mlp:N` head on the family (it has no HF class): on the loaded encoder it gives finite
 * logits of the right shape that depend on the head's parameters, and a saved directory loads
 * back with the same head, nothing initialised fresh, and the same logits. Async.
 */
export async function mlpHeadRoundTrip(t: Test, rt: Runtime, familyCase: FamilyCase, loaded: LoadedModel): Promise<void> {
  await t.test(`${familyCase.name}: mlp:N head runs, saves and loads back`, async (t) => {
    const batch = makeBatch(familyCase, (familyCase.config.pad_token_id as number | undefined) ?? 0);
    const { spec, params } = withHead(loaded, 'mlp:8', 5);
    const logits = await ourLogits(rt, spec, params, batch);
    t.equal(logits.length, familyCase.lengths.length * numLabelsOf(spec.config), 'one row of logits per example');
    t.ok(logits.every(Number.isFinite), 'finite');
    const other = await ourLogits(rt, spec, { ...params, ...initModelParams(spec, 6, [...headParamShapes(spec).keys()]) }, batch);
    t.ok(relativeDiff(other, logits) > 1e-3, 'another head gives other logits');
    const saved = await mkdtemp(path.join(os.tmpdir(), `pjrt-bert-${familyCase.name}-mlp-`));
    await saveModelDir(saved, spec, params, { writeTokenizer: async () => undefined });
    const back = await loadModelDir(saved);
    t.same([back.spec.head, back.initialized, back.unused], [spec.head, [], []], 'the same head, every tensor used');
    const diff = relativeDiff(await ourLogits(rt, back.spec, back.params, batch), logits);
    t.ok(diff <= 1e-6, `reloaded logits differ by ${diff.toExponential(2)}`);
  });
}
