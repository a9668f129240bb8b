// A/B of two builds of @shim/state in one process, on one private redis-server (or REDIS_URL), back
// to back in alternating rounds: the ratio is the median of the per-round ratios variant ÷ base.
// Build each variant's src into one directory first, e.g.
//   npx esbuild src/index.ts --bundle --platform=node --format=esm --external:@shim/connection \
//     --external:ioredis --outfile=bench/ab/base.mjs
// (the directory must sit inside the repo so '@shim/connection' resolves), then
//   node bench/ab.bench.mjs bench/ab '[["variant", ["set 1", "set 100", "get 100"]]]'
// Workloads: set, get, increment, 1 at a time or 100 in flight. BENCH_ROUNDS (15), BENCH_OPS
// (5,000 per round one at a time), BENCH_INFLIGHT_OPS (20,000 per round 100 in flight).
import { performance } from 'node:perf_hooks';
import { RedisConnectionManager } from '@shim/connection';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { fmt, median, payload } from './common.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const OPS = Number(process.env.BENCH_OPS ?? 5_000);
const INFLIGHT_OPS = Number(process.env.BENCH_INFLIGHT_OPS ?? 20_000);
const dir = resolve(process.argv[2] ?? '.');
/** [[variant, [workload…]]…]: each variant is compared with `base.mjs` of the same directory. */
const pairs = JSON.parse(process.argv[3] ?? '[]');

async function rate(total, inflight, fn) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < total) await fn(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const server = await startRedis();
process.once('SIGTERM', () => {
  server.stop().finally(() => process.exit(1));
});
const states = {};
async function open(name) {
  if (states[name]) return states[name];
  const { StateManager } = await import(pathToFileURL(`${dir}/${name}.mjs`).href);
  const manager = new RedisConnectionManager({ url: server.url, namespace: `ab-${name}` });
  await manager.connect();
  states[name] = { manager, state: new StateManager(manager, { cleanupIntervalMs: 0 }) };
  return states[name];
}
const workloads = {
  'set 1': [OPS, 1, (s) => (i) => s.set(`k${i % 100}`, payload(i))],
  'set 100': [INFLIGHT_OPS, 100, (s) => (i) => s.set(`k${i % 100}`, payload(i))],
  'increment 1': [OPS, 1, (s) => () => s.increment('hits')],
  'increment 100': [INFLIGHT_OPS, 100, (s) => () => s.increment('hits')],
  'get 1': [OPS, 1, (s) => (i) => s.get(`k${i % 100}`)],
  'get 100': [INFLIGHT_OPS, 100, (s) => (i) => s.get(`k${i % 100}`)],
};
console.log(
  '| variant | workload | base ops/s | variant ops/s | variant ÷ base | per-round range | per-round ratios |',
);
console.log('|---|---|---|---|---|---|---|');
try {
  for (const [variant, names] of pairs) {
    const a = (await open('base')).state;
    const b = (await open(variant)).state;
    for (let i = 0; i < 100; i += 1) {
      await a.set(`k${i}`, payload(i));
      await b.set(`k${i}`, payload(i));
    }
    for (const name of names) {
      const [total, inflight, make] = workloads[name];
      const fa = make(a);
      const fb = make(b);
      await rate(Math.min(total, 5_000), inflight, fa);
      await rate(Math.min(total, 5_000), inflight, fb);
      const ra = [],
        rb = [],
        ratios = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const [first, second] = round % 2 === 0 ? [fa, fb] : [fb, fa];
        const x = await rate(total, inflight, first);
        const y = await rate(total, inflight, second);
        const [baseRate, variantRate] = round % 2 === 0 ? [x, y] : [y, x];
        ra.push(baseRate);
        rb.push(variantRate);
        ratios.push(variantRate / baseRate);
      }
      const spread = `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}`;
      const row = `| ${variant} | ${name} | ${fmt(median(ra))} | ${fmt(median(rb))} | ${fmt(median(ratios), 2)}× | ${spread} | ${ratios.map((r) => fmt(r, 2)).join(' ')} |`;
      console.log(row);
    }
  }
} finally {
  for (const { state, manager } of Object.values(states)) {
    await state.close();
    await manager.disconnect();
  }
  await server.stop();
}
