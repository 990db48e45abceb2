/**
 * The server's dynamic batching under load, against fake engines on loopback: hundreds of
 * requests from many concurrent clients each get their own right answer while batches really
 * form; replicas run batches side by side; a full queue answers 503 + Retry-After; an engine
 * failure fails only the requests of its batch; close() drains; an abandoned request's inputs
 * are dropped; the SIGTERM helper closes and exits 0; no request ever compiles.
 */
import net from 'node:net';
import t from 'tap';

import { handleShutdownSignals } from '../lib/serve/server.js';
import { FakeEngine, expectedScores, fakeLogits, sameScores, scoresClose } from './helpers/serve-engine.js';
import { predict, sampleValue, scrape, startServer, type Answer } from './helpers/serve-http.js';

/** Resolves once `condition()` holds (polling every 2 ms); rejects after `ms`. */
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

type Input = { text: string; pair?: string };

/** The body and expected inputs of request `i` of client `c`: a single, a pair or a batch of 1-5. */
function requestFor(c: number, i: number): { body: unknown; inputs: Input[]; batch: boolean } {
  const tag = `client ${c} request ${i}`;
  switch ((c + i) % 3) {
    case 0:
      return { body: { inputs: `${tag} alone` }, inputs: [{ text: `${tag} alone` }], batch: false };
    case 1:
      return { body: { inputs: [`${tag} first`, 'second'] }, inputs: [{ text: `${tag} first`, pair: 'second' }], batch: false };
    default: {
      const inputs = Array.from({ length: 1 + ((c * 7 + i) % 5) }, (_, k): Input => (k % 2 ? { text: `${tag} item ${k}`, pair: `pair ${k}` } : { text: `${tag} item ${k}` }));
      return { body: { inputs: inputs.map((x) => (x.pair === undefined ? [x.text] : [x.text, x.pair])) }, inputs, batch: true };
    }
  }
}

function answerIsRight(answer: Answer, expected: { inputs: Input[]; batch: boolean }, labels: readonly string[]): boolean {
  if (answer.status !== 200) return false;
  const want = expected.inputs.map((x) => expectedScores(labels, fakeLogits(x, labels.length), 'softmax'));
  const got = answer.json() as unknown[];
  return expected.batch ? got.length === want.length && want.every((w, k) => sameScores(got[k], w)) : sameScores(got, want[0]!);
}

t.test('hundreds of requests from 40 concurrent clients: every answer right and in its own response, batches formed', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 8, delayMs: 2 });
  const lines: string[] = [];
  const { url } = await startServer(t, engine, { maxWaitMs: 5, log: (level, line) => lines.push(`${level} ${line}`) });
  const compiled = engine.compileCount;
  const clients = 40;
  const perClient = 10;
  const wrong: string[] = [];
  let inputs = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const request = requestFor(c, i);
        inputs += request.inputs.length;
        const answer = await predict(url, request.body);
        if (!answerIsRight(answer, request, engine.info.labels)) wrong.push(`client ${c} request ${i}: ${answer.status} ${answer.text}`);
      }
    }),
  );
  t.same(wrong, [], `all ${clients * perClient} answers right`);
  t.same(engine.violations, [], 'no batch over maxBatchSize, none before warm-up, one at a time per replica');
  t.equal(engine.compileCount, compiled, 'no request compiled anything');
  t.equal(engine.seen.length, inputs, 'every input ran exactly once');

  const metrics = await scrape(url);
  const batches = sampleValue(metrics, 'pjrt_bert_batch_size_count');
  t.equal(sampleValue(metrics, 'pjrt_bert_batch_size_sum'), inputs, 'the batch-size histogram saw every input');
  t.equal(batches, engine.runs.length);
  t.ok(batches < inputs / 2, `${inputs} inputs ran in ${batches} batches (${(inputs / batches).toFixed(1)} per batch)`);
  t.ok(sampleValue(metrics, 'pjrt_bert_batch_size_bucket', { le: '1' }) < batches, 'some batches hold more than one input');
  t.equal(sampleValue(metrics, 'pjrt_bert_batch_size_bucket', { le: '8' }), batches, 'none holds more than maxBatchSize');
  t.ok(
    engine.runs.some((run) => new Set(run.texts.map((text) => text.replace(/ (alone|first|item \d+)$/, ''))).size > 1),
    'batches mix inputs of different requests',
  );
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/predict', status: '200' }), clients * perClient);
  t.equal(sampleValue(metrics, 'pjrt_bert_queue_size'), 0);
  const batchLines = lines.filter((line) => /^debug batch of \d+ inputs? from \d+ requests? on replica 0: /.test(line));
  t.equal(batchLines.length, batches, 'one debug log line per batch');
});

