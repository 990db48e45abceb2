/**
 * The real serving engine (lib/serve/model-engine.ts) behind the HTTP server, on small saved
 * models, loopback only: /predict answers what `Predictor` (the `predict` command's path)
 * answers for singles, pairs, batches and truncated inputs; hundreds of concurrent requests over
 * two replicas, each answered with its own result and no compile after warm-up; regression and
 * multi-label directories; a token-classification directory (tokenizer.json, sub-words) answering
 * per-word logits equal to the model's at each word's first sub-token, with offsets into the
 * text. The `pjrt-bert serve` command is in serve-cli.test.ts.
 */
import path from 'node:path';
import t, { type Test } from 'tap';

import { modelForward } from '../lib/models/index.js';
import { loadModelDir } from '../lib/pretrained/index.js';
import { type EngineOutput, type RunOptions, type SequenceOutput, type ServeEngine, type TokensOutput } from '../lib/serve/engine.js';
import { ModelEngine, type ModelEncoded, bucketSizes, defaultBatchBuckets, defaultLengthBuckets, layoutBatch, servedShapes } from '../lib/serve/model-engine.js';
import { softmax, sigmoid } from '../lib/serve/responses.js';
import { putParams, disposeAll } from '../lib/train/model-state.js';
import { bucketFor } from '../lib/train/padding.js';
import { Predictor } from '../lib/train/predictor.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import { type Tensor, jit } from '../lib/trace/index.js';
import { openTestRuntime } from './helpers/runtime.js';
import { predict, scrape, sampleValue, startServer } from './helpers/serve-http.js';
import { centerHead, logitRows, modelsFolder, saveServeModel } from './helpers/serve-models.js';

const rt = await openTestRuntime();
const folder = modelsFolder();
const demo = generateDemoDataset(120, 4);
const classifierDir = await saveServeModel(path.join(folder, 'sentiment'), { vocab: demo.vocab, labels: ['negative', 'neutral', 'positive'] });
await centerHead(classifierDir, rt, demo.texts);

/** The classifier served on 2 replicas, batches of up to 8, buckets 1 and 8 x 16 and 24 tokens. */
const engine = await ModelEngine.open(classifierDir, { replicas: 2, maxBatchSize: 8, batchBuckets: [1] });
t.teardown(() => engine.dispose());
await engine.warmup();
const compiledAtWarmup = engine.compileCount;
const predictor = await Predictor.open(classifierDir, { runtime: rt, batchSize: 8 });
t.teardown(() => predictor.dispose());

type Scored = { label: string; score: number };
type Input = { text: string; pair?: string };

const key = (input: Input) => `${input.text}\u0001${input.pair ?? ''}`;
const expected = new Map<string, number[]>();

/** The probabilities of Predictor's logits (predict's path) for `inputs` (singles and pairs apart), kept in `expected`. */
async function expect(inputs: readonly Input[]): Promise<void> {
  const singles = inputs.filter((input) => input.pair === undefined).map((input) => input.text);
  const pairs = inputs.filter((input) => input.pair !== undefined);
  const classes = predictor.labels.length;
  for (const [i, row] of logitRows(await predictor.logits(singles), classes).entries()) expected.set(key({ text: singles[i]! }), softmax(row));
  const paired = await predictor.logits(pairs.map((p) => p.text), pairs.map((p) => p.pair!));
  for (const [i, row] of logitRows(paired, classes).entries()) expected.set(key(pairs[i]!), softmax(row));
}

/** Whether `got` is Predictor's answer for `input`: sorted by score, the same labels, scores within 1e-4. */
function matches(got: unknown, input: Input, labels: readonly string[]): string | undefined {
  const want = expected.get(key(input));
  if (!want) return `no expectation for ${JSON.stringify(input)}`;
  const list = got as Scored[];
  if (!Array.isArray(list) || list.length !== labels.length) return `not ${labels.length} scores: ${JSON.stringify(got)}`;
  const best = Math.max(...want);
  if (!(want[labels.indexOf(list[0]!.label)]! > best - 1e-4)) return `top label ${list[0]!.label}, predict says ${labels[want.indexOf(best)]}`;
  for (let i = 1; i < list.length; i++) if (list[i]!.score > list[i - 1]!.score) return `not sorted: ${JSON.stringify(list)}`;
  for (const { label, score } of list) {
    const reference = want[labels.indexOf(label)]!;
    if (!(Math.abs(score - reference) < 1e-4)) return `${label}: ${score}, predict says ${reference}`;
  }
  return undefined;
}

