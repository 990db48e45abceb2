/**
 * Helpers for the server tests: start a server on a free loopback port, call it, and read its
 * `/metrics` with a small, strict parser of the Prometheus text format (it throws on any line the
 * format does not allow, and checks histogram invariants).
 */
import net from 'node:net';
import type { Test } from 'tap';

import type { EncodedInput, ServeEngine } from '../../lib/serve/engine.js';
import { Server, type ServerOptions } from '../../lib/serve/server.js';

/** A started server and its base URL; closed at the end of the test. */
export async function startServer<E extends EncodedInput>(
  t: Test,
  engine: ServeEngine<E>,
  options: Omit<ServerOptions<E>, 'engine'> = {},
  warm = true,
): Promise<{ server: Server<E>; url: string; port: number }> {
  const server = Server.create({ engine, host: '127.0.0.1', port: 0, ...options });
  const { url, port } = await server.listen();
  t.teardown(() => server.close());
  if (warm) await server.warmup();
  return { server, url, port };
}

/** An HTTP answer, read completely. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json(): unknown;
}

/** `fetch` to the server, reading the whole body. Async; rejects on network errors. */
export async function call(url: string, path: string, init?: RequestInit): Promise<Answer> {
  const response = await fetch(`${url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
}

/** `POST /predict` with `body` (JSON-encoded unless a string). */
export function predict(url: string, body: unknown, signal?: AbortSignal): Promise<Answer> {
  return call(url, '/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/**
 * Writes raw bytes to the server and collects what comes back until it closes the connection or
 * `timeoutMs` passes. Async; never rejects (a socket error is appended as `<error CODE>`).
 */
export function rawExchange(port: number, chunks: (string | Buffer)[], timeoutMs = 5000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let closedByServer = true;
    const timer = setTimeout(() => ((closedByServer = false), socket.destroy()), timeoutMs);
    socket.on('data', (data) => (text += data.toString('utf8')));
    socket.on('error', (error: NodeJS.ErrnoException) => (text += `<error ${error.code}>`));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer });
    });
    for (const chunk of chunks) socket.write(chunk);
  });
}

/** One sample line of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A metric family: its TYPE, HELP and samples. */
export interface Family {
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value '${text}' in line: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new Error(`bad labels '{${text}}' in line: ${line}`);
    if (match[1]! in labels) throw new Error(`label ${match[1]} twice in line: ${line}`);
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = pattern.lastIndex;
  }
  return labels;
}

/**
 * Parses Prometheus text exposition. Sync; throws on a malformed line, a sample before its
 * family's TYPE, a duplicate series, or a histogram whose buckets are not cumulative or whose
 * `+Inf` bucket differs from its `_count`.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!METRIC_NAME.test(name!)) throw new Error(`bad metric name in line: ${line}`);
      const family = families.get(name!) ?? { type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!)) throw new Error(`bad type in line: ${line}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples in line: ${line}`);
        families.set(name!, { ...family, type: rest! });
      } else families.set(name!, { ...family, help: rest! });
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`malformed sample line: ${line}`);
    const [, name, labelText, valueText] = sample;
    const labels = parseLabels(labelText ?? '', line);
    const base = /^(.*)_(bucket|sum|count)$/.exec(name!)?.[1];
    const familyName = families.has(name!) ? name! : base !== undefined && families.get(base)?.type === 'histogram' ? base : undefined;
    if (familyName === undefined) throw new Error(`sample of a metric with no TYPE line before it: ${line}`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) throw new Error(`duplicate series: ${line}`);
    seen.add(series);
    families.get(familyName)!.samples.push({ name: name!, labels, value: parseValue(valueText!, line) });
  }
  for (const [name, family] of families) {
    if (family.type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of family.samples) {
      const { le, ...rest } = s.labels;
      void le;
      const k = JSON.stringify(Object.entries(rest).sort());
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const samples of groups.values()) {
      const buckets = samples.filter((s) => s.name === `${name}_bucket`);
      const count = samples.find((s) => s.name === `${name}_count`);
      if (buckets.length === 0 || !count || !samples.some((s) => s.name === `${name}_sum`)) throw new Error(`histogram ${name} lacks buckets, _sum or _count`);
      const bounds = buckets.map((b) => parseValue(b.labels.le ?? 'x', `${name}_bucket le`));
      bounds.forEach((b, i) => {
        if (i > 0 && !(b > bounds[i - 1]!)) throw new Error(`histogram ${name}: bucket bounds not increasing`);
        if (i > 0 && buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`histogram ${name}: buckets not cumulative`);
      });
      if (bounds[bounds.length - 1] !== Infinity || buckets[buckets.length - 1]!.value !== count.value) throw new Error(`histogram ${name}: +Inf bucket differs from _count`);
    }
  }
  return families;
}

/** The value of the sample `name` with exactly `labels` (0 when absent). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort())) return s.value;
    }
  }
  return 0;
}

/** `GET /metrics`, parsed. */
export async function scrape(url: string): Promise<Map<string, Family>> {
  return parsePrometheus((await call(url, '/metrics')).text);
}