t.test('a request larger than a batch spans batches and gets its answers in order', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 8 });
  const { url } = await startServer(t, engine, { maxWaitMs: 2 });
  const sizes = [20, 7, 13];
  const requests = sizes.map((n, r) => Array.from({ length: n }, (_, k) => ({ text: `request ${r} input ${k}` })));
  const answers = await Promise.all(requests.map((inputs) => predict(url, { inputs: inputs.map((x) => [x.text]) })));
  answers.forEach((answer, r) => {
    t.equal(answer.status, 200);
    const got = answer.json() as unknown[];
    t.equal(got.length, sizes[r]);
    t.ok(
      requests[r]!.every((x, k) => sameScores(got[k], expectedScores(engine.info.labels, fakeLogits(x, 3), 'softmax'))),
      `request ${r}: ${sizes[r]} answers in request order`,
    );
  });
  t.ok(engine.runs.length >= Math.ceil(40 / 8), `${engine.runs.length} batches for 40 inputs`);
  t.same(engine.violations, []);
});

t.test('a full batch leaves at once; close() runs what waits without waiting for maxWaitMs', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 4 });
  const { server, url } = await startServer(t, engine, { maxWaitMs: 600_000 });
  const four = await Promise.all(['a', 'b', 'c', 'd'].map((text) => predict(url, { inputs: text })));
  t.ok(four.every((a) => a.status === 200), 'four requests fill a batch of 4 and run without the 10-minute wait');
  t.same(engine.runs.map((r) => r.texts.length), [4], 'as one engine call');
  const lone = predict(url, { inputs: 'lonely' });
  await until(() => server.queued === 1, 'the lone input is queued');
  await server.close();
  t.equal((await lone).status, 200, 'close() flushed it');
});

t.test('with 3 replicas up to 3 batches run at once, one per replica', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ replicas: 3, maxBatchSize: 4, delayMs: 15 });
  const { url } = await startServer(t, engine, { maxWaitMs: 1 });
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => predict(url, { inputs: `text ${i}` })));
  t.ok(
    answers.every((a, i) => a.status === 200 && sameScores(a.json(), expectedScores(engine.info.labels, fakeLogits({ text: `text ${i}` }, 3), 'softmax'))),
    'every answer right',
  );
  t.same(engine.violations, [], 'never two batches at once on one replica');
  t.ok(engine.maxRunning > 1 && engine.maxRunning <= 3, `at most 3 batches at once (saw ${engine.maxRunning})`);
  t.same([...new Set(engine.runs.map((r) => r.replica))].sort(), [0, 1, 2], 'all replicas used');
});

t.test('a full queue answers 503 with Retry-After; queued requests still complete', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 2 });
  const { server, url } = await startServer(t, engine, { maxWaitMs: 0, maxQueue: 4 });
  engine.hold();
  const a = predict(url, { inputs: [['a1'], ['a2']] });
  await until(() => engine.runs.length === 1, 'the first batch runs');
  const b = predict(url, { inputs: [['b1'], ['b2'], ['b3']] });
  await until(() => server.queued === 3, 'three inputs queued');
  const c = await predict(url, { inputs: [['c1'], ['c2']] });
  t.equal(c.status, 503, 'two more inputs do not fit in a queue of 4');
  t.equal(c.headers.get('retry-after'), '1');
  t.match(c.json(), { error_type: 'overloaded', error: /queue is full \(3 inputs queued, 2 more asked, max 4\)/ });
  const d = predict(url, { inputs: 'd1' });
  await until(() => server.queued === 4, 'one more fits');
  const e = await predict(url, { inputs: [['e1'], ['e2'], ['e3'], ['e4'], ['e5']] });
  t.equal(e.status, 413, 'a request larger than the whole queue can never fit');
  t.match(e.json(), { error: /5 inputs, more than this server queues \(4/ });
  engine.release();
  for (const [name, answer] of [['a', await a], ['b', await b], ['d', await d]] as const) t.equal(answer.status, 200, `${name} completed`);
  t.notOk(engine.seen.includes('c1'), 'the refused request never ran');
  const metrics = await scrape(url);
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/predict', status: '503' }), 1);
});

t.test('an engine failure fails only the requests with an input in that batch', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 2 });
  const { server, url } = await startServer(t, engine, { maxWaitMs: 0 });
  engine.failOn = /boom/;
  engine.hold();
  const sent: Record<string, Promise<Answer>> = {};
  const send = async (name: string, texts: string[], queuedAfter: number) => {
    sent[name] = predict(url, { inputs: texts.map((text) => [text]) });
    await until(() => server.queued === queuedAfter, `${name} is queued`);
  };
  sent.a = predict(url, { inputs: [['a1'], ['a2']] });
  await until(() => engine.runs.length === 1, 'the first batch runs');
  await send('b', ['boom'], 1);
  await send('h', ['h1', 'h2', 'h3', 'h4'], 5);
  await send('f', ['f1', 'f2', 'f3'], 8);
  await send('g', ['g1', 'boom g'], 10);
  engine.release();
  // batches: [a1 a2] ok, [boom h1] fails (b, h), [f1 f2] ok, [f3 g1] ok, [boom g] fails (g)
  const status = Object.fromEntries(await Promise.all(Object.entries(sent).map(async ([name, p]) => [name, (await p).status])));
  t.same(status, { a: 200, b: 500, h: 500, f: 200, g: 500 });
  const b = await sent.b!;
  t.match(b.json(), { error_type: 'backend', error: /inference failed on replica 0 for a batch of 2 inputs: device lost \(simulated\)/ });
  t.ok(['h2', 'h3', 'h4'].every((text) => !engine.seen.includes(text)), "a failed request's other queued inputs are dropped");
  scoresClose(t, ((await sent.f!).json() as unknown[])[2], expectedScores(engine.info.labels, fakeLogits({ text: 'f3' }, 3), 'softmax'), 'f3, batched with g1');
  t.equal((await predict(url, { inputs: 'after' })).status, 200, 'the server goes on');
  const metrics = await scrape(url);
  t.equal(sampleValue(metrics, 'pjrt_bert_batch_failures_total'), 2);
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/predict', status: '500' }), 3);
  t.equal(sampleValue(metrics, 'pjrt_bert_ready'), 1, 'still healthy');
});