const singles: Input[] = demo.texts.slice(0, 60).map((text) => ({ text }));
const pairs: Input[] = demo.texts.slice(60, 90).map((text, i) => ({ text, pair: demo.texts[90 + i]! }));
await expect([...singles, ...pairs]);
const distinct = (labels: string[]) => new Set(labels).size;

t.test('the bucket sizes', async (t) => {
  t.same(defaultBatchBuckets(32), [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 18, 22, 27, 32]);
  t.same(defaultBatchBuckets(6), [1, 2, 3, 4, 5, 6]);
  t.same(defaultBatchBuckets(1), [1]);
  t.same(defaultLengthBuckets(128), [16, 32, 48, 64, 80, 96, 112, 128]);
  t.same(defaultLengthBuckets(512), [16, 32, 48, 64, 80, 96, 112, 128, 192, 288, 432, 512]);
  t.same(defaultLengthBuckets(24), [16, 24]);
  t.same(defaultLengthBuckets(10), [10]);
  t.same(bucketSizes([8, 2, 8], 16, 1, 'batch bucket', defaultBatchBuckets), [2, 8, 16], 'sorted, deduplicated, the maximum added');
  t.throws(() => bucketSizes([0], 16, 1, 'batch bucket', defaultBatchBuckets), /batch bucket 0 must be an integer from 1 to 16/);
  t.throws(() => bucketSizes([32], 16, 1, 'batch bucket', defaultBatchBuckets), /batch bucket 32 must be an integer from 1 to 16/);
  t.equal(bucketFor(3, [1, 4, 16]), 4);
  t.equal(bucketFor(16, [1, 4, 16]), 16);
  t.equal(bucketFor(17, [1, 4, 16]), 16, 'none holds it: the largest');
  t.same(engine.buckets, { batch: [1, 8], length: [16, 24] });
  const shapes = { batch: [1, 2, 4], length: [16, 24, 32] };
  t.same(servedShapes(shapes), [{ rows: 1, length: 16 }, { rows: 1, length: 24 }, { rows: 1, length: 32 }, { rows: 2, length: 32 }, { rows: 4, length: 32 }], 'one row of each length, then full rows');
  const layout = (lengths: number[]) => {
    const { rows, length, starts } = layoutBatch(lengths, shapes);
    return { rows, length, starts: Array.from(starts) };
  };
  t.same(layout([5]), { rows: 1, length: 16, starts: [0] }, 'one short input: one short row');
  t.same(layout([20]), { rows: 1, length: 24, starts: [0] });
  t.same(layout([10, 10, 10]), { rows: 1, length: 32, starts: [0, 10, 20] }, 'three inputs of 10 share a row of 32');
  t.same(layout([8, 8]), { rows: 1, length: 16, starts: [0, 8] }, 'two of 8 fill one row of 16');
  t.same(layout([20, 3, 12]), { rows: 2, length: 32, starts: [0, 32, 20] }, 'longest first, each into the first row with room: 20 + 12, then 3');
  t.same(layout([30, 30, 30]), { rows: 4, length: 32, starts: [0, 32, 64] }, 'three full rows run in the 4-row program');
  t.throws(() => layoutBatch([40], shapes), /no compiled shape holds 1 inputs of up to 40 tokens \(one row of 16, 24, 32 tokens, or 1, 2, 4 rows of 32\)/);
  t.throws(() => layoutBatch(new Array(5).fill(30), shapes), /no compiled shape holds 5 inputs/, 'more rows than the largest row count');
  t.equal(compiledAtWarmup, 3 * 2, 'one row of 16 and of 24, 8 rows of 24, on both replicas');
  t.match(engine.info, { family: 'bert', task: 'classification', labels: ['negative', 'neutral', 'positive'], maxInputLength: 24, maxBatchSize: 8, replicas: 2, modelId: 'sentiment' });
});

