// Benchmark: TaskQueueWrapper against raw BullMQ, in one run, on one Redis.
// Run with `npm run bench -w @shim/task-queue` (builds @shim/connection and @shim/task-queue first).
// Uses REDIS_URL, or spawns a private redis-server on a free loopback port so nothing else shares
// the server (and its INFO counters) while it measures.
//
// Equal terms: raw BullMQ gets the setup the wrapper makes by default — the same prefix scheme
// (prefix = namespace, queue name in a `{hash tag}`), ioredis clients with `maxRetriesPerRequest:
// null` (one shared for the Queue, one for the Worker, which BullMQ duplicates for its blocking
// connection), the same job options (attempts, exponential backoff, removeOnFail) with the SAME
// retention as the wrapper's default (removeOnComplete { age: 86400, count: 10000 }), and the same
// Worker options (lock, stall check, removeOnComplete). The wrapper always sets a random UUID
// jobId, so the raw side does too. Two more raw sides, for information: "raw, removes every job"
// (removeOnComplete: true) measures what the wrapper's default retention costs, and "raw, no
// jobId" lets BullMQ number the jobs.
//
// Each scenario runs on a fresh queue; within a round the sides run one after the other per
// scenario, in an order rotated each round. Round 0 is a smaller warm-up and is not counted; the
// figures are medians of BENCH_ROUNDS rounds.
//
// Scenarios:
// - add, sequential: N jobs, each add awaited before the next.
// - add, 100 in flight: N jobs, 100 adds outstanding at any time.
// - add, bulk: N jobs in batches of 1,000 (addJobs / addBulk).
// - process, concurrency C: N jobs added beforehand (bulk, not timed), then a worker with a no-op
//   handler; from the first handler call until the last job is completed in Redis (every handler
//   has returned and the queue's active list is empty: BullMQ moves a job out of it in the same
//   script that marks it completed).
// - add→done latency: jobs added one at a time while a worker (concurrency 1) runs; each waits for
//   its `completed` event from BullMQ's event stream (raw: QueueEvents, wrapper: subscribe(), which
//   wraps QueueEvents) before the next is added.
import { meets, reportBench } from '../../../scripts/bench-report.mjs';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisConnectionManager } from '@shim/connection';
import { DEFAULT_TASK_QUEUE_OPTIONS, TaskQueueWrapper, queueNames } from '@shim/task-queue';
import { startRedis } from '../../../scripts/throwaway-redis.mjs';

const require = createRequire(import.meta.url);
const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const WARMUP_JOBS = Number(process.env.BENCH_WARMUP_JOBS ?? 2_000);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// Comma-separated scenario keys to run only those (addSeq, addFlight, addBulk, process1, process10, process50, latency).
const ONLY = process.env.BENCH_ONLY?.split(',');
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const BATCH = 1_000;
const IN_FLIGHT = 100;
const CONCURRENCIES = [1, 10, 50];
const NAMESPACE = 'bench';
const RUN = randomUUID().slice(0, 8);

// What the wrapper uses when given no options, in BullMQ's terms.
const defaults = DEFAULT_TASK_QUEUE_OPTIONS;
const KEEP_COMPLETED = {
  age: Math.ceil(defaults.keepCompleted.ageMs / 1000),
  count: defaults.keepCompleted.count,
};
const JOB_OPTIONS = {
  attempts: defaults.attempts,
  backoff: { type: defaults.backoff.type, delay: defaults.backoff.delayMs },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: false,
};
const WORKER_OPTIONS = {
  lockDuration: defaults.lockDurationMs,
  lockRenewTime: Math.floor(defaults.lockDurationMs / 2),
  stalledInterval: defaults.stalledIntervalMs,
  // The wrapper hands BullMQ MAX_SAFE_INTEGER for its default Infinity (BullMQ's Lua needs a number).
  maxStalledCount: Number.isFinite(defaults.maxStalledCount) ? defaults.maxStalledCount : Number.MAX_SAFE_INTEGER,
  removeOnComplete: KEEP_COMPLETED,
};

// A small job, like a task handed to an assistant.
const LATENCY_WARMUP = 20;
const payload = (index) => ({ task: `task-${index}`, file: 'src/components/Button.tsx', priority: 'normal' });

