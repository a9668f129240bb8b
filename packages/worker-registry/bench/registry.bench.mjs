// Benchmark: 1,000 workers heartbeating once a second, and listActive() latency with 1,000 and
// 10,000 registered workers. Run with `npm run bench -w @shim/worker-registry` (builds first).
// Spawns a private redis-server on a free loopback port (or uses REDIS_URL) so its INFO counters
// belong to this run only.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { RedisConnectionManager } from '@shim/connection';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { WorkerRegistry } from '../dist/index.js';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const LARGE = Number(process.env.BENCH_LARGE ?? 10_000);

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

async function listLatency(registry, calls) {
  const times = [];
  for (let n = 0; n < calls; n += 1) {
    const started = performance.now();
    const workers = await registry.listActive();
    times.push(performance.now() - started);
    if (n === 0 && workers.length === 0) throw new Error('listActive() returned nobody');
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(calls * 0.5)], p99: times[Math.min(calls - 1, Math.floor(calls * 0.99))] };
}

const redisServer = await startRedis();
const manager = new RedisConnectionManager({ url: redisServer.url, namespace: 'bench' });
await manager.connect();
const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 15_000 });
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
  let beats = 0;
  let failures = 0;
  const endAt = Date.now() + SECONDS * 1000;
  // Each worker beats once a second, spread evenly over the second.
  const timers = [];
  for (let n = 0; n < WORKERS; n += 1) {
    const start = setTimeout(
      () => {
        const beat = () => {
          if (Date.now() >= endAt) return;
          registry.heartbeat(`worker-${n}`).then(
            () => (beats += 1),
            () => (failures += 1),
          );
        };
        beat();
        timers.push(setInterval(beat, 1000));
      },
      (n * 1000) / WORKERS,
    );
    timers.push(start);
  }
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000 + 500));
  for (const timer of timers) clearInterval(timer);
  const after = await counters(redis);
  const small = await listLatency(registry, 300);

  for (let n = WORKERS; n < LARGE; n += 1) {
    await registry.registerWorker(`worker-${n}`, { capabilities: [capabilities[n % 4]], model: 'assistant' });
  }
  const large = await listLatency(registry, 100);

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
  console.log(
    `| listActive() with ${fmt(WORKERS, 0)} workers, p50 / p99 | ${fmt(small.p50)} / ${fmt(small.p99)} ms | p99 < 5 ms |`,
  );
  console.log(`| listActive() with ${fmt(LARGE, 0)} workers, p50 / p99 | ${fmt(large.p50)} / ${fmt(large.p99)} ms | |`);
} finally {
  await registry.close();
  await manager.disconnect();
  await redisServer.stop();
}
