// Benchmark: 1,000 workers heartbeating once a second, and listActive() latency with 1,000 and
// 10,000 registered workers. Run with `npm run bench -w @shim/worker-registry` (builds first).
// Spawns a private redis-server on a free loopback port (or uses REDIS_URL) so its INFO counters
// belong to this run only.
//
// listActive() is measured three ways: alone after the heartbeat phase (what the target refers
// to), while the 1,000 heartbeats/s run in this same process and on the same connection, and
// while a tenth of those heartbeats also change a status (100 changes/s, so nearly every call has
// changed workers to read). Each way, calls alternate with calls of the plain version (one script
// returning every alive worker's info, status and heartbeat; no copy kept), so both see the same
// machine. "full read" is the first call of a registry with no copy yet.
import { reportBench } from '../../../scripts/bench-report.mjs';
import { deepStrictEqual } from 'node:assert/strict';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { RedisConnectionManager } from '@shim/connection';
import { luaScript, parseJsonWithoutProto, runLuaScript } from '@shim/connection/kit';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { registryKeys, WorkerRegistry } from '../dist/index.js';

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

// The plain listActive() the copy is measured against: every alive worker's info, status and last
// heartbeat (by Redis' clock), joined in C by table.concat, parsed with one JSON.parse per call.
const PLAIN_LIST = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local infos, statuses, beats = {}, {}, {}
for start = 1, #found, 2000 do
  local ids, scores = {}, {}
  for i = start, math.min(start + 1999, #found), 2 do
    ids[#ids + 1] = found[i]
    scores[#scores + 1] = found[i + 1]
  end
  local chunkInfos = redis.call('HMGET', KEYS[2], unpack(ids))
  local chunkStatuses = redis.call('HMGET', KEYS[3], unpack(ids))
  for i = 1, #ids do
    if chunkInfos[i] then
      infos[#infos + 1] = chunkInfos[i]
      statuses[#statuses + 1] = chunkStatuses[i] or 'offline'
      beats[#beats + 1] = scores[i]
    end
  end
end
return { table.concat(infos, '\\n'), table.concat(statuses, ','), table.concat(beats, ',') }
`);

/** The plain version of `listActive()` on `manager`'s namespace. */
async function plainListActive(manager, ttlMs) {
  const keys = registryKeys(manager.namespace);
  const [infos, statuses, beats] = await runLuaScript(manager.getConnection(), PLAIN_LIST, {
    keys: [keys.alive, keys.info, keys.status],
    args: [ttlMs],
  });
  if (infos === '') return [];
  const statusList = statuses.split(',');
  const beatList = beats.split(',');
  return parseJsonWithoutProto(`[${infos.replaceAll('\n', ',')}]`).map(
    ({ id, incarnation, metadata, registeredAt }, i) => ({
      id,
      incarnation,
      metadata,
      registeredAt,
      status: statusList[i],
      lastHeartbeat: Number(beatList[i]),
    }),
  );
}

function percentiles(times) {
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))];
  return { p50: at(0.5), p99: at(0.99), calls: times.length };
}

/** Times one call of `list`, which must list `expected` workers. Unit: ms. */
async function timed(list, expected) {
  const started = performance.now();
  const workers = await list();
  const ms = performance.now() - started;
  if (workers.length !== expected) throw new Error(`listActive() listed ${workers.length}, not ${expected}`);
  return ms;
}

/**
 * listActive() latency of each function of `lists` ({ name: list }): `calls` rounds (after 20
 * unmeasured), each calling every list once, in turn, so they all see the same machine.
 */
async function listLatency(lists, calls, expected) {
  const times = Object.fromEntries(Object.keys(lists).map((name) => [name, []]));
  for (let n = -20; n < calls; n += 1) {
    for (const [name, list] of Object.entries(lists)) {
      const ms = await timed(list, expected);
      if (n >= 0) times[name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, list]) => [name, percentiles(list)]));
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

/** One call of each of `lists` every 10 ms (in turn) while `load` runs. */
async function underLoad(lists, load) {
  const times = Object.fromEntries(Object.keys(lists).map((name) => [name, []]));
  let done = false;
  const loading = load().finally(() => (done = true));
  // Let every worker's timer start first.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  while (!done) {
    for (const [name, list] of Object.entries(lists)) {
      times[name].push(await timed(list, WORKERS));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const result = await loading;
  return Object.fromEntries(Object.entries(times).map(([name, list]) => [name, { ...percentiles(list), ...result }]));
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
  // A registry made for the call has no copy: its listActive() reads every worker in full.
  const fullRead = () => new WorkerRegistry(manager, readerOptions).listActive();
  const quiet = {
    copy: () => reader.listActive(),
    plain: () => plainListActive(manager, readerOptions.heartbeatTtlMs),
    full: fullRead,
  };
  // Same answer both ways (no heartbeat runs now), so the figures compare like with like.
  deepStrictEqual(await quiet.plain(), await quiet.copy());
  const small = await listLatency(quiet, 300, WORKERS);
  const busy = { copy: () => registry.listActive(), plain: () => plainListActive(manager, 15_000) };
  const loaded = await underLoad(busy, () => heartbeatLoad(registry, { workers: WORKERS, seconds: LOAD_SECONDS }));
  const churn = await underLoad(busy, () =>
    heartbeatLoad(registry, { workers: WORKERS, seconds: LOAD_SECONDS, statusEvery: 10 }),
  );

  for (let n = WORKERS; n < LARGE; n += 1) {
    await registry.registerWorker(`worker-${n}`, { capabilities: [capabilities[n % 4]], model: 'assistant' });
  }
  const large = await listLatency(quiet, 100, LARGE);

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
  console.log('| figure | copy (p50 / p99) | plain (p50 / p99) | plain ÷ copy, p50 / p99 | target |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| Redis commands per heartbeat | ${fmt(commandsPerBeat)} (EVALSHA: ${fmt((after.evalsha - before.evalsha) / beats)}) | | | one round trip |`,
  );
  console.log(
    `| Redis CPU during heartbeats | ${fmt((cpuSeconds / SECONDS) * 100, 1)} % of one core (${fmt(cpuSeconds)} s in ${SECONDS} s) | | | |`,
  );
  const pair = (figures) => `${fmt(figures.p50)} / ${fmt(figures.p99)} ms`;
  const row = (label, { copy, plain }, target = '') =>
    console.log(
      `| ${label} | ${pair(copy)} | ${pair(plain)} | ${fmt(plain.p50 / copy.p50)}× / ${fmt(plain.p99 / copy.p99)}× | ${target} |`,
    );
  row(`listActive() with ${fmt(WORKERS, 0)} workers`, small, 'p99 < 5 ms');
  row(`… during ${fmt(WORKERS, 0)} heartbeats/s (${loaded.copy.calls} + ${loaded.plain.calls} calls)`, loaded);
  row(
    `… during ${fmt(WORKERS, 0)} heartbeats/s, 100 status changes/s (${churn.copy.calls} + ${churn.plain.calls} calls)`,
    churn,
  );
  row(`listActive() with ${fmt(LARGE, 0)} workers`, large);
  console.log(
    `| … full read (a registry's first call), ${fmt(WORKERS, 0)} / ${fmt(LARGE, 0)} workers | ${pair(small.full)} / ${pair(large.full)} | | | |`,
  );
  const evalshaPerBeat = (after.evalsha - before.evalsha) / beats;
  const absolute = (scenario, wrapper, target = '') => ({
    scenario,
    unit: scenario.startsWith('round') ? '' : 'ms',
    raw: null,
    wrapper,
    ratio: null,
    target,
    met: null,
  });
  reportBench('@shim/worker-registry (absolute)', [
    {
      ...absolute('round trips (EVALSHA) per heartbeat', evalshaPerBeat, '= 1'),
      met: Math.abs(evalshaPerBeat - 1) < 0.01,
    },
    { ...absolute(`listActive() p99, ${WORKERS} workers`, small.copy.p99, '< 5 ms'), met: small.copy.p99 < 5 },
    absolute(`listActive() p50, ${WORKERS} workers`, small.copy.p50),
    absolute(`listActive() p99, ${LARGE} workers`, large.copy.p99),
  ]);
  // The copy against the plain version, same run: raw = plain, wrapper = copy, ratio = plain ÷ copy.
  const versus = (scenario, { copy, plain }) => ({
    scenario,
    unit: 'ms',
    raw: plain.p50,
    wrapper: copy.p50,
    ratio: plain.p50 / copy.p50,
    target: '≥ 1.1',
    met: plain.p50 / copy.p50 >= 1.1,
  });
  reportBench('@shim/worker-registry (listActive copy vs plain, p50)', [
    versus(`${WORKERS} workers`, small),
    versus(`${WORKERS} workers, during heartbeats`, loaded),
    versus(`${WORKERS} workers, during heartbeats and status changes`, churn),
    versus(`${LARGE} workers`, large),
  ]);
  const failedUnderLoad = loaded.copy.failures + churn.copy.failures;
  if (failedUnderLoad > 0) console.log(`(${failedUnderLoad} heartbeats failed under load)`);
} finally {
  await registry.close();
  await reader.close();
  await manager.disconnect();
  await redisServer.stop();
}
