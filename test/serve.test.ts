/**
 * The HTTP server (lib/serve) against fake engines, on loopback only: Hugging Face TEI's request
 * and response shapes for every task, the errors a client gets for bad requests, /health around
 * warm-up, /info and /metrics. Batching, backpressure, faults and shutdown are in
 * serve-batching.test.ts.
 */
import t from 'tap';

import { Server } from '../lib/serve/server.js';
import type { ServeEngine } from '../lib/serve/engine.js';
import { FakeEngine, type FakeEncoded, type Scored, expectedScores, fakeLogits, fakeTag, fakeTagLogit, scoresClose, words } from './helpers/serve-engine.js';
import { call, parsePrometheus, predict, rawExchange, sampleValue, scrape, startServer } from './helpers/serve-http.js';

t.test('classification: single, one-item list, pair and batch inputs answer in TEI shapes', async (t) => {
  const engine = new FakeEngine();
  const { url } = await startServer(t, engine);
  const labels = engine.info.labels;

  const single = await predict(url, { inputs: 'a fine movie' });
  t.equal(single.status, 200, single.text);
  t.match(single.headers.get('content-type'), /^application\/json/);
  scoresClose(t, single.json(), expectedScores(labels, fakeLogits({ text: 'a fine movie' }, 3), 'softmax'), 'single');
  t.ok(Math.abs((single.json() as Scored[]).reduce((s, p) => s + p.score, 0) - 1) < 1e-9, 'probabilities sum to 1');
  t.same(Object.keys((single.json() as Scored[])[0]!).sort(), ['label', 'score']);

  const one = await predict(url, { inputs: ['a fine movie'] });
  t.same(one.json(), single.json(), '["text"] is the same single input');

  const pair = await predict(url, { inputs: ['is it good?', 'it is good'] });
  t.equal(pair.status, 200);
  scoresClose(t, pair.json(), expectedScores(labels, fakeLogits({ text: 'is it good?', pair: 'it is good' }, 3), 'softmax'), 'pair');

  const batch = await predict(url, { inputs: [['one'], ['two', 'three'], ['four']] });
  t.equal(batch.status, 200);
  const lists = batch.json() as Scored[][];
  t.equal(lists.length, 3, 'one result list per batch item');
  scoresClose(t, lists[0], expectedScores(labels, fakeLogits({ text: 'one' }, 3), 'softmax'), 'batch[0]');
  scoresClose(t, lists[1], expectedScores(labels, fakeLogits({ text: 'two', pair: 'three' }, 3), 'softmax'), 'batch[1] (a pair)');
  scoresClose(t, lists[2], expectedScores(labels, fakeLogits({ text: 'four' }, 3), 'softmax'), 'batch[2]');
  const single1 = await predict(url, { inputs: [['alone']] });
  t.equal((single1.json() as unknown[]).length, 1, 'a batch of one is still a list of lists');
  t.ok(Array.isArray((single1.json() as unknown[])[0]));

  const raw = await predict(url, { inputs: 'a fine movie', raw_scores: true });
  scoresClose(t, raw.json(), expectedScores(labels, fakeLogits({ text: 'a fine movie' }, 3), 'raw'), 'raw_scores');
  t.ok((raw.json() as Scored[]).some((p) => p.score < 0), 'raw scores are logits, not probabilities');

  for (const name of ['x-compute-tokens', 'x-total-time', 'x-queue-time', 'x-inference-time']) t.match(batch.headers.get(name), /^\d+$/, `${name} header`);
  t.equal(batch.headers.get('x-compute-tokens'), String(3 + 5 + 3), 'tokens of the three inputs');
});