t.test('/predict answers what predict answers: singles, pairs, batches, truncation', async (t) => {
  const { url } = await startServer(t, engine);
  const labels = engine.info.labels;
  for (const input of [singles[0]!, singles[1]!, { text: '' }]) {
    if (input.text === '') await expect([input]);
    const answer = await predict(url, { inputs: input.text });
    t.equal(answer.status, 200, answer.text);
    t.equal(matches(answer.json(), input, labels), undefined, `single ${JSON.stringify(input.text)}`);
  }
  const pair = await predict(url, { inputs: [pairs[0]!.text, pairs[0]!.pair] });
  t.equal(matches(pair.json(), pairs[0]!, labels), undefined, 'a pair');
  const mixed = [singles[2]!, pairs[1]!, singles[3]!, pairs[2]!, singles[4]!];
  const batch = await predict(url, { inputs: mixed.map((input) => (input.pair === undefined ? [input.text] : [input.text, input.pair])) });
  t.equal(batch.status, 200, batch.text);
  (batch.json() as unknown[]).forEach((result, i) => t.equal(matches(result, mixed[i]!, labels), undefined, `batch item ${i}`));
  const top = new Set(singles.map((input) => labels[expected.get(key(input))!.indexOf(Math.max(...expected.get(key(input))!))]!));
  t.equal(top.size, 3, `the model's answers differ between texts (${[...top].join(', ')}), so equal answers mean something`);

  const raw = await predict(url, { inputs: singles[5]!.text, raw_scores: true });
  const logits = Array.from(await predictor.logits([singles[5]!.text]));
  for (const { label, score } of raw.json() as Scored[]) t.ok(Math.abs(score - logits[labels.indexOf(label)]!) < 1e-4, `raw score of ${label} is the logit`);

  const long: Input = { text: Array.from({ length: 40 }, (_, i) => demo.texts[i]!.split(' ')[i % 3]).join(' ') };
  const longPair: Input = { text: demo.texts[7]!, pair: `${demo.texts[8]} ${demo.texts[9]} ${demo.texts[10]} ${demo.texts[11]}` };
  await expect([long, longPair]);
  const refused = await predict(url, { inputs: long.text });
  t.equal(refused.status, 413, 'too long without truncate');
  t.match(refused.json(), { error: /42 tokens long, over the model's limit of 24/ });
  const cut = await predict(url, { inputs: [[long.text], [longPair.text, longPair.pair!]], truncate: true });
  t.equal(cut.status, 200, cut.text);
  const [cutSingle, cutPair] = cut.json() as unknown[];
  t.equal(matches(cutSingle, long, labels), undefined, 'truncated as predict truncates at its --seq-len');
  t.equal(matches(cutPair, longPair, labels), undefined, 'a pair truncated longest first, as predict does');
  t.equal(engine.compileCount, compiledAtWarmup, 'no request compiled anything');
});

/** The engine, recording which replica ran each batch and how many inputs it had. */
function recording(inner: ModelEngine): { engine: ServeEngine<ModelEncoded>; batches: { replica: number; size: number }[] } {
  const batches: { replica: number; size: number }[] = [];
  return {
    batches,
    engine: {
      info: inner.info,
      get compileCount() {
        return inner.compileCount;
      },
      encode: (input) => inner.encode(input),
      warmup: () => inner.warmup(),
      run: (inputs: readonly ModelEncoded[], options: RunOptions): Promise<EngineOutput[]> => {
        batches.push({ replica: options.replica, size: inputs.length });
        return inner.run(inputs, options);
      },
    },
  };
}

t.test('hundreds of concurrent requests from many clients over two replicas: each gets its own answer', async (t) => {
  const { engine: spy, batches } = recording(engine);
  const { url } = await startServer(t, spy, { maxWaitMs: 20 });
  const labels = engine.info.labels;
  const clients = 40;
  const perClient = 10;
  const failures: string[] = [];
  let answered = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let r = 0; r < perClient; r++) {
        const n = (c * 7 + r * 13) % 9;
        if (n < 6) {
          const input = n < 4 ? singles[(c * perClient + r) % singles.length]! : pairs[(c + r * 3) % pairs.length]!;
          const answer = await predict(url, { inputs: input.pair === undefined ? input.text : [input.text, input.pair] });
          const problem = answer.status === 200 ? matches(answer.json(), input, labels) : `status ${answer.status}: ${answer.text}`;
          if (problem) failures.push(`client ${c} request ${r}: ${problem}`);
        } else {
          const items = Array.from({ length: n - 3 }, (_, i) => (i % 2 ? pairs[(c + r + i) % pairs.length]! : singles[(c * 3 + r + i) % singles.length]!));
          const answer = await predict(url, { inputs: items.map((input) => (input.pair === undefined ? [input.text] : [input.text, input.pair])) });
          if (answer.status !== 200) failures.push(`client ${c} request ${r}: status ${answer.status}: ${answer.text}`);
          else (answer.json() as unknown[]).forEach((result, i) => {
            const problem = matches(result, items[i]!, labels);
            if (problem) failures.push(`client ${c} request ${r} item ${i}: ${problem}`);
          });
        }
        answered++;
      }
    }),
  );
  t.equal(answered, clients * perClient);
  t.same(failures.slice(0, 5), [], `every answer is its own input's (${failures.length} wrong)`);
  t.equal(engine.compileCount, compiledAtWarmup, 'no request compiled anything');
  t.same(distinct(batches.map((b) => String(b.replica))), 2, 'batches ran on both replicas');
  t.ok(batches.some((b) => b.size > 1), `inputs of concurrent requests ran together (largest batch ${Math.max(...batches.map((b) => b.size))})`);
  t.ok(batches.every((b) => b.size <= 8), 'no batch over the largest bucket');
  const metrics = await scrape(url);
  t.equal(sampleValue(metrics, 'pjrt_bert_compiled_programs'), compiledAtWarmup);
  t.equal(sampleValue(metrics, 'pjrt_bert_batch_size_count'), batches.length);
});

