/**
 * The parity suite every encoder family runs against transformers (test/reference/
 * family_reference.py), on tiny random models that transformers builds at test time:
 *   - logits of the loaded directory within 1e-5 (relative to the largest logit);
 *   - the loss and the gradient of every parameter within 1e-4;
 *   - saved by us, the directory loads in the Auto class with nothing missing or unexpected and
 *     gives the same logits (1e-4);
 *   - bf16 runs and stays near f32;
 *   - a packed row (two examples, segmentIds + positionIds) gives each example's tokens the
 *     logits they get alone (the family's token head);
 *   - with a tokenizer: 20 AdamW steps of the Trainer within 1e-4 of the distance moved against
 *     a PyTorch loop, and 4 replicas giving 1 replica's parameters up to rounding.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { readSafetensors, toFloat32 } from '../../lib/io/index.js';
import { type HostParam, type ModelParams, type ModelSpec, crossEntropyLoss, initModelParams, modelForward, modelParamShapes, parseHead } from '../../lib/models/index.js';
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
  /** `sequence` (default: AutoModelForSequenceClassification) or `token` (AutoModelForTokenClassification, labels per token). */
  readonly task?: 'sequence' | 'token';
}

/** A batch as the Python side takes it (rows of ids). */
export interface Batch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  /** Packed rows (ours only): the 1-based example of each token and its position in the example. */
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

async function putBatch(rt: Runtime, batch: Batch): Promise<Record<string, DeviceArray>> {
  const shape = [batch.input_ids.length, batch.input_ids[0]!.length];
  const put = (rows: number[][]) => rt.put(Int32Array.from(rows.flat()), shape);
  const inputs: Record<string, DeviceArray> = { inputIds: await put(batch.input_ids), attentionMask: await put(batch.attention_mask) };
  if (batch.token_type_ids) inputs.tokenTypeIds = await put(batch.token_type_ids);
  if (batch.segment_ids) inputs.segmentIds = await put(batch.segment_ids);
  if (batch.position_ids) inputs.positionIds = await put(batch.position_ids);
  return inputs;
}

/** Nested rows of numbers, flattened. */
const flatDeep = (rows: unknown[]): number[] => rows.flat(Infinity) as number[];

/**
 * Rows 1 and 2 of `batch` packed into one row (segment ids 1 and 2, positions restarting at 0),
 * and the offset of the second example. Throws when they do not fit in one row.
 */
export function packRows(batch: Batch, lengths: readonly number[]): { packed: Batch; offset: number } {
  const [a, b] = [lengths[1]!, lengths[2]!];
  const seqLen = batch.input_ids[0]!.length;
  if (a + b > seqLen) throw new RangeError(`rows 1 and 2 (${a} + ${b} tokens) do not fit in one row of ${seqLen}`);
  const row = (rows: number[][], fill: number) => [[...rows[1]!.slice(0, a), ...rows[2]!.slice(0, b), ...Array<number>(seqLen - a - b).fill(fill)]];
  const pad = batch.input_ids[1]![seqLen - 1] ?? 0;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const packed: Batch = {
    input_ids: row(batch.input_ids, pad),
    attention_mask: row(batch.attention_mask, 0),
    segment_ids: [[...Array<number>(a).fill(1), ...Array<number>(b).fill(2), ...Array<number>(seqLen - a - b).fill(0)]],
    position_ids: [[...range(a), ...range(b), ...Array<number>(seqLen - a - b).fill(0)]],
  };
  if (batch.token_type_ids) packed.token_type_ids = row(batch.token_type_ids, 0);
  return { packed, offset: a };
}