t.test('multi-label uses a sigmoid per label, one-logit classification a sigmoid, regression the raw value', async (t) => {
  const multi = new FakeEngine({ task: 'multi-label', labels: ['sports', 'politics', 'music', 'tech'] });
  const m = await startServer(t, multi);
  const got = (await predict(m.url, { inputs: 'news of the day' })).json() as Scored[];
  scoresClose(t, got, expectedScores(multi.info.labels, fakeLogits({ text: 'news of the day' }, 4), 'sigmoid'), 'multi-label');
  t.ok(Math.abs(got.reduce((s, p) => s + p.score, 0) - 1) > 1e-3, 'independent probabilities do not sum to 1');

  const oneLogit = new FakeEngine({ labels: ['relevant'] });
  const o = await startServer(t, oneLogit);
  scoresClose(t, (await predict(o.url, { inputs: 'q' })).json(), expectedScores(['relevant'], fakeLogits({ text: 'q' }, 1), 'sigmoid'), 'one logit');

  const regression = new FakeEngine({ task: 'regression', labels: ['similarity'] });
  const r = await startServer(t, regression);
  for (const raw of [false, true]) {
    const answer = await predict(r.url, { inputs: [['a', 'b'], ['c']], raw_scores: raw });
    t.same(
      answer.json(),
      [
        [{ label: 'similarity', score: Math.fround(fakeLogits({ text: 'a', pair: 'b' }, 1)[0]!) }],
        [{ label: 'similarity', score: Math.fround(fakeLogits({ text: 'c' }, 1)[0]!) }],
      ],
      `regression scores are the model's output (raw_scores ${raw})`,
    );
  }
});

t.test('token classification answers entities grouped as the HF pipeline, or per token', async (t) => {
  const engine = new FakeEngine({ task: 'token-classification', maxInputLength: 32 });
  const { url } = await startServer(t, engine);
  const text = 'yesterday Ada Lovelace met 🙂 Bob in @paris @london today';
  const p = (w: string) => Math.exp(fakeTagLogit(w)) / (Math.exp(fakeTagLogit(w)) + 4);
  const cp = (s: string, i: number) => [...s.slice(0, i)].length;
  const at = (w: string) => ({ start: cp(text, text.indexOf(w)), end: cp(text, text.indexOf(w) + w.length) });

  const grouped = await predict(url, { inputs: text });
  t.equal(grouped.status, 200, grouped.text);
  const want = [
    { entity_group: 'PER', score: (p('Ada') + p('Lovelace')) / 2, word: 'Ada Lovelace', ...at('Ada Lovelace') },
    { entity_group: 'PER', score: p('Bob'), word: 'Bob', ...at('Bob') },
    { entity_group: 'LOC', score: p('@paris'), word: '@paris', ...at('@paris') },
    { entity_group: 'LOC', score: p('@london'), word: '@london', ...at('@london') },
  ];
  const got = grouped.json() as typeof want;
  t.same(
    got.map(({ score, ...rest }) => rest),
    want.map(({ score, ...rest }) => rest),
    'B-/I- tags grouped (a B- tag starts a new group), O left out, offsets in code points (the emoji counts once)',
  );
  t.ok(got.every((g, i) => Math.abs(g.score - want[i]!.score) < 1e-6), 'a group scores the mean of its tokens');
  t.equal(at('Bob').start, text.indexOf('Bob') - 1, 'the emoji before Bob is one code point but two UTF-16 units');

  const perToken = await predict(url, { inputs: [[text], ['nobody here']], aggregation_strategy: 'none' });
  const [tokens, none] = perToken.json() as { entity: string; score: number; index: number; word: string; start: number; end: number }[][];
  const list = words(text);
  const tagged = list.map((w, i) => ({ w, i, tag: fakeTag(w.word, list[i - 1]?.word) })).filter((x) => x.tag !== 'O');
  t.same(
    tokens!.map(({ score, ...rest }) => rest),
    tagged.map(({ w, i, tag }) => ({ entity: tag, index: i + 1, word: w.word.toLowerCase(), ...at(w.word) })),
    'one entry per tagged token with its tag, index and token text',
  );
  t.same(none, [], 'a text without entities answers an empty list');

  const raw = (await predict(url, { inputs: 'Ada', raw_scores: true })).json() as { score: number }[];
  t.equal(raw[0]!.score, fakeTagLogit('Ada'), 'raw_scores: the winning logit');

  const pair = await predict(url, { inputs: ['Ada', 'Bob'] });
  t.equal(pair.status, 422);
  t.match(pair.json(), { error_type: 'validation', error: /single texts, not pairs/ });
});

