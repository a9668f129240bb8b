// Benchmark: MessageBusWrapper against raw ioredis PUBLISH/SUBSCRIBE doing its own JSON, in one run.
// Run with `npm run bench -w @shim/message-bus` (builds first). Uses REDIS_URL, or spawns a private
// redis-server on a free loopback port so nothing else shares the server while it measures.
import { meets, reportBench } from '../../../scripts/bench-report.mjs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { RedisConnectionManager } from '@shim/connection';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { MessageBusWrapper } from '../dist/index.js';

const require = createRequire(import.meta.url);
const THROUGHPUT_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const LATENCY_MESSAGES = Number(process.env.BENCH_LATENCY_MESSAGES ?? 10_000);
const LATENCY_RATE = Number(process.env.BENCH_RATE ?? 2_000); // messages per second
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// Another build of this package (its dist/index.js), measured in the same run as a fourth contender:
// how a trick is kept or dropped on figures (e.g. BENCH_VARIANT=bench/variant-outbox/index.js).
const VARIANT = process.env.BENCH_VARIANT;
const VariantBus = VARIANT && (await import(pathToFileURL(resolve(VARIANT)).href)).MessageBusWrapper;

// About 200 bytes of JSON, like a progress report between assistants.
const payload = (index) => ({
  task: `task-${index % 1000}`,
  worker: 'worker-7',
  step: index,
  status: 'running',
  note: 'refactoring src/components/Button.tsx; tests next',
  files: ['src/components/Button.tsx', 'src/components/Button.test.tsx'],
});