/** Our logits for host params and a batch, flat, and their shape. */
export async function ourLogits(rt: Runtime, spec: ModelSpec, params: ModelParams<HostParam>, batch: Batch, computeDtype: 'f32' | 'bf16' = 'f32'): Promise<Float32Array> {
  const forward = jit((p: Record<string, Tensor>, inputs: Record<string, Tensor>) => modelForward(spec, p, inputs as never, { train: false, computeDtype }), { runtime: rt });
  const out = (await forward(await putParams(rt, params), await putBatch(rt, batch))) as DeviceArray;
  forward.dispose();
  return (await out.toHost()) as Float32Array;
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
  const task = familyCase.task ?? 'sequence';
  const labels = familyCase.lengths.map((_, i) => (task === 'token' ? Array.from({ length: familyCase.seqLen }, (_, j) => (i + j) % labelCount) : i % labelCount));
  const reference = await runPythonJson<{ logits: unknown[]; loss: number; class: string }>('family_reference.py', ['random', dir], {
    model_type: familyCase.modelType,
    config: familyCase.config,
    seed: 7,
    task,
    labels,
    ...batch,
  });
  const referenceLogits = flatDeep(reference.logits);

  const loaded = await loadModelDir(dir, task === 'token' ? { head: 'token' } : {});
  await t.test(`${familyCase.name}: the directory loads with every tensor used`, async (t) => {
    t.equal(loaded.spec.family.modelTypes.includes(familyCase.modelType), true, `family ${loaded.spec.family.name}`);
    t.same(loaded.initialized, [], 'nothing initialised fresh');
    t.same(loaded.unused, [], 'every tensor used');
  });

  await t.test(`${familyCase.name}: logits match transformers`, async (t) => {
    const logits = await ourLogits(rt, loaded.spec, loaded.params, batch);
    const diff = relativeDiff(logits, referenceLogits);
    t.ok(diff <= 1e-5, `max relative logit difference ${diff.toExponential(2)} (bound 1e-5)`);
  });

  await t.test(`${familyCase.name}: loss and every gradient match transformers`, async (t) => {
    const step = jit(
      valueAndGrad((p: Record<string, Tensor>, inputs: Record<string, Tensor>, y: Tensor) => crossEntropyLoss(modelForward(loaded.spec, p, inputs as never, { train: false }), y)),
      { runtime: rt },
    );
    const labelShape = task === 'token' ? [labels.length, familyCase.seqLen] : [labels.length];
    const [loss, grads] = (await step(await putParams(rt, loaded.params), await putBatch(rt, batch), await rt.put(Int32Array.from(labels.flat()), labelShape))) as [DeviceArray, Record<string, DeviceArray>];
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
    const back = await runPythonJson<{ class: string; logits: unknown[]; missing: string[]; unexpected: string[]; mismatched: string[] }>('family_reference.py', ['logits', saved], { task, ...batch });
    t.equal(back.class, familyCase.architecture);
    t.same([back.missing, back.unexpected, back.mismatched], [[], [], []], 'nothing missing, unexpected or mismatched');
    const diff = relativeDiff(flatDeep(back.logits), referenceLogits);
    t.ok(diff <= 1e-4, `max relative logit difference ${diff.toExponential(2)} (bound 1e-4)`);
  });

  await t.test(`${familyCase.name}: bf16 runs, near f32`, async (t) => {
    const logits = await ourLogits(rt, loaded.spec, loaded.params, batch, 'bf16');
    t.ok(logits.every(Number.isFinite), 'finite');
    const diff = relativeDiff(logits, referenceLogits);
    t.ok(diff < 0.1, `bf16 vs f32 logits: ${diff.toExponential(2)} (bf16 has 8 bits of mantissa)`);
  });

  await t.test(`${familyCase.name}: a packed row gives each example the logits it gets alone`, async (t) => {
    // The family's token head (fresh where the directory has none) gives logits per token.
    const spec = { ...loaded.spec, head: parseHead('token', loaded.spec.family) };
    const params = { ...loaded.params };
    for (const [name, value] of Object.entries(initModelParams(spec, 1, [...modelParamShapes(spec).keys()].filter((name) => !(name in params))))) params[name] = value;
    const { packed, offset } = packRows(batch, familyCase.lengths);
    const alone = await ourLogits(rt, spec, params, batch); // [B, S, L]
    const together = await ourLogits(rt, spec, params, packed); // [1, S, L]
    const classes = alone.length / (familyCase.lengths.length * familyCase.seqLen);
    const tokens = (logits: Float32Array, row: number, start: number, count: number) => logits.subarray((row * familyCase.seqLen + start) * classes, (row * familyCase.seqLen + start + count) * classes);
    const [a, b] = [familyCase.lengths[1]!, familyCase.lengths[2]!];
    const first = relativeDiff(tokens(together, 0, 0, a), tokens(alone, 1, 0, a));
    const second = relativeDiff(tokens(together, 0, offset, b), tokens(alone, 2, 0, b));
    t.ok(first <= 1e-5, `first example: ${first.toExponential(2)} (bound 1e-5)`);
    t.ok(second <= 1e-5, `second example: ${second.toExponential(2)} (bound 1e-5)`);
  });
}