let queueCounter = 0;
const freshName = (scenario, side) => `${RUN}-${(queueCounter += 1)}-${scenario}-${side}`;

// ---------------------------------------------------------------- the two sides

/** Raw BullMQ, set up as the wrapper sets it up. `ids`: give every job a random UUID jobId; `removeAll`: keep no completed job. */
async function openRaw(url, name, { ids, removeAll = false }) {
  const { prefix, main } = queueNames(NAMESPACE, name);
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(main, { connection, prefix });
  queue.on('error', (error) => console.error('raw queue:', error.message));
  await queue.waitUntilReady();
  const jobOptions = removeAll ? { ...JOB_OPTIONS, removeOnComplete: true } : JOB_OPTIONS;
  const workerOptions = removeAll ? { ...WORKER_OPTIONS, removeOnComplete: { count: 0 } } : WORKER_OPTIONS;
  const options = () => (ids ? { ...jobOptions, jobId: randomUUID() } : { ...jobOptions });
  let worker;
  let workerConnection;
  let events;
  return {
    add: (data) => queue.add('task', data, options()),
    addBulk: (datas) => queue.addBulk(datas.map((data) => ({ name: 'task', data, opts: options() }))),
    process: async (handler, concurrency) => {
      workerConnection = new Redis(url, { maxRetriesPerRequest: null });
      worker = new Worker(main, handler, {
        connection: workerConnection,
        prefix,
        concurrency,
        autorun: false,
        ...workerOptions,
      });
      worker.on('error', (error) => console.error('raw worker:', error.message));
      worker.run().catch((error) => console.error('raw worker:', error.message));
      await Promise.all([worker.waitUntilReady(), queue.waitUntilReady()]);
    },
    onCompleted: async (handler) => {
      // As the wrapper's subscribe(): start right after the newest event in the stream.
      const newest = (await connection.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
      events = new QueueEvents(main, { connection, prefix, lastEventId: newest, autorun: false });
      events.on('error', (error) => console.error('raw events:', error.message));
      events.on('completed', ({ jobId }) => handler(jobId));
      events.run().catch((error) => console.error('raw events:', error.message));
      await events.waitUntilReady();
    },
    close: async () => {
      await worker?.close();
      await events?.close();
      await queue.close();
      workerConnection?.disconnect();
      connection.disconnect();
    },
  };
}

/** The wrapper with its defaults, on its own connection manager. */
async function openWrapper(url, name) {
  const manager = new RedisConnectionManager({ url, namespace: NAMESPACE });
  await manager.connect();
  const queue = new TaskQueueWrapper(manager, name);
  queue.on('error', (error) => console.error('wrapper:', error.message));
  await queue.getQueueStats(); // creates and readies the BullMQ queues, as raw's waitUntilReady()
  return {
    add: (data) => queue.addJob(data),
    addBulk: (datas) => queue.addJobs(datas.map((data) => ({ data }))),
    process: (handler, concurrency) => queue.process(handler, { concurrency }),
    onCompleted: (handler) =>
      queue.subscribe((event) => {
        if (event.type === 'completed') handler(event.jobId);
      }),
    close: async () => {
      await queue.close();
      await manager.disconnect();
    },
  };
}

const SIDES = {
  raw: (url, name) => openRaw(url, name, { ids: true }),
  wrapper: (url, name) => openWrapper(url, name),
  rawRemoveAll: (url, name) => openRaw(url, name, { ids: true, removeAll: true }),
  rawNoId: (url, name) => openRaw(url, name, { ids: false }),
};

// ---------------------------------------------------------------- scenarios

async function addSequential(side, jobs) {
  const started = performance.now();
  for (let index = 0; index < jobs; index += 1) await side.add(payload(index));
  return { perSecond: jobs / ((performance.now() - started) / 1000) };
}

async function addInFlight(side, jobs) {
  let next = 0;
  const lane = async () => {
    while (next < jobs) {
      const index = next;
      next += 1;
      await side.add(payload(index));
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { perSecond: jobs / ((performance.now() - started) / 1000) };
}

async function addBulk(side, jobs) {
  const started = performance.now();
  for (let index = 0; index < jobs; index += BATCH) {
    const datas = [];
    for (let n = index; n < Math.min(index + BATCH, jobs); n += 1) datas.push(payload(n));
    await side.addBulk(datas);
  }
  return { perSecond: jobs / ((performance.now() - started) / 1000) };
}

/** Jobs added beforehand (not timed); from the first handler call until the last job is completed in Redis. */
function processing(concurrency) {
  return {
    prepare: (side, jobs) => addBulk(side, jobs),
    run: async (side, jobs, { probe, keys }) => {
      let first;
      let handled = 0;
      let allHandled;
      const handledAll = new Promise((resolve) => (allHandled = resolve));
      await side.process(async () => {
        first ??= performance.now();
        handled += 1;
        if (handled === jobs) allHandled();
      }, concurrency);
      await handledAll;
      // The last handlers have returned; wait until BullMQ has moved their jobs to completed.
      let polls = 1;
      while ((await probe.llen(keys.active)) > 0) {
        await sleep(1);
        polls += 1;
      }
      const ended = performance.now();
      return { perSecond: jobs / ((ended - first) / 1000), probeCalls: { llen: polls } };
    },
  };
}

/** add→done: one job at a time, each awaited until its `completed` event arrives. */
async function latency(side, jobs) {
  let done = () => {};
  await side.onCompleted(() => done());
  await side.process(async () => {}, 1);
  const times = [];
  for (let index = -LATENCY_WARMUP; index < jobs; index += 1) {
    const completed = new Promise((resolve) => (done = resolve));
    const started = performance.now();
    await side.add(payload(index));
    await completed;
    if (index >= 0) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))];
  return { p50: at(0.5), p99: at(0.99) };
}

const SCENARIOS = [
  { key: 'addSeq', label: 'add, sequential (jobs/s)', run: addSequential },
  { key: 'addFlight', label: `add, ${IN_FLIGHT} in flight (jobs/s)`, run: addInFlight },
  { key: 'addBulk', label: `add, bulk of ${BATCH.toLocaleString('en-US')} (jobs/s)`, run: addBulk },
  ...CONCURRENCIES.map((concurrency) => ({
    key: `process${concurrency}`,
    label: `process, concurrency ${concurrency} (jobs/s)`,
    ...processing(concurrency),
  })),
  { key: 'latency', label: 'add→done latency', run: latency, latency: true },
].filter((scenario) => ONLY === undefined || ONLY.includes(scenario.key));

// ---------------------------------------------------------------- Redis counters

function parseInfo(text) {
  const values = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) values[line.slice(0, at)] = line.slice(at + 1);
  }
  return values;
}

