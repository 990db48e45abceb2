/**
 * The server over a real model: a small adapter turns today's `BertPredictor` (one program per
 * batch size and sequence length) into a `ServeEngine`, to show the interface fits a compiled
 * model and that `/predict` answers what `predict` answers (same labels, scores within 1e-4),
 * with no compile after warm-up. The real engine (bucket shapes, replicas, every family) comes
 * with the prediction redesign (issue 11) and replaces this adapter.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { BertTokenizer } from '../lib/data/index.js';
import { type BertSpec, BertPredictor, bertPresetConfig, initBertParams, saveBertModel } from '../lib/models/index.js';
import type { EncodedInput, EngineInfo, EngineOutput, ServeEngine, ServeInput } from '../lib/serve/engine.js';
import { openTestRuntime } from './helpers/runtime.js';
import { predict, sampleValue, scrape, startServer } from './helpers/serve-http.js';

interface Encoded extends EncodedInput {
  readonly input: ServeInput;
}

/** `BertPredictor` as a serve engine (one replica; singles and pairs run as separate predict calls). */
class PredictorEngine implements ServeEngine<Encoded> {
  readonly info: EngineInfo;

  constructor(readonly predictor: BertPredictor) {
    this.info = {
      modelId: 'test/tiny-bert',
      family: 'bert',
      task: 'classification',
      labels: predictor.labels,
      maxInputLength: predictor.seqLen,
      maxBatchSize: predictor.batchSize,
      replicas: 1,
    };
  }

  get compileCount(): number {
    return this.predictor.compileCount;
  }

  encode(input: ServeInput): Encoded {
    const { inputIds } = this.predictor.tokenizer.encode(input.text, input.pair, { truncation: false });
    return { tokenCount: inputIds.length, input };
  }

  async warmup(): Promise<void> {
    await this.predictor.predict(['']);
  }

  async run(inputs: readonly Encoded[]): Promise<EngineOutput[]> {
    const outputs = new Array<EngineOutput>(inputs.length);
    for (const withPair of [false, true]) {
      const rows = inputs.flatMap((e, i) => ((e.input.pair !== undefined) === withPair ? [i] : []));
      if (rows.length === 0) continue;
      const texts = rows.map((i) => inputs[i]!.input.text);
      const pairs = withPair ? rows.map((i) => inputs[i]!.input.pair!) : undefined;
      const predictions = await this.predictor.predict(texts, pairs ? { pairs } : {});
      rows.forEach((i, k) => (outputs[i] = { logits: predictions[k]!.logits }));
    }
    return outputs;
  }
}

const rt = await openTestRuntime();
const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-serve-'));
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'movie', 'great', 'awful', 'the', 'was', 'very', 'not', '!', ',', '.'];
const spec: BertSpec = {
  config: { ...bertPresetConfig('tiny', { vocabSize: vocab.length, labels: ['negative', 'positive', 'neutral'] }), maxPositionEmbeddings: 32 },
  head: { kind: 'linear' },
};
await saveBertModel(path.join(work, 'model'), spec, initBertParams(spec, 5), { vocab, tokenizer: new BertTokenizer(vocab).settings });

t.test('/predict answers what predict answers, and requests compile nothing', async (t) => {
  using predictor = await BertPredictor.open(rt, path.join(work, 'model'), { seqLen: 12, batchSize: 4 });
  const engine = new PredictorEngine(predictor);
  const { url } = await startServer(t, engine, { maxWaitMs: 2 });
  t.equal(engine.compileCount, 1, 'warm-up compiled the one program');
  const texts = ['the movie was very good !', 'bad , awful', 'not great .', 'good good good', '', 'the the the', 'very bad movie', 'great !', 'was not awful'];
  const pairs: [string, string][] = [['good movie', 'bad movie'], ['not great', 'very good']];
  const singles = await Promise.all(texts.map((text) => predict(url, { inputs: text })));
  const pairAnswer = await predict(url, { inputs: pairs.map(([a, b]) => [a, b]) });
  const expected = await predictor.predict(texts);
  const expectedPairs = await predictor.predict(pairs.map((p) => p[0]), { pairs: pairs.map((p) => p[1]) });
  const check = (got: unknown, want: { label: string; probabilities: number[] }, what: string) => {
    const list = got as { label: string; score: number }[];
    t.equal(list[0]!.label, want.label, `${what}: same label`);
    const byLabel = new Map(list.map((p) => [p.label, p.score]));
    t.ok(
      predictor.labels.every((label, k) => Math.abs(byLabel.get(label)! - want.probabilities[k]!) < 1e-4),
      `${what}: scores within 1e-4 of predict's probabilities`,
    );
  };
  singles.forEach((answer, i) => {
    t.equal(answer.status, 200, answer.text);
    check(answer.json(), expected[i]!, `text ${i}`);
  });
  (pairAnswer.json() as unknown[]).forEach((got, i) => check(got, expectedPairs[i]!, `pair ${i}`));
  t.equal(engine.compileCount, 1, 'no request compiled a program');
  const long = await predict(url, { inputs: 'good '.repeat(20) });
  t.equal(long.status, 413, 'over the sequence length without truncate');
  const truncated = await predict(url, { inputs: 'good '.repeat(20), truncate: true });
  check(truncated.json(), (await predictor.predict(['good '.repeat(20)]))[0]!, 'truncated');
  const metrics = await scrape(url);
  t.ok(sampleValue(metrics, 'pjrt_bert_batch_size_count') < texts.length + 2, 'the concurrent requests were batched');
});