t.test('run checks its arguments; a replica runs alone what the server batches', async (t) => {
  const encoded = await Promise.all(singles.slice(0, 3).map((input) => engine.encode(input)));
  t.equal(encoded[0]!.tokenCount, singles[0]!.text.split(' ').length + 2, 'tokens with [CLS] and [SEP]');
  await t.rejects(engine.run(encoded, { replica: 2 }), /replica 2 is not one of 0\.\.1/);
  await t.rejects(engine.run(Array.from({ length: 9 }, () => encoded[0]!), { replica: 0 }), /9 inputs are more than the largest batch \(8\)/);
  const [one, two] = [await engine.run(encoded, { replica: 0 }), await engine.run(encoded, { replica: 1 })];
  for (let i = 0; i < 3; i++) {
    const a = Array.from((one[i] as SequenceOutput).logits);
    const b = Array.from((two[i] as SequenceOutput).logits);
    t.ok(a.every((z, k) => Math.abs(z - b[k]!) < 1e-6), `input ${i}: both replicas give the same logits`);
  }
  t.same(await engine.run([], { replica: 0 }), []);
  const cold = await ModelEngine.open(classifierDir, { runtime: rt, maxBatchSize: 2, batchBuckets: [2], lengthBuckets: [24] });
  t.teardown(() => cold.dispose());
  await t.rejects(cold.run(encoded.slice(0, 1), { replica: 0 }), /before warmup\(\) finished/);
  t.equal(cold.compileCount, 0, 'open compiles nothing');
  await t.rejects(ModelEngine.open(classifierDir, { runtime: rt, seqLen: 65 }), /from 4 \(special tokens and one more\) to the model's 64 positions, got 65/);
  await t.rejects(ModelEngine.open(classifierDir, { runtime: rt, replicas: 9 }), /9 replicas need 9 devices, but the cpu plugin has 8/);
  await t.rejects(ModelEngine.open(classifierDir, { runtime: rt, lengthBuckets: [3, 16] }), /length bucket 3 must be an integer from 4 to 24/);
  const twoOutputs = await saveServeModel(path.join(folder, 'bad-regression'), { vocab: demo.vocab, labels: ['a', 'b'], problemType: 'regression' });
  await t.rejects(ModelEngine.open(twoOutputs, { runtime: rt }), /bad-regression\/config\.json: problem_type "regression" needs one output \(num_labels 1\), but the model has 2/);
});

t.test('regression and multi-label directories answer the raw output and a sigmoid per label', async (t) => {
  const regressionDir = await saveServeModel(path.join(folder, 'similarity'), { vocab: demo.vocab, labels: ['similarity'], problemType: 'regression' });
  const multiDir = await saveServeModel(path.join(folder, 'topics'), { vocab: demo.vocab, labels: ['price', 'quality', 'service'], problemType: 'multi_label_classification' });
  for (const [dir, task] of [[regressionDir, 'regression'], [multiDir, 'multi-label']] as const) {
    using served = await ModelEngine.open(dir, { runtime: rt, maxBatchSize: 4, batchBuckets: [4], lengthBuckets: [24] });
    t.equal(served.info.task, task);
    const { url } = await startServer(t, served);
    using reference = await Predictor.open(dir, { runtime: rt, batchSize: 4 });
    const texts = demo.texts.slice(0, 3);
    const logits = logitRows(await reference.logits(texts), served.info.labels.length);
    const answer = await predict(url, { inputs: texts.map((text) => [text]) });
    t.equal(answer.status, 200, answer.text);
    (answer.json() as Scored[][]).forEach((result, i) => {
      const labels = served.info.labels;
      t.equal(result.length, labels.length);
      for (const { label, score } of result) {
        const z = logits[i]![labels.indexOf(label)]!;
        t.ok(Math.abs(score - (task === 'regression' ? z : sigmoid(z))) < 1e-4, `${task} text ${i} ${label}: ${score}`);
      }
    });
    const info = (await (await fetch(`${url}/info`)).json()) as { task: string; labels: string[] };
    t.match(info, { task, labels: served.info.labels });
  }
});

const TOKEN_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'ada', 'love', '##lace', 'visited', 'lon', '##don', 'in', 'june', ',', '.', 'and', 'paris', 'met', 'bob'];
const TOKEN_LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