t.test('bad bodies answer JSON errors with TEI codes and say what is wrong', async (t) => {
  const engine = new FakeEngine();
  const { url } = await startServer(t, engine);
  const cases: [string, string, number, string, RegExp][] = [
    ['not JSON', '{"inputs": "a"', 400, 'validation', /not valid JSON/],
    ['empty body', '', 400, 'validation', /not valid JSON/],
    ['a JSON array', '["a"]', 422, 'validation', /send a JSON object/],
    ['no inputs', '{"input": "a"}', 422, 'validation', /no "inputs" field/],
    ['inputs a number', '{"inputs": 3}', 422, 'validation', /"inputs" is number 3/],
    ['inputs null', '{"inputs": null}', 422, 'validation', /"inputs" is null/],
    ['three strings', '{"inputs": ["a", "b", "c"]}', 422, 'validation', /list of 3 strings; a pair has 2/],
    ['a batch item of three', '{"inputs": [["a"], ["a", "b", "c"]]}', 422, 'validation', /"inputs"\[1\] has 3 strings/],
    ['an empty batch item', '{"inputs": [["a"], []]}', 422, 'validation', /"inputs"\[1\] has 0 strings/],
    ['a number in a pair', '{"inputs": [["a", 2]]}', 422, 'validation', /"inputs"\[0\]\[1\] is number 2, not a string/],
    ['a string item in a batch', '{"inputs": [["a"], "b"]}', 422, 'validation', /"inputs"\[1\] is a string/],
    ['an empty list', '{"inputs": []}', 400, 'empty', /empty list/],
    ['truncate not a boolean', '{"inputs": "a", "truncate": "yes"}', 422, 'validation', /"truncate" is a string; send true or false/],
    ['raw_scores not a boolean', '{"inputs": "a", "raw_scores": 1}', 422, 'validation', /"raw_scores" is number 1/],
    ['left truncation', '{"inputs": "a", "truncation_direction": "left"}', 422, 'validation', /truncates on the right/],
    ['unknown aggregation', '{"inputs": "a", "aggregation_strategy": "max"}', 422, 'validation', /"simple".*"none"/],
    ['an input the tokenizer refuses', '{"inputs": [["ok"], ["bad\\u0000"]]}', 422, 'tokenizer', /input 1 cannot be tokenized: .*NUL/],
  ];
  for (const [what, body, status, type, message] of cases) {
    const answer = await predict(url, body);
    t.equal(answer.status, status, `${what}: status`);
    t.match(answer.headers.get('content-type'), /^application\/json/, `${what}: JSON`);
    t.match(answer.json(), { error: message, error_type: type }, `${what}: ${answer.text}`);
  }
  t.same(engine.seen, [], 'no bad request reached the engine');
  const ok = await predict(url, { inputs: 'still fine', unknown_field: 1, truncate: null });
  t.equal(ok.status, 200, 'unknown fields and a null truncate are accepted, as TEI');
});

