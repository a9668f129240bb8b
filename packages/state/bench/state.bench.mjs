// Benchmark: StateManager against raw ioredis doing the same work, in one run. Run with
// `npm run bench -w @shim/state` (builds first). Uses REDIS_URL, or spawns a private redis-server
// on a free loopback port so nothing else shares the server while it measures.
import { meets, reportBench } from '../../../scripts/bench-report.mjs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { RedisConnectionManager } from '@shim/connection';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';
import { StateManager } from '../dist/index.js';
import { captureEvalsha, fmt, median, payload } from './common.mjs';

const require = createRequire(import.meta.url);
const OPS = Number(process.env.BENCH_OPS ?? 10_000);
const INFLIGHT_OPS = Number(process.env.BENCH_INFLIGHT_OPS ?? 30_000);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** ops/s of `total` calls of `fn(index)`, `inflight` at a time. */
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

/**
 * Runs raw and ours back to back for ROUNDS rounds (after a warm-up of each). The ratio is the
 * median of the per-round ratios: each pair shares the machine's state of the moment, so a noisy
 * neighbour or a CPU-frequency change shifts both sides of a pair instead of one side of the table.
 */
async function compare({ label, total, inflight, raw, ours }) {
  await rate(Math.min(total, 5_000), inflight, raw);
  await rate(Math.min(total, 5_000), inflight, ours);
  const raws = [];
  const oursRates = [];
  const ratios = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate which side goes first, so neither always runs on a warmer machine.
    const [first, second] = round % 2 === 0 ? [raw, ours] : [ours, raw];
    const a = await rate(total, inflight, first);
    const b = await rate(total, inflight, second);
    const [rawRate, oursRate] = round % 2 === 0 ? [a, b] : [b, a];
    raws.push(rawRate);
    oursRates.push(oursRate);
    ratios.push(oursRate / rawRate);
  }
  return { label, raw: median(raws), ours: median(oursRates), ratio: median(ratios), ratios };
}

async function newState(url, options = {}) {
  const manager = new RedisConnectionManager({ url, namespace: 'bench' });
  await manager.connect();
  const state = new StateManager(manager, { cleanupIntervalMs: 0, ...options });
  return {
    state,
    manager,
    close: async () => {
      await state.close();
      await manager.disconnect();
    },
  };
}

/** Full-jitter backoff, the same schedule atomicUpdate uses by default (2 ms doubling to 50 ms). */
const backoff = (attempt) => Math.floor(Math.random() * (Math.min(50, 2 * 2 ** (attempt - 1)) + 1));

/**
 * Raw WATCH/MULTI/EXEC read-modify-write of the same JSON, retried on conflict: at once (the
 * textbook loop) or after the same jittered backoff as atomicUpdate.
 */
async function watchUpdate(redis, key, { update, stats, withBackoff }) {
  for (let attempt = 1; ; attempt += 1) {
    await redis.watch(key);
    const current = await redis.hget(key, 'value');
    const next = JSON.stringify(update(current === null ? undefined : JSON.parse(current)));
    const result = await redis.multi().hset(key, 'value', next).exec();
    if (result !== null) return;
    stats.retries += 1;
    const delay = withBackoff ? backoff(attempt) : 0;
    if (delay > 0) await sleep(delay);
  }
}

const bump = (value) => ({ ...(value ?? payload(0)), count: (value?.count ?? 0) + 1 });

/** The raw loop with `contenders` connections (WATCH belongs to a connection): ops/s, retries per update, final count. */
async function rawContention(url, { contenders, perContender, withBackoff }) {
  const raws = await Promise.all(Array.from({ length: contenders }, () => new Redis(url)));
  const rawKey = `bench:raw:counter:${contenders}:${withBackoff}`;
  await raws[0].del(rawKey);
  const stats = { retries: 0 };
  const started = performance.now();
  await Promise.all(
    raws.map(async (redis) => {
      for (let n = 0; n < perContender; n += 1) await watchUpdate(redis, rawKey, { update: bump, stats, withBackoff });
    }),
  );
  const rate = (perContender * contenders) / ((performance.now() - started) / 1000);
  const count = JSON.parse(await raws[0].hget(rawKey, 'value')).count;
  await Promise.all(raws.map((redis) => redis.quit()));
  return { rate, retries: stats.retries / (perContender * contenders), count };
}

