// Benchmark: 1,000 workers heartbeating once a second, and listActive() latency with 1,000 and
// 10,000 registered workers. Run with `npm run bench -w @shim/worker-registry` (builds first).
// Spawns a private redis-server on a free loopback port (or uses REDIS_URL) so its INFO counters
// belong to this run only.
//
// listActive() is measured three ways: alone after the heartbeat phase (what the target refers
// to), while the 1,000 heartbeats/s run in this same process and on the same connection, and
// while a tenth of those heartbeats also change a status (100 changes/s, so nearly every call has
// changed workers to read). "full read" is the first call of a registry with no copy yet: what
// every call cost before listActive() kept one, and what it costs when everything changed.
import { reportBench } from '../../../scripts/bench-report.mjs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { RedisConnectionManager } from '@shim/connection';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { WorkerRegistry } from '../dist/index.js';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const LARGE = Number(process.env.BENCH_LARGE ?? 10_000);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);

function parseInfo(text) {
  const values = {};
  for (const line of text.split('\r\n')) {
    const [key, value] = line.split(':');
    if (value !== undefined) values[key] = value;
  }
  return values;
}

async function counters(redis) {
  const info = parseInfo(await redis.info('all'));
  const evalsha = /calls=(\d+)/.exec(info.cmdstat_evalsha ?? '')?.[1] ?? '0';
  return {
    commands: Number(info.total_commands_processed),
    evalsha: Number(evalsha),
    cpu: Number(info.used_cpu_user) + Number(info.used_cpu_sys),
  };
}

function percentiles(times) {
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))];
  return { p50: at(0.5), p99: at(0.99), calls: times.length };
}

/** listActive() latency: `calls` calls (after 20 unmeasured); `list` makes the call, which must list `expected` workers. */
async function listLatency(list, calls, expected) {
  const times = [];
  for (let n = -20; n < calls; n += 1) {
    const started = performance.now();
    const workers = await list();
    if (n >= 0) times.push(performance.now() - started);
    if (workers.length !== expected) throw new Error(`listActive() listed ${workers.length}, not ${expected}`);
  }
  return percentiles(times);
}

/**
 * `workers` workers each beating once a second, spread evenly over the second, for `seconds`; one
 * beat in `statusEvery` (0 = none) also flips the worker's status. Resolves when they have stopped.
 */
async function heartbeatLoad(registry, { workers, seconds, statusEvery = 0 }) {
  let beats = 0;
  let failures = 0;
  let count = 0;
  const endAt = Date.now() + seconds * 1000;
  const timers = [];
  for (let n = 0; n < workers; n += 1) {
    const start = setTimeout(
      () => {
        const beat = () => {
          if (Date.now() >= endAt) return;
          count += 1;
          const options = statusEvery > 0 && count % statusEvery === 0 ? { status: count % 2 ? 'busy' : 'idle' } : {};
          registry.heartbeat(`worker-${n}`, options).then(
            () => (beats += 1),
            () => (failures += 1),
          );
        };
        beat();
        timers.push(setInterval(beat, 1000));
      },
      (n * 1000) / workers,
    );
    timers.push(start);
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 500));
  for (const timer of timers) clearInterval(timer);
  return { beats, failures };
}