t.test('an input over max_input_length answers 413 unless truncation is asked', async (t) => {
  const engine = new FakeEngine({ maxInputLength: 8 });
  const { url } = await startServer(t, engine);
  const long = 'one two three four five six seven'; // 7 words + 2 = 9 tokens
  const refused = await predict(url, { inputs: long });
  t.equal(refused.status, 413);
  t.match(refused.json(), { error_type: 'validation', error: /the input is 9 tokens long, over the model's limit of 8 .*"truncate": true/ });
  const inBatch = await predict(url, { inputs: [['short'], [long]], truncate: false });
  t.equal(inBatch.status, 413);
  t.match(inBatch.json(), { error: /input 1 is 9 tokens long/ }, 'names the batch item');
  t.same(engine.seen, [], 'refused before queueing');
  const truncated = await predict(url, { inputs: long, truncate: true });
  t.equal(truncated.status, 200, 'truncate: true runs it (the engine truncates)');
  t.equal(truncated.headers.get('x-compute-tokens'), '8', 'tokens counted after truncation');

  const auto = await startServer(t, new FakeEngine({ maxInputLength: 8 }), { autoTruncate: true });
  t.equal((await predict(auto.url, { inputs: long })).status, 200, 'autoTruncate makes truncation the default');
  t.equal((await predict(auto.url, { inputs: long, truncate: false })).status, 413, 'a request can still refuse it');
  t.equal(((await call(auto.url, '/info')).json() as { auto_truncate: boolean }).auto_truncate, true);
});

t.test('a body over maxBodyBytes answers 413 without the rest being read', async (t) => {
  const engine = new FakeEngine();
  const { url, port } = await startServer(t, engine, { maxBodyBytes: 1000 });
  const declared = await rawExchange(port, ['POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"inputs": "']);
  t.match(declared.text, /^HTTP\/1\.1 413 /, 'refused from its Content-Length, before the body arrived');
  t.match(declared.text, /"error_type":"validation"/);
  t.match(declared.text, /5000 bytes, over the limit of 1000 bytes/);
  t.ok(declared.closedByServer, 'and the connection is closed (the body is never read)');

  const chunk = Buffer.alloc(600, 'a');
  const size = Buffer.from(`${chunk.length.toString(16)}\r\n`);
  const chunked = await rawExchange(port, ['POST /predict HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n', size, chunk, '\r\n', size, chunk, '\r\n']);
  t.match(chunked.text, /^HTTP\/1\.1 413 /, 'a chunked body is refused once past the limit, without its end');
  t.ok(chunked.closedByServer);

  const big = await predict(url, { inputs: 'x'.repeat(5000) });
  t.equal(big.status, 413);
  const fits = await predict(url, { inputs: 'x'.repeat(900) });
  t.equal(fits.status, 200, 'a body under the limit is fine');
  t.equal(engine.seen.length, 1);
});

t.test('unknown routes answer 404 and wrong methods 405 with Allow', async (t) => {
  const { url, port } = await startServer(t, new FakeEngine());
  const missing = await call(url, '/embed', { method: 'POST', body: '{}' });
  t.equal(missing.status, 404);
  t.match(missing.json(), { error_type: 'not_found', error: /no route \/embed; the routes are POST \/predict/ });
  const get = await call(url, '/predict');
  t.equal(get.status, 405);
  t.equal(get.headers.get('allow'), 'POST');
  t.match(get.json(), { error: /\/predict takes POST, not GET/ });
  const post = await call(url, '/health', { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET');
  t.equal((await call(url, '/health?probe=1')).status, 200, 'a query string does not change the route');
  const notUrl = await rawExchange(port, ['GET http://[ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n']);
  t.match(notUrl.text, /^HTTP\/1\.1 404 [^]*"no route http:\/\/\[;/, 'a request target that is no URL answers 404 (and does not crash the server)');
  t.equal((await call(url, '/health')).status, 200);
});

t.test('/health is 503 until warm-up finished, and requests are refused meanwhile', async (t) => {
  const engine = new FakeEngine();
  engine.holdWarmup();
  const { server, url } = await startServer(t, engine, {}, false);
  const before = await call(url, '/health');
  t.equal(before.status, 503);
  t.match(before.json(), { error_type: 'unhealthy', error: /warming up/ });
  t.equal(before.headers.get('retry-after'), '1');
  const early = await predict(url, { inputs: 'too early' });
  t.equal(early.status, 503);
  t.match(early.json(), { error_type: 'unhealthy', error: /warming up/ });
  t.equal((await call(url, '/info')).status, 200, '/info answers during warm-up');
  t.equal(((await call(url, '/info')).json() as { ready: boolean }).ready, false);
  engine.finishWarmup();
  await server.warmup();
  const after = await call(url, '/health');
  t.equal(after.status, 200);
  t.equal(after.text, '', 'TEI answers an empty 200');
  t.equal((await predict(url, { inputs: 'now' })).status, 200);
  t.same(engine.violations, [], 'the engine never ran before warm-up');

  const broken = new FakeEngine();
  broken.holdWarmup();
  const b = await startServer(t, broken, {}, false);
  broken.finishWarmup(new Error('cannot compile bucket 64: out of memory'));
  await t.rejects(b.server.warmup(), /out of memory/, 'warmup() rejects with the engine error');
  const health = await call(b.url, '/health');
  t.equal(health.status, 503);
  t.match(health.json(), { error: /warm-up failed: cannot compile bucket 64: out of memory/ });
  t.match((await predict(b.url, { inputs: 'x' })).json(), { error_type: 'unhealthy', error: /failed to load: cannot compile/ });
});

t.test('/info names the model, task, labels and limits in TEI field names', async (t) => {
  const engine = new FakeEngine({ maxInputLength: 128, maxBatchSize: 16, replicas: 2 });
  const { url } = await startServer(t, engine, { maxBatchSize: 12, maxWaitMs: 3, maxQueue: 100 });
  const info = (await call(url, '/info')).json();
  t.match(info, {
    model_id: 'test/fake-bert',
    model_dtype: 'float32',
    model_type: { classifier: { id2label: { 0: 'negative', 1: 'neutral', 2: 'positive' }, label2id: { negative: 0, neutral: 1, positive: 2 } } },
    max_input_length: 128,
    max_batch_requests: 12,
    max_client_batch_size: 100,
    auto_truncate: false,
    version: /^\d+\.\d+\.\d+/,
    family: 'bert',
    task: 'classification',
    labels: ['negative', 'neutral', 'positive'],
    max_batch_size: 12,
    max_wait_ms: 3,
    max_queue: 100,
    replicas: 2,
    ready: true,
  });
  t.throws(() => Server.create({ engine, maxBatchSize: 17 }), /maxBatchSize 17 is over the engine's 16/);
  t.throws(() => Server.create({ engine: new FakeEngine({ task: 'regression', labels: ['a', 'b'] }) }), /regression model has one output/);
  t.throws(() => Server.create({ engine, port: 70000 }), /port 70000/);
});

t.test('/metrics is Prometheus text that counts requests by route and status', async (t) => {
  const engine = new FakeEngine();
  const { url } = await startServer(t, engine);
  await predict(url, { inputs: 'a' });
  await predict(url, { inputs: [['b'], ['c', 'd']] });
  await predict(url, '{bad');
  await call(url, '/nowhere');
  await call(url, '/health');
  const answer = await call(url, '/metrics');
  t.match(answer.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const metrics = parsePrometheus(answer.text);
  t.equal(metrics.get('pjrt_bert_http_requests_total')?.type, 'counter');
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/predict', status: '200' }), 2);
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/predict', status: '400' }), 1);
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: 'other', status: '404' }), 1);
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/health', status: '200' }), 1);
  t.equal(sampleValue(metrics, 'pjrt_bert_request_duration_seconds_count', { route: '/predict' }), 3);
  t.equal(sampleValue(metrics, 'pjrt_bert_predict_inputs_total'), 3);
  t.equal(sampleValue(metrics, 'pjrt_bert_batch_size_sum'), 3, 'three inputs went through batches');
  t.equal(sampleValue(metrics, 'pjrt_bert_queue_duration_seconds_count'), 3);
  t.equal(sampleValue(metrics, 'pjrt_bert_inference_duration_seconds_count'), sampleValue(metrics, 'pjrt_bert_batch_size_count'));
  t.equal(sampleValue(metrics, 'pjrt_bert_request_input_tokens_count'), 3);
  t.equal(sampleValue(metrics, 'pjrt_bert_queue_size'), 0);
  t.equal(sampleValue(metrics, 'pjrt_bert_ready'), 1);
  t.equal(sampleValue(metrics, 'pjrt_bert_compiled_programs'), engine.compileCount);
  for (const name of ['pjrt_bert_batch_size', 'pjrt_bert_inference_duration_seconds', 'pjrt_bert_request_duration_seconds']) t.equal(metrics.get(name)?.type, 'histogram', name);
  t.throws(() => parsePrometheus('x_total 1\n'), /no TYPE line/, 'the test parser is strict');
  t.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'), /not cumulative/);
  const again = await scrape(url);
  t.equal(sampleValue(again, 'pjrt_bert_http_requests_total', { route: '/metrics', status: '200' }), 1, 'the first scrape is counted');
});

t.test('an engine output that does not fit the model answers 500 and is logged', async (t) => {
  class BrokenEngine extends FakeEngine {
    override async run(inputs: Parameters<FakeEngine['run']>[0], options: Parameters<FakeEngine['run']>[1]) {
      const outputs = await super.run(inputs, options);
      return inputs.map((e, i) => (e.input.text === 'short' ? { logits: [1, 2] } : e.input.text === 'nan' ? { logits: [0, NaN, 1] } : e.input.text === 'fewer' ? undefined! : outputs[i]!)).filter((o) => o !== undefined);
    }
  }
  const engine = new BrokenEngine();
  const lines: string[] = [];
  const { url } = await startServer(t, engine, { maxWaitMs: 0, log: (level, line) => lines.push(`${level} ${line}`) });
  const short = await predict(url, { inputs: 'short' });
  t.equal(short.status, 500);
  t.match(short.json(), { error_type: 'backend', error: /engine's output is unusable: the engine returned 2 logits for an input; the model has 3 labels/ });
  t.match((await predict(url, { inputs: 'nan' })).json(), { error: /non-finite logit \(NaN\)/ });
  const fewer = await predict(url, { inputs: 'fewer' });
  t.equal(fewer.status, 500);
  t.match(fewer.json(), { error: /the engine returned 0 outputs for a batch of 1 inputs/ });
  t.equal((await predict(url, { inputs: 'fine' })).status, 200);
  t.equal(lines.filter((line) => line.startsWith('error')).length, 3, 'one error line each');
});

t.test('metric label values are escaped so the text format stays parseable', async (t) => {
  const { Counter, Registry } = await import('../lib/serve/metrics.js');
  const registry = new Registry();
  const counter = registry.add(new Counter('odd_total', 'Help with a \\ backslash\nand a newline.'));
  counter.inc({ path: 'a "quoted" \\ value\nnext' }, 2);
  const parsed = parsePrometheus(registry.render());
  t.same(parsed.get('odd_total')?.samples, [{ name: 'odd_total', labels: { path: 'a "quoted" \\ value\nnext' }, value: 2 }]);
  t.throws(() => counter.inc({}, -1), /cannot go down/);
  t.throws(() => counter.inc({ le: 'x' }), /label name 'le'/);
  t.throws(() => registry.add(new Counter('odd_total', 'again')), /registered twice/);
  t.throws(() => new Counter('bad-name', 'x'), /not a valid Prometheus name/);
});

t.test('the log option gets a warning when the engine compiles while serving', async (t) => {
  const engine = new FakeEngine();
  const lines: string[] = [];
  const { url } = await startServer(t, engine, { log: (level, line) => lines.push(`${level} ${line}`) });
  t.match(lines, [/^info bound to http:\/\/127\.0\.0\.1:\d+; warming up/, /^info warm-up done: 3 programs compiled$/]);
  await predict(url, { inputs: 'a' });
  t.notOk(lines.some((line) => line.startsWith('warn')), 'no warning while no program is compiled');
  engine.compileCount += 2; // as an engine that compiles a missing bucket shape on a request
  await predict(url, { inputs: 'b' });
  await predict(url, { inputs: 'c' });
  t.same(
    lines.filter((line) => line.startsWith('warn')),
    ["warn the engine compiled 2 program(s) while serving requests; its warmup() should compile every shape a batch can take"],
    'one warning',
  );
});

t.test('an engine whose encode is async (tokenizer.json tokenizers encode off the main thread) is awaited', async (t) => {
  const fake = new FakeEngine({ maxInputLength: 6 });
  const encodes: string[] = [];
  const engine: ServeEngine<FakeEncoded> = {
    info: fake.info,
    get compileCount() {
      return fake.compileCount;
    },
    warmup: () => fake.warmup(),
    run: (inputs, options) => fake.run(inputs, options),
    async encode(input) {
      await new Promise((resolve) => setImmediate(resolve));
      encodes.push(input.text);
      return fake.encode(input);
    },
  };
  const { url } = await startServer(t, engine);
  const single = await predict(url, { inputs: 'a fine movie' });
  t.equal(single.status, 200, single.text);
  scoresClose(t, single.json(), expectedScores(fake.info.labels, fakeLogits({ text: 'a fine movie' }, 3), 'softmax'), 'the awaited encoding ran');
  const batch = await predict(url, { inputs: [['one'], ['two', 'three']] });
  t.equal(batch.status, 200, batch.text);
  scoresClose(t, (batch.json() as Scored[][])[1], expectedScores(fake.info.labels, fakeLogits({ text: 'two', pair: 'three' }, 3), 'softmax'), 'a pair in a batch');
  t.same(fake.seen, ['a fine movie', 'one', 'two'], 'the engine ran the encoded inputs, not promises');
  const long = await predict(url, { inputs: 'one two three four five' });
  t.equal(long.status, 413, 'the token count of an awaited encoding is checked');
  t.match(long.json(), { error_type: 'validation', error: /7 tokens long, over the model's limit of 6/ });
  const refused = await predict(url, { inputs: [['fine'], ['bad \u0000 text']] });
  t.equal(refused.status, 422, 'a rejected encode is a tokenizer error');
  t.match(refused.json(), { error_type: 'tokenizer', error: /input 1 cannot be tokenized: the text holds a NUL/ });
  t.equal(fake.seen.length, 3, 'nothing of a refused request ran');
  t.ok(encodes.includes('fine'), 'encode was called through the async path');
});

t.test('a library prints nothing: no log option, no output', async (t) => {
  const writes: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const spy = ((chunk: string | Uint8Array) => (writes.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stdout.write = spy;
  process.stderr.write = spy;
  try {
    const engine = new FakeEngine();
    engine.failOn = /boom/;
    const server = Server.create({ engine, port: 0 });
    const { url } = await server.listen();
    await server.warmup();
    await predict(url, { inputs: 'fine' });
    await predict(url, { inputs: 'boom' });
    await server.close();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  t.same(writes, []);
});

t.test('await using closes the server at the end of the block', async (t) => {
  let port = 0;
  {
    await using server = Server.create({ engine: new FakeEngine(), port: 0 });
    port = (await server.listen()).port;
    await server.warmup();
    t.equal((await rawExchange(port, ['GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'])).text.split('\r\n')[0], 'HTTP/1.1 200 OK');
  }
  t.match((await rawExchange(port, ['GET /health HTTP/1.1\r\n\r\n'])).text, /<error ECONNREFUSED>/, 'nothing listens after the block');
  const closed = Server.create({ engine: new FakeEngine(), port: 0 });
  await closed.close();
  await t.rejects(closed.listen(), /this server was closed; create a new one/);
});