/** Calls per command since the server started (INFO commandstats). */
async function commandStats(probe) {
  const calls = {};
  for (const [key, value] of Object.entries(parseInfo(await probe.info('commandstats')))) {
    const count = /calls=(\d+)/.exec(value)?.[1];
    if (key.startsWith('cmdstat_') && count !== undefined) calls[key.slice(8)] = Number(count);
  }
  return calls;
}

function difference(after, before) {
  const delta = {};
  for (const [command, calls] of Object.entries(after)) {
    const change = calls - (before[command] ?? 0);
    if (change > 0) delta[command] = change;
  }
  return delta;
}

/** Removes every key of the task queue `name`. */
async function removeQueue(probe, name) {
  const { prefix, main } = queueNames(NAMESPACE, name);
  let cursor = '0';
  do {
    const [next, keys] = await probe.scan(cursor, 'MATCH', `${prefix}:${main.slice(0, -1)}*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await probe.unlink(...keys);
  } while (cursor !== '0');
}

// ---------------------------------------------------------------- run

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const redisServer = await startRedis();
const probe = new Redis(redisServer.url);
const results = {};
const perJob = {}; // scenario → side → [{ commands, cpuUs, stats }]
const startedAt = Date.now();
const loadAtStart = loadavg()[0];
try {
  const sides = Object.keys(SIDES);
  for (let round = 0; round <= ROUNDS; round += 1) {
    const jobs = round === 0 ? WARMUP_JOBS : JOBS;
    for (const scenario of SCENARIOS) {
      // Rotate the order each round (and each scenario) so no side always runs first or on a warmer process.
      const shift = round + SCENARIOS.indexOf(scenario);
      const order = sides.map((_, index) => sides[(index + shift) % sides.length]);
      for (const sideName of order) {
        const name = freshName(scenario.key, sideName);
        const side = await SIDES[sideName](redisServer.url, name);
        const { prefix, main } = queueNames(NAMESPACE, name);
        const keyOf = (type) => `${prefix}:${main}:${type}`;
        const keys = { active: keyOf('active'), completed: keyOf('completed'), failed: keyOf('failed') };
        const latencyJobs = round === 0 ? 50 : LATENCY_JOBS;
        let result;
        let cpu;
        let stats;
        try {
          if (scenario.prepare) await scenario.prepare(side, jobs);
          globalThis.gc?.();
          const before = await commandStats(probe);
          const cpuBefore = process.cpuUsage();
          result = await (scenario.latency
            ? scenario.run(side, latencyJobs)
            : scenario.run(side, jobs, { probe, keys }));
          cpu = process.cpuUsage(cpuBefore);
          stats = difference(await commandStats(probe), before);
        } finally {
          await side.close();
        }
        // Not the sides' work: the probe's INFO and its polls of the active list.
        const probeCalls = { info: 1, ...result.probeCalls };
        for (const [command, calls] of Object.entries(probeCalls)) stats[command] = (stats[command] ?? 0) - calls;
        for (const [command, calls] of Object.entries(stats)) if (calls <= 0) delete stats[command];
        const [completed, failed] = await Promise.all([probe.zcard(keys.completed), probe.zcard(keys.failed)]);
        if (
          !scenario.latency &&
          (failed !== 0 ||
            (scenario.prepare &&
              completed !== (sideName === 'rawRemoveAll' ? 0 : Math.min(jobs, KEEP_COMPLETED.count))))
        ) {
          throw new Error(`${scenario.key}/${sideName}: ${completed} jobs completed and ${failed} failed of ${jobs}`);
        }
        await removeQueue(probe, name);
        if (round === 0) continue;
        const count = scenario.latency ? latencyJobs + LATENCY_WARMUP : jobs;
        const total = Object.values(stats).reduce((sum, calls) => sum + calls, 0);
        ((results[scenario.key] ??= {})[sideName] ??= []).push(result);
        ((perJob[scenario.key] ??= {})[sideName] ??= []).push({
          commands: total / count,
          cpuUs: (cpu.user + cpu.system) / count,
          stats,
          count,
        });
      }
    }
  }

  const fmt = (n, digits = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const pick = (key, side, field) => median(results[key][side].map((result) => result[field]));
  const serverInfo = parseInfo(await probe.info('server'));
  const versionOf = (name) => require(`${name}/package.json`).version;

  console.log(
    `workload: ${fmt(JOBS)} jobs per throughput scenario, ${fmt(LATENCY_JOBS)} for latency; median of ${ROUNDS} rounds after a warm-up round of ${fmt(WARMUP_JOBS)}; a fresh queue per scenario and side, sides in rotating order`,
  );
  console.log(
    `job options on both sides: jobId = random UUID (the wrapper always sets one), attempts ${JOB_OPTIONS.attempts}, backoff ${JOB_OPTIONS.backoff.type} ${JOB_OPTIONS.backoff.delay} ms, removeOnComplete ${JSON.stringify(KEEP_COMPLETED)} (the wrapper's default retention), removeOnFail false; "raw, removes every job" is the same with removeOnComplete: true (what the default retention costs: wrapper/that), "raw, no jobId" lets BullMQ number the jobs (informative)`,
  );
  console.log('');
  const reported = [];
  console.log(
    '| scenario | raw BullMQ, same retention | wrapper | ratio wrapper/raw | per-round ratios | target | raw, removes every job | retention cost (wrapper/that) | raw, no jobId |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const scenario of SCENARIOS) {
    const key = scenario.key;
    if (scenario.latency) {
      for (const field of ['p50', 'p99']) {
        const raw = pick(key, 'raw', field);
        const wrapper = pick(key, 'wrapper', field);
        const rounds = results[key].wrapper.map((result, index) =>
          fmt(result[field] / results[key].raw[index][field], 2),
        );
        const removeAll = pick(key, 'rawRemoveAll', field);
        console.log(
          `| ${scenario.label} ${field} (ms, lower is better) | ${fmt(raw, 3)} | ${fmt(wrapper, 3)} | ${fmt(wrapper / raw, 2)} | ${rounds.join(', ')} | | ${fmt(removeAll, 3)} | ${fmt(wrapper / removeAll, 2)} | ${fmt(pick(key, 'rawNoId', field), 3)} |`,
        );
        reported.push({
          scenario: `${scenario.label} ${field}`,
          unit: 'ms',
          raw,
          wrapper,
          ratio: wrapper / raw,
          target: '',
          met: null,
        });
      }
      continue;
    }
    const raw = pick(key, 'raw', 'perSecond');
    const wrapper = pick(key, 'wrapper', 'perSecond');
    const rounds = results[key].wrapper.map((result, index) =>
      fmt(result.perSecond / results[key].raw[index].perSecond, 2),
    );
    const target = key.startsWith('process') ? '≥ 0.95' : '';
    reported.push({
      scenario: scenario.label,
      unit: 'jobs/s',
      raw,
      wrapper,
      ratio: wrapper / raw,
      target,
      met: meets(wrapper / raw, target),
    });
    const removeAll = pick(key, 'rawRemoveAll', 'perSecond');
    console.log(
      `| ${scenario.label} | ${fmt(raw)} | ${fmt(wrapper)} | ${fmt(wrapper / raw, 2)} | ${rounds.join(', ')} | ${target} | ${fmt(removeAll)} | ${fmt(wrapper / removeAll, 2)} | ${fmt(pick(key, 'rawNoId', 'perSecond'))} |`,
    );
  }

  console.log('');
  console.log(
    'Cost per job (median of rounds): Redis commands (INFO commandstats, counting those run inside BullMQ Lua scripts), client CPU (this Node process)',
  );
  console.log('');
  console.log('| scenario | raw BullMQ, same retention | wrapper | raw, removes every job | raw, no jobId |');
  console.log('|---|---|---|---|---|');
  for (const scenario of SCENARIOS) {
    const cell = (side) => {
      const samples = perJob[scenario.key][side];
      return `${fmt(median(samples.map((s) => s.commands)), 2)} cmd, ${fmt(median(samples.map((s) => s.cpuUs)))} µs`;
    };
    console.log(
      `| ${scenario.label.replace(/ \(.*\)$/, '')} | ${cell('raw')} | ${cell('wrapper')} | ${cell('rawRemoveAll')} | ${cell('rawNoId')} |`,
    );
  }
  if (VERBOSE) {
    console.log('');
    console.log('Redis commands per job by command, last round (raw → wrapper):');
    for (const scenario of SCENARIOS) {
      const raw = perJob[scenario.key].raw.at(-1);
      const wrapper = perJob[scenario.key].wrapper.at(-1);
      const commands = [...new Set([...Object.keys(raw.stats), ...Object.keys(wrapper.stats)])].sort();
      const parts = commands.map(
        (command) =>
          `${command} ${fmt((raw.stats[command] ?? 0) / raw.count, 3)} → ${fmt((wrapper.stats[command] ?? 0) / wrapper.count, 3)}`,
      );
      console.log(`- ${scenario.label}: ${parts.join('; ')}`);
    }
  }

  const cpu = cpus();
  console.log('');
  console.log(
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, ${platform()} ${release()}; load average (1 min) ${fmt(loadAtStart, 1)} at start, ${fmt(loadavg()[0], 1)} at end`,
  );
  console.log(
    `versions: Node ${process.version}, BullMQ ${versionOf('bullmq')}, ioredis ${versionOf('ioredis')}, Redis ${serverInfo.redis_version}${process.env.REDIS_URL ? ' (REDIS_URL)' : ' (private redis-server on loopback)'}`,
  );
  console.log(`date: ${new Date(startedAt).toISOString()}, bench took ${fmt((Date.now() - startedAt) / 1000)} s`);
  reportBench('@shim/task-queue vs BullMQ', reported);
} finally {
  probe.disconnect();
  await redisServer.stop();
}