/** listActive() every 10 ms while `load` runs. */
async function underLoad(registry, load) {
  const times = [];
  let done = false;
  const loading = load().finally(() => (done = true));
  // Let every worker's timer start first.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  while (!done) {
    const started = performance.now();
    const workers = await registry.listActive();
    times.push(performance.now() - started);
    if (workers.length !== WORKERS) throw new Error(`listActive() listed ${workers.length}, not ${WORKERS}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const result = await loading;
  return { ...percentiles(times), ...result };
}

const redisServer = await startRedis();
const manager = new RedisConnectionManager({ url: redisServer.url, namespace: 'bench' });
await manager.connect();
const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 15_000 });
// Measures listActive() after the heartbeats stopped: a TTL long enough that every worker stays
// alive however long the measuring takes (the TTL changes a bound, not the work).
const readerOptions = { heartbeatTtlMs: 3_600_000 };
const reader = new WorkerRegistry(manager, readerOptions);
try {
  const capabilities = ['typescript', 'python', 'review', 'tests'];
  for (let n = 0; n < WORKERS; n += 1) {
    await registry.registerWorker(`worker-${n}`, {
      capabilities: [capabilities[n % 4]],
      model: 'assistant',
      host: `host-${n % 20}`,
    });
  }
  // Warm the script cache and the connection before counting.
  await registry.heartbeat('worker-0');
  const redis = manager.getConnection();
  const before = await counters(redis);
  const { beats, failures } = await heartbeatLoad(registry, { workers: WORKERS, seconds: SECONDS });
  const after = await counters(redis);
  const small = await listLatency(() => reader.listActive(), 300, WORKERS);
  // A registry made for the call has no copy: its listActive() reads every worker in full.
  const fullRead = () => new WorkerRegistry(manager, readerOptions).listActive();
  const smallFull = await listLatency(fullRead, 300, WORKERS);
  const loaded = await underLoad(registry, () => heartbeatLoad(registry, { workers: WORKERS, seconds: LOAD_SECONDS }));
  const churn = await underLoad(registry, () =>
    heartbeatLoad(registry, { workers: WORKERS, seconds: LOAD_SECONDS, statusEvery: 10 }),
  );

  for (let n = WORKERS; n < LARGE; n += 1) {
    await registry.registerWorker(`worker-${n}`, { capabilities: [capabilities[n % 4]], model: 'assistant' });
  }
  const large = await listLatency(() => reader.listActive(), 100, LARGE);
  const largeFull = await listLatency(fullRead, 100, LARGE);

  const fmt = (n, digits = 2) =>
    n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  // The counters' own INFO call is one command; heartbeats are the only other traffic meanwhile.
  const commandsPerBeat = (after.commands - before.commands - 1) / beats;
  const cpuSeconds = after.cpu - before.cpu;
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, Redis ${parseInfo(await redis.info('server')).redis_version}`,
  );
  console.log(
    `workload: ${WORKERS} workers × 1 heartbeat/s for ${SECONDS} s = ${beats} heartbeats (${failures} failed)`,
  );
  console.log('');
  console.log('| figure | value | target |');
  console.log('|---|---|---|');
  console.log(
    `| Redis commands per heartbeat | ${fmt(commandsPerBeat)} (EVALSHA: ${fmt((after.evalsha - before.evalsha) / beats)}) | one round trip |`,
  );
  console.log(
    `| Redis CPU during heartbeats | ${fmt((cpuSeconds / SECONDS) * 100, 1)} % of one core (${fmt(cpuSeconds)} s in ${SECONDS} s) | |`,
  );
  const row = (label, figures, target = '') =>
    console.log(`| ${label} | ${fmt(figures.p50)} / ${fmt(figures.p99)} ms | ${target} |`);
  row(`listActive() with ${fmt(WORKERS, 0)} workers, p50 / p99`, small, 'p99 < 5 ms');
  row(`… full read (no copy yet), p50 / p99`, smallFull);
  row(`… during ${fmt(WORKERS, 0)} heartbeats/s (${loaded.calls} calls), p50 / p99`, loaded);
  row(`… during ${fmt(WORKERS, 0)} heartbeats/s, 100 status changes/s (${churn.calls} calls), p50 / p99`, churn);
  row(`listActive() with ${fmt(LARGE, 0)} workers, p50 / p99`, large);
  row(`… full read (no copy yet), p50 / p99`, largeFull);
  const evalshaPerBeat = (after.evalsha - before.evalsha) / beats;
  reportBench('@shim/worker-registry (absolute)', [
    {
      scenario: 'round trips (EVALSHA) per heartbeat',
      unit: '',
      raw: null,
      wrapper: evalshaPerBeat,
      ratio: null,
      target: '= 1',
      met: Math.abs(evalshaPerBeat - 1) < 0.01,
    },
    {
      scenario: `listActive() p99, ${WORKERS} workers`,
      unit: 'ms',
      raw: null,
      wrapper: small.p99,
      ratio: null,
      target: '< 5 ms',
      met: small.p99 < 5,
    },
    {
      scenario: `listActive() p50, ${WORKERS} workers`,
      unit: 'ms',
      raw: null,
      wrapper: small.p50,
      ratio: null,
      target: '',
      met: null,
    },
    {
      scenario: `listActive() p99, ${LARGE} workers`,
      unit: 'ms',
      raw: null,
      wrapper: large.p99,
      ratio: null,
      target: '',
      met: null,
    },
  ]);
  if (loaded.failures + churn.failures > 0)
    console.log(`(${loaded.failures + churn.failures} heartbeats failed under load)`);
} finally {
  await registry.close();
  await reader.close();
  await manager.disconnect();
  await redisServer.stop();
}
