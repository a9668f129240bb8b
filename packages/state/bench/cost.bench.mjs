// Where the time of a write goes: per operation, the client's CPU (process.cpuUsage), Redis' CPU
// (INFO cpu of the server process, I/O included) and the command's own time (INFO commandstats
// usec_per_call), for StateManager's set/increment, the same EVALSHA replayed by hand (no wrapper),
// and raw ioredis. Run with `npm run bench:cost -w @shim/state` (builds first); uses REDIS_URL or a
// private redis-server. BENCH_OPS (default 30,000) operations per measurement, 100 in flight.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RedisConnectionManager } from '@shim/connection';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { StateManager } from '../dist/index.js';
import { captureEvalsha, fmt, median, payload } from './common.mjs';

const OPS = Number(process.env.BENCH_OPS ?? 30_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 100);

async function serverCpu(redis) {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:(\S+)/.exec(info)[1]);
  const sys = Number(/used_cpu_sys:(\S+)/.exec(info)[1]);
  return (user + sys) * 1e6;
}

async function commandStats(redis) {
  const info = await redis.info('commandstats');
  const stats = {};
  for (const match of info.matchAll(/cmdstat_(\S+?):calls=(\d+),usec=(\d+)/g)) {
    stats[match[1]] = { calls: Number(match[2]), usec: Number(match[3]) };
  }
  return stats;
}

/** One measurement: ops/s, client µs/op, server µs/op, and each command's µs per call. */
async function measure(admin, { total, inflight, fn }) {
  await admin.config('RESETSTAT');
  const serverBefore = await serverCpu(admin);
  const cpuBefore = process.cpuUsage();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < total) await fn(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = await serverCpu(admin);
  const stats = await commandStats(admin);
  const commands = [];
  for (const [name, { calls, usec }] of Object.entries(stats)) {
    if (name.startsWith('config') || name === 'info' || name === 'ping') continue;
    commands.push(`${name} ${fmt(usec / calls, 2)}µs×${fmt(calls / total, 2)}`);
  }
  return {
    rate: total / seconds,
    client: (cpu.user + cpu.system) / total,
    server: (serverAfter - serverBefore) / total,
    commands: commands.join(', '),
  };
}

const redisServer = await startRedis();
const admin = new Redis(redisServer.url);
const raw = new Redis(redisServer.url);
const manager = new RedisConnectionManager({ url: redisServer.url, namespace: 'bench' });
await manager.connect();
const state = new StateManager(manager, { cleanupIntervalMs: 0 });

try {
  await state.set('k0', payload(0));
  await state.increment('hits');
  const setArgs = await captureEvalsha(manager, () => state.set('k0', payload(0)));
  const incrementArgs = await captureEvalsha(manager, () => state.increment('hits'));
  const minimal = await raw.script('LOAD', "return redis.call('HSET', KEYS[1], 'value', ARGV[1])");

  const variants = [
    ['raw HSET of the JSON', (i) => raw.hset(`bench:raw:k${i % 100}`, 'value', JSON.stringify(payload(i)))],
    [
      'raw MULTI HINCRBY+HSET+PUBLISH',
      (i) => {
        const json = JSON.stringify(payload(i));
        return raw
          .multi()
          .hincrby(`bench:raw:v${i % 100}`, 'version', 1)
          .hset(`bench:raw:v${i % 100}`, 'value', json)
          .publish(`bench:raw:changes:${i % 100}`, json)
          .exec();
      },
    ],
    [
      'EVALSHA of a one-HSET script',
      (i) => raw.evalsha(minimal, 1, `bench:raw:m${i % 100}`, JSON.stringify(payload(i))),
    ],
    ["set's EVALSHA replayed by hand (same JSON)", () => raw.evalsha(...setArgs)],
    ['state.set', (i) => state.set(`k${i % 100}`, payload(i))],
    ['raw HINCRBY', () => raw.hincrby('bench:raw:hits', 'value', 1)],
    ["increment's EVALSHA replayed by hand", () => raw.evalsha(...incrementArgs)],
    ['state.increment', () => state.increment('hits')],
  ];
  const only = process.env.BENCH_ONLY;
  console.log(`${fmt(OPS)} ops × ${ROUNDS} rounds, ${INFLIGHT} in flight; medians`);
  console.log('');
  console.log(
    "| operation | ops/s | client CPU µs/op | Redis CPU µs/op | commands (µs per call × calls per op; a script's time includes its calls) |",
  );
  console.log('|---|---|---|---|---|');
  for (const [label, fn] of variants) {
    if (only !== undefined && !label.includes(only)) continue;
    await measure(admin, { total: Math.min(OPS, 5_000), inflight: INFLIGHT, fn });
    const results = [];
    for (let round = 0; round < ROUNDS; round += 1)
      results.push(await measure(admin, { total: OPS, inflight: INFLIGHT, fn }));
    const pick = (field) => median(results.map((result) => result[field]));
    console.log(
      `| ${label} | ${fmt(pick('rate'))} | ${fmt(pick('client'), 1)} | ${fmt(pick('server'), 1)} | ${results[results.length - 1].commands} |`,
    );
  }
} finally {
  await state.close();
  await manager.disconnect();
  admin.disconnect();
  raw.disconnect();
  await redisServer.stop();
}