async function contention(url, contenders) {
  const total = UPDATES;
  const perContender = Math.ceil(total / contenders);
  const textbook = await rawContention(url, { contenders, perContender, withBackoff: false });
  const backedOff = await rawContention(url, { contenders, perContender, withBackoff: true });

  const clients = await Promise.all(
    Array.from({ length: contenders }, () => newState(url, { scope: `c${contenders}` })),
  );
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async ({ state }) => {
      for (let n = 0; n < perContender; n += 1) {
        await state.atomicUpdate('counter', (value) => {
          calls += 1;
          return bump(value);
        });
      }
    }),
  );
  const oursRate = (perContender * contenders) / ((performance.now() - started) / 1000);
  const oursCount = (await clients[0].state.get('counter')).count;
  await Promise.all(clients.map((client) => client.close()));
  const expected = perContender * contenders;
  return {
    contenders,
    textbook,
    backedOff,
    ours: oursRate,
    oursRetries: (calls - expected) / expected,
    lost: 3 * expected - textbook.count - backedOff.count - oursCount,
  };
}

const redisServer = await startRedis();
const raw = new Redis(redisServer.url);
const { state, manager, close } = await newState(redisServer.url);
const rows = [];
try {
  // get/set: the same JSON, raw HSET/HGET (JSON done by hand) against set/get.
  const rawSet = (i) => raw.hset(`bench:raw:k${i % 100}`, 'value', JSON.stringify(payload(i)));
  const oursSet = (i) => state.set(`k${i % 100}`, payload(i));
  const rawVersionedSet = (i) => {
    const json = JSON.stringify(payload(i));
    return raw
      .multi()
      .hincrby(`bench:raw:v${i % 100}`, 'version', 1)
      .hset(`bench:raw:v${i % 100}`, 'value', json)
      .publish(`bench:raw:changes:${i % 100}`, json)
      .exec();
  };
  const rawGet = async (i) => JSON.parse(await raw.hget(`bench:raw:k${i % 100}`, 'value'));
  const oursGet = (i) => state.get(`k${i % 100}`);
  const rawIncrement = () => raw.hincrby('bench:raw:hits', 'value', 1);
  const oursIncrement = () => state.increment('hits');
  // The floor for any wrapper: the exact script call that set/increment send, made by raw ioredis
  // (fresh JSON, the same keys), with no validation, key building or reply parsing around it.
  const [setSha, ...setTemplate] = await captureEvalsha(manager, () => state.set('k0', payload(0)));
  // A plain set sends 3 keys (entry, index, expiries) and ARGV [key, channel, json, '', '', '', '']; replaying anything
  // else would measure something else.
  if (setTemplate.length !== 11 || setTemplate[0] !== 3 || setTemplate[4] !== 'k0') {
    throw new Error(`set's script call changed shape: ${JSON.stringify(setTemplate.slice(0, 6))}; update this bench`);
  }
  const entryPrefix = setTemplate[1].slice(0, -'k0'.length);
  const channelPrefix = setTemplate[5].slice(0, -'k0'.length);
  const scriptSet = (i) =>
    raw.evalsha(
      setSha,
      setTemplate[0],
      `${entryPrefix}k${i % 100}`,
      setTemplate[2],
      setTemplate[3],
      `k${i % 100}`,
      `${channelPrefix}k${i % 100}`,
      JSON.stringify(payload(i)),
      ...setTemplate.slice(7),
    );
  const incrementCall = await captureEvalsha(manager, () => state.increment('hits'));
  const scriptIncrement = () => raw.evalsha(...incrementCall);
  const runs = [
    { label: 'set, 1 at a time', total: OPS, inflight: 1, raw: rawSet, ours: oursSet },
    { label: 'get, 1 at a time', total: OPS, inflight: 1, raw: rawGet, ours: oursGet },
    {
      // Not a target: what a versioned, notifying write costs without Lua (no conflict check, no Redis time).
      label: 'set vs MULTI HINCRBY+HSET+PUBLISH, 1 at a time',
      total: OPS,
      inflight: 1,
      raw: rawVersionedSet,
      ours: oursSet,
    },
    // Not targets: how far the script alone is from HSET, and what the wrapper adds to it.
    {
      label: "set's script sent by raw ioredis vs HSET, 1 at a time",
      total: OPS,
      inflight: 1,
      raw: rawSet,
      ours: scriptSet,
    },
    {
      label: "set vs set's script sent by raw ioredis, 1 at a time",
      total: OPS,
      inflight: 1,
      raw: scriptSet,
      ours: oursSet,
    },
    { label: 'set, 100 in flight', total: INFLIGHT_OPS, inflight: 100, raw: rawSet, ours: oursSet },
    { label: 'get, 100 in flight', total: INFLIGHT_OPS, inflight: 100, raw: rawGet, ours: oursGet },
    { label: 'increment vs HINCRBY, 1 at a time', total: OPS, inflight: 1, raw: rawIncrement, ours: oursIncrement },
    {
      label: "increment's script sent by raw ioredis vs HINCRBY, 1 at a time",
      total: OPS,
      inflight: 1,
      raw: rawIncrement,
      ours: scriptIncrement,
    },
    {
      label: "increment vs increment's script sent by raw ioredis, 1 at a time",
      total: OPS,
      inflight: 1,
      raw: scriptIncrement,
      ours: oursIncrement,
    },
    {
      label: 'increment vs HINCRBY, 100 in flight',
      total: INFLIGHT_OPS,
      inflight: 100,
      raw: rawIncrement,
      ours: oursIncrement,
    },
    {
      label: 'lock + release vs SET NX PX + DEL, 1 at a time',
      total: OPS,
      inflight: 1,
      raw: async (i) => {
        await raw.set(`bench:raw:lock${i % 10}`, 'me', 'PX', 30_000, 'NX');
        await raw.del(`bench:raw:lock${i % 10}`);
      },
      ours: async (i) => {
        const lock = await state.lock(`l${i % 10}`);
        await lock.release();
      },
    },
  ];
  for (const run of runs) rows.push(await compare(run));

  const contended = [];
  for (const contenders of [1, 5, 20]) contended.push(await contention(redisServer.url, contenders));

  const info = await raw.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1];
  const ioredisVersion = require('ioredis/package.json').version;
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ioredis ${ioredisVersion}, Redis ${version}`,
  );
  console.log(
    `workload: ~200-byte JSON values; ops/s are medians of ${ROUNDS} rounds after a warm-up; the ratio is the median of the ${ROUNDS} per-round ratios (raw and ours back to back)`,
  );
  console.log('');
  console.log('| operation | raw ioredis ops/s | @shim/state ops/s | ratio | per-round ratios | target |');
  console.log('|---|---|---|---|---|---|');
  const targets = {
    'set, 1 at a time': '≥ 0.8×',
    'get, 1 at a time': '≥ 0.8×',
    'set, 100 in flight': '≥ 0.8×',
    'get, 100 in flight': '≥ 0.8×',
    'increment vs HINCRBY, 1 at a time': '≥ 0.8×',
    'increment vs HINCRBY, 100 in flight': '≥ 0.8×',
  };
  for (const row of rows) {
    console.log(
      `| ${row.label} | ${fmt(row.raw)} | ${fmt(row.ours)} | ${fmt(row.ratio, 2)}× | ${row.ratios.map((r) => fmt(r, 2)).join(' ')} | ${targets[row.label] ?? ''} |`,
    );
  }
  console.log('');
  console.log(
    `atomic read-modify-write of one ~200-byte JSON counter, ${fmt(UPDATES)} updates per run, each contender on its own connection; raw WATCH/MULTI/EXEC loop retrying at once (textbook) and with atomicUpdate's jittered backoff:`,
  );
  console.log('');
  console.log(
    '| contenders | WATCH loop, at once: ops/s (retries/update) | WATCH loop, backoff: ops/s (retries/update) | atomicUpdate: ops/s (retries/update) | ratio vs at once / vs backoff | lost updates | target |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const row of contended) {
    console.log(
      `| ${row.contenders} | ${fmt(row.textbook.rate)} (${fmt(row.textbook.retries, 2)}) | ${fmt(row.backedOff.rate)} (${fmt(row.backedOff.retries, 2)}) | ${fmt(row.ours)} (${fmt(row.oursRetries, 2)}) | ${fmt(row.ours / row.textbook.rate, 2)}× / ${fmt(row.ours / row.backedOff.rate, 2)}× | ${row.lost} | ${row.contenders === 20 ? '≥ 2×, 0 lost' : '0 lost'} |`,
    );
  }
  const target = (label) => (targets[label] ?? '').replace('×', '');
  reportBench('@shim/state vs ioredis', [
    ...rows.map((row) => ({
      scenario: row.label,
      unit: 'ops/s',
      raw: row.raw,
      wrapper: row.ours,
      ratio: row.ratio,
      target: target(row.label),
      met: meets(row.ratio, target(row.label)),
    })),
    ...contended.map((row) => ({
      scenario: `atomicUpdate, ${row.contenders} contenders, vs WATCH loop retrying at once (${row.lost} lost)`,
      unit: 'ops/s',
      raw: row.textbook.rate,
      wrapper: row.ours,
      ratio: row.ours / row.textbook.rate,
      target: row.contenders === 20 ? '≥ 2' : '',
      met: row.contenders === 20 ? meets(row.ours / row.textbook.rate, '≥ 2') && row.lost === 0 : null,
    })),
    ...contended
      .filter((row) => row.contenders === 20)
      .map((row) => ({
        scenario: 'atomicUpdate, 20 contenders, vs WATCH loop with the same backoff',
        unit: 'ops/s',
        raw: row.backedOff.rate,
        wrapper: row.ours,
        ratio: row.ours / row.backedOff.rate,
        target: '',
        met: null,
      })),
  ]);
} finally {
  await close();
  raw.disconnect();
  await redisServer.stop();
}