t.test('an abandoned request has its queued inputs dropped', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 2 });
  const { server, url } = await startServer(t, engine, { maxWaitMs: 0 });
  engine.hold();
  const a = predict(url, { inputs: [['a1'], ['a2']] });
  await until(() => engine.runs.length === 1, 'the first batch runs');
  const controller = new AbortController();
  const b = predict(url, { inputs: [['b1'], ['b2'], ['b3']] }, controller.signal);
  await until(() => server.queued === 3, 'b is queued');
  controller.abort();
  await t.rejects(b);
  await until(() => server.queued === 0, 'its inputs leave the queue');
  engine.release();
  t.equal((await a).status, 200);
  t.notOk(engine.seen.some((text) => text.startsWith('b')), 'they never ran');
  const metrics = await scrape(url);
  t.equal(sampleValue(metrics, 'pjrt_bert_http_requests_total', { route: '/predict', status: '499' }), 1, 'counted as 499');
});

/** Whether a new TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

t.test('close() refuses new connections, finishes what is running and queued, then resolves', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 2 });
  const { server, url, port } = await startServer(t, engine, { maxWaitMs: 0 });
  // a request whose body is still arriving when close() is called
  const body = JSON.stringify({ inputs: 'slow body' });
  const slow = net.connect(port, '127.0.0.1');
  let slowAnswer = '';
  slow.on('data', (data) => (slowAnswer += data.toString('utf8')));
  const slowDone = new Promise((resolve) => slow.once('close', resolve));
  slow.write(`POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
  await until(() => server.requestsInFlight === 1, 'the slow request is received');
  engine.hold();
  const a = predict(url, { inputs: [['a1'], ['a2']] });
  await until(() => engine.runs.length === 1, 'a runs');
  const b = predict(url, { inputs: 'b1' });
  const c = predict(url, { inputs: [['c1'], ['c2'], ['c3']] });
  await until(() => server.queued === 4, 'b and c are queued');
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  t.equal(server.close(), server.close(), 'close() is idempotent');
  t.ok(await refused(port), 'new connections are refused at once');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.notOk(closed, 'close() waits for the requests in flight');
  engine.release();
  const answers = await Promise.all([a, b, c]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.notOk(closed, 'close() still waits for the request whose body is arriving');
  slow.write(body.slice(5));
  t.same(answers.map((x) => x.status), [200, 200, 200], 'every request received before close() is answered');
  t.ok(sameScores((answers[1]!.json() as unknown), expectedScores(engine.info.labels, fakeLogits({ text: 'b1' }, 3), 'softmax')));
  await closing;
  t.ok(closed);
  await slowDone;
  t.match(slowAnswer, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n/i, 'a body still arriving at close() is read and answered, and the connection closed');
  t.notOk(server.healthy);
  t.same(engine.violations, []);
});

t.test('handleShutdownSignals closes the server on a signal and exits 0; a second signal exits 1', { timeout: 60_000 }, async (t) => {
  const engine = new FakeEngine({ maxBatchSize: 2 });
  const { server, url } = await startServer(t, engine, { maxWaitMs: 0 });
  const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
  const removeDefaults = handleShutdownSignals(server, { exit: () => {} });
  t.same({ term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') }, { term: before.term + 1, int: before.int + 1 }, 'SIGTERM and SIGINT by default');
  removeDefaults();
  t.same({ term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') }, before, 'and removed again');

  const exits: number[] = [];
  const logs: string[] = [];
  const remove = handleShutdownSignals(server, { signals: ['SIGUSR2'], exit: (code) => exits.push(code), log: (level, line) => logs.push(`${level} ${line}`) });
  t.teardown(remove);
  engine.hold();
  const inFlight = predict(url, { inputs: 'in flight' });
  await until(() => engine.runs.length === 1, 'a request runs');
  process.emit('SIGUSR2', 'SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(exits, [], 'no exit while a request is in flight');
  engine.release();
  t.equal((await inFlight).status, 200, 'the request in flight is answered');
  await until(() => exits.length === 1, 'exit is called');
  t.same(exits, [0]);
  t.match(logs.join('\n'), /SIGUSR2: finishing queued requests, then exiting/);
  process.emit('SIGUSR2', 'SIGUSR2');
  t.same(exits, [0, 1], 'a second signal exits 1 at once');
});