/** A raw pair: publisher and subscriber ioredis clients, JSON done by hand (optionally with ioredis' auto-pipelining). */
async function rawPair(url, enableAutoPipelining = false) {
  const pub = new Redis(url, { enableAutoPipelining });
  const sub = new Redis(url);
  let handler = () => {};
  sub.on('message', (_channel, message) => handler(JSON.parse(message)));
  await sub.subscribe('bench:raw');
  return {
    publish: (message) => pub.publish('bench:raw', JSON.stringify(message)),
    onMessage: (fn) => {
      handler = fn;
    },
    close: async () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/** The bus on its own manager: publish on the command connection, subscribe on the dedicated one. */
async function busPair(url, Bus = MessageBusWrapper) {
  const manager = new RedisConnectionManager({ url, namespace: 'bench' });
  await manager.connect();
  const bus = new Bus(manager, { sender: 'bench' });
  let handler = () => {};
  await bus.subscribe('bus', (message) => handler(message));
  return {
    publish: (message) => bus.publish('bus', message),
    onMessage: (fn) => {
      handler = fn;
    },
    close: async () => {
      await bus.close();
      await manager.disconnect();
    },
  };
}

async function throughput(pair) {
  let received = 0;
  const done = new Promise((resolve) => {
    pair.onMessage(() => {
      received += 1;
      if (received === THROUGHPUT_MESSAGES) resolve();
    });
  });
  const started = process.hrtime.bigint();
  const batch = 1_000;
  for (let index = 0; index < THROUGHPUT_MESSAGES; index += batch) {
    const sends = [];
    for (let n = index; n < Math.min(index + batch, THROUGHPUT_MESSAGES); n += 1) sends.push(pair.publish(payload(n)));
    await Promise.all(sends);
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return THROUGHPUT_MESSAGES / seconds;
}

async function latency(pair) {
  const sentAt = new Array(LATENCY_MESSAGES);
  const latencies = [];
  const done = new Promise((resolve) => {
    pair.onMessage((message) => {
      latencies.push(Number(process.hrtime.bigint() - sentAt[message.step]) / 1e6);
      if (latencies.length === LATENCY_MESSAGES) resolve();
    });
  });
  const gapMs = 1000 / LATENCY_RATE;
  const start = performance.now();
  for (let index = 0; index < LATENCY_MESSAGES; index += 1) {
    // Paced sends: wait until this message's slot, and always yield to the event loop between two
    // sends, so every message travels alone (a synchronous burst would measure queueing, not latency).
    const due = start + index * gapMs;
    const wait = due - performance.now();
    await new Promise((resolve) => (wait > 1 ? setTimeout(resolve, wait) : setImmediate(resolve)));
    sentAt[index] = process.hrtime.bigint();
    void pair.publish(payload(index));
  }
  await done;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const redis = await startRedis();
try {
  const kinds = ['raw', 'bus', 'rawPipelined', ...(VariantBus ? ['variant'] : [])];
  const make = (kind) =>
    kind === 'bus' || kind === 'variant'
      ? busPair(redis.url, kind === 'variant' ? VariantBus : MessageBusWrapper)
      : rawPair(redis.url, kind === 'rawPipelined');
  const results = Object.fromEntries(kinds.map((kind) => [kind, { tput: [], p50: [], p99: [] }]));
  // Round 0 warms the JIT and the server up and is not counted.
  for (let round = 0; round <= ROUNDS; round += 1) {
    // Rotate the order each round so no side always runs on a warmer process.
    const order = kinds.map((_, index) => kinds[(index + round) % kinds.length]);
    for (const kind of order) {
      const pair = await make(kind);
      globalThis.gc?.();
      const tput = await throughput(pair);
      globalThis.gc?.();
      const { p50, p99 } = await latency(pair);
      await pair.close();
      if (round === 0) continue;
      results[kind].tput.push(tput);
      results[kind].p50.push(p50);
      results[kind].p99.push(p99);
    }
  }
  const summary = (kind) => ({
    tput: median(results[kind].tput),
    p50: median(results[kind].p50),
    p99: median(results[kind].p99),
  });
  const raw = summary('raw');
  const bus = summary('bus');
  const pipelined = summary('rawPipelined');
  const fmt = (n, digits = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const probe = new Redis(redis.url);
  const info = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?';
  probe.disconnect();
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ioredis ${require('ioredis/package.json').version}, Redis ${info}`,
  );
  console.log(
    `workload: ${fmt(THROUGHPUT_MESSAGES)} messages of ~${JSON.stringify(payload(1)).length} B; latency ${fmt(LATENCY_MESSAGES)} messages at ${fmt(LATENCY_RATE)}/s; median of ${ROUNDS} rounds after a warm-up`,
  );
  console.log('');
  console.log('| | raw ioredis + JSON | MessageBusWrapper | ratio (bus/raw) | target | raw with auto-pipelining |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| throughput (msg/s) | ${fmt(raw.tput)} | ${fmt(bus.tput)} | ${fmt(bus.tput / raw.tput, 2)} | ≥ 0.85 | ${fmt(pipelined.tput)} (bus/this: ${fmt(bus.tput / pipelined.tput, 2)}) |`,
  );
  console.log(
    `| latency p50 (ms) | ${fmt(raw.p50, 3)} | ${fmt(bus.p50, 3)} | ${fmt(bus.p50 / raw.p50, 2)} | | ${fmt(pipelined.p50, 3)} |`,
  );
  console.log(
    `| latency p99 (ms) | ${fmt(raw.p99, 3)} | ${fmt(bus.p99, 3)} | ${fmt(bus.p99 / raw.p99, 2)} | ≤ 1.5 | ${fmt(pipelined.p99, 3)} |`,
  );
  reportBench('@shim/message-bus vs ioredis Pub/Sub', [
    {
      scenario: 'publish → receive throughput',
      unit: 'msg/s',
      raw: raw.tput,
      wrapper: bus.tput,
      ratio: bus.tput / raw.tput,
      target: '≥ 0.85',
      met: meets(bus.tput / raw.tput, '≥ 0.85'),
    },
    {
      scenario: 'latency p50',
      unit: 'ms',
      raw: raw.p50,
      wrapper: bus.p50,
      ratio: bus.p50 / raw.p50,
      target: '',
      met: null,
    },
    {
      scenario: 'latency p99',
      unit: 'ms',
      raw: raw.p99,
      wrapper: bus.p99,
      ratio: bus.p99 / raw.p99,
      target: '≤ 1.5',
      met: meets(bus.p99 / raw.p99, '≤ 1.5'),
    },
  ]);
  if (VariantBus) {
    const variant = summary('variant');
    console.log(
      `\nvariant ${VARIANT}: throughput ${fmt(variant.tput)} msg/s (bus/variant ${fmt(bus.tput / variant.tput, 2)}), p50 ${fmt(variant.p50, 3)} ms, p99 ${fmt(variant.p99, 3)} ms (bus/variant ${fmt(bus.p99 / variant.p99, 2)}); per round bus/variant throughput: ${results.bus.tput.map((value, index) => fmt(value / results.variant.tput[index], 2)).join(', ')}`,
    );
  }
  const ratios = results.bus.p99.map((value, index) => fmt(value / results.raw.p99[index], 2));
  console.log('');
  console.log(
    `p99 ratio per round: ${ratios.join(', ')}; throughput ratio per round: ${results.bus.tput.map((value, index) => fmt(value / results.raw.tput[index], 2)).join(', ')}`,
  );
} finally {
  await redis.stop();
}