/** The model's logits [n, labels] for one encoded text, run alone and unpadded. */
async function referenceLogits(dir: string, ids: number[], types: number[]): Promise<Float32Array> {
  const loaded = await loadModelDir(dir);
  const params = await putParams(rt, loaded.params, 0);
  const forward = jit((p: Record<string, Tensor>, x: { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor }) => modelForward(loaded.spec, p, x, { train: false }), { runtime: rt });
  try {
    const put = (values: number[]) => rt.put(Int32Array.from(values), [1, values.length]);
    const x = { inputIds: await put(ids), attentionMask: await put(ids.map(() => 1)), tokenTypeIds: await put(types) };
    const out = await forward(params, x);
    const values = (await out.toHost()) as Float32Array;
    out.dispose();
    for (const array of Object.values(x)) array.dispose();
    return values;
  } finally {
    forward.dispose();
    disposeAll(params);
  }
}

function close(t: Test, got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  t.ok(got.length === want.length && Array.from(got).every((z, k) => Math.abs(z - want[k]!) < 1e-4), `${what}: ${Array.from(got)} vs ${Array.from(want)}`);
}

t.test('token classification: per-word logits at the first sub-token, offsets into the text', async (t) => {
  const dir = await saveServeModel(path.join(folder, 'ner'), { vocab: TOKEN_VOCAB, labels: TOKEN_LABELS, head: 'token', tokenizerJson: true, seqLen: 16, seed: 3 });
  using tagger = await ModelEngine.open(dir, { runtime: rt, maxBatchSize: 4, batchBuckets: [4], lengthBuckets: [16] });
  t.equal(tagger.info.task, 'token-classification');
  t.equal(tagger.tokenizer.constructor.name, 'HfTokenizer', 'tokenizer.json, encoded asynchronously');
  await tagger.warmup();

  const text = 'Ada Lovelace visited  London, in June.';
  const encoded = await tagger.encode({ text });
  const ids = encoded.encoding.inputIds;
  t.same(tagger.tokenizer.convertIdsToTokens(ids), ['[CLS]', 'ada', 'love', '##lace', 'visited', 'lon', '##don', ',', 'in', 'june', '.', '[SEP]']);
  const [output] = (await tagger.run([encoded, await tagger.encode({ text: 'bob' })], { replica: 0 })) as TokensOutput[];
  t.same(
    output!.tokens.map(({ token, index, start, end }) => ({ token, index, start, end })),
    [
      { token: 'Ada', index: 1, start: 0, end: 3 },
      { token: 'Lovelace', index: 2, start: 4, end: 12 },
      { token: 'visited', index: 4, start: 13, end: 20 },
      { token: 'London', index: 5, start: 22, end: 28 },
      { token: ',', index: 7, start: 28, end: 29 },
      { token: 'in', index: 8, start: 30, end: 32 },
      { token: 'June', index: 9, start: 33, end: 37 },
      { token: '.', index: 10, start: 37, end: 38 },
    ],
    'one output per word, at its first sub-token, spanning the whole word',
  );
  const reference = await referenceLogits(dir, ids, encoded.encoding.tokenTypeIds);
  const labels = TOKEN_LABELS.length;
  for (const token of output!.tokens) close(t, token.logits, reference.subarray(token.index * labels, (token.index + 1) * labels), `logits of '${token.token}'`);

  const { url } = await startServer(t, tagger);
  const emoji = '🙂 Ada Lovelace met Bob in Paris and London.';
  const perToken = await predict(url, { inputs: emoji, aggregation_strategy: 'none' });
  t.equal(perToken.status, 200, perToken.text);
  const entities = perToken.json() as { entity: string; score: number; index: number; word: string; start: number; end: number }[];
  const emojiEncoded = await tagger.encode({ text: emoji });
  const emojiReference = await referenceLogits(dir, emojiEncoded.encoding.inputIds, emojiEncoded.encoding.tokenTypeIds);
  const codePoints = [...emoji];
  t.ok(entities.length > 0, `the random head tags some words (${entities.map((e) => `${e.word}:${e.entity}`).join(' ')})`);
  for (const entity of entities) {
    t.equal(codePoints.slice(entity.start, entity.end).join(''), entity.word, `'${entity.word}' is at code points ${entity.start}..${entity.end} of the text`);
    const probabilities = softmax(emojiReference.subarray(entity.index * labels, (entity.index + 1) * labels));
    const best = probabilities.indexOf(Math.max(...probabilities));
    t.equal(entity.entity, TOKEN_LABELS[best], `'${entity.word}' tagged as the model tags its first sub-token`);
    t.ok(Math.abs(entity.score - probabilities[best]!) < 1e-4, `'${entity.word}' score`);
  }
  const grouped = await predict(url, { inputs: emoji });
  for (const group of grouped.json() as { word: string; start: number; end: number }[]) t.equal(codePoints.slice(group.start, group.end).join(''), group.word, `group '${group.word}'`);

  const long = 'Ada Lovelace met Bob in Paris and London in June and Bob met Ada in Paris.';
  t.equal((await predict(url, { inputs: long })).status, 413);
  const cut = await tagger.run([await tagger.encode({ text: long })], { replica: 0 });
  const kept = (cut[0] as TokensOutput).tokens;
  t.equal(kept.at(-1)!.index, 14, 'truncated to 16 tokens: 14 word pieces between [CLS] and [SEP]');
  t.equal(kept.at(-1)!.token, 'Bob');
  const truncated = await tagger.tokenizer.encodeWithOffsets(long, { maxLength: 16 });
  const truncatedReference = await referenceLogits(dir, truncated.inputIds, truncated.tokenTypeIds);
  for (const token of kept) close(t, token.logits, truncatedReference.subarray(token.index * labels, (token.index + 1) * labels), `truncated '${token.token}'`);
  t.equal((await predict(url, { inputs: ['a', 'b'] })).status, 422, 'a pair is refused');
});
