// `npm start`: a demo swarm — a supervisor and N worker processes counting the words of this
// repository's source files through all five SHIM packages, with a live view and a summary.
//   --workers N   worker processes (default 3)
//   --tasks N     at most N files (default: every source file)
//   --kill-one    SIGKILL one worker mid-run to show recovery
// Uses REDIS_URL when set, else starts a throwaway redis-server (stopped at the end).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RedisConnectionManager } from '@shim/connection';
import { StateManager } from '@shim/state';
import { hasRedisServerBinary, RedisServer } from '@shim/testing';
import type { SwarmTask } from './swarm/protocol.js';
import { spawnWorker, type WorkerProcess } from './swarm/spawn.js';
import { runSupervisor, type SupervisorEvent } from './swarm/supervisor.js';
import { LiveView } from './live-view.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NO_REDIS =
  'No Redis: set REDIS_URL=redis://host:6379, or install redis-server (apt-get install redis-server, brew install redis), or run `docker compose up -d redis`.';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '3' },
    tasks: { type: 'string' },
    'kill-one': { type: 'boolean', default: false },
  },
});
const workerCount = Number(values.workers);
const taskLimit = values.tasks === undefined ? Number.POSITIVE_INFINITY : Number(values.tasks);
if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > 32) {
  console.error(`--workers must be an integer from 1 to 32, got ${values.workers}`);
  process.exit(2);
}
if (taskLimit !== Number.POSITIVE_INFINITY && (!Number.isInteger(taskLimit) || taskLimit < 1)) {
  console.error(`--tasks must be a positive integer, got ${values.tasks}`);
  process.exit(2);
}

/** The repository's own source files: the demo's input. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name === 'dist' || name === 'coverage' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mjs|cjs|md)$/.test(name)) files.push(path);
    }
  };
  walk(join(ROOT, 'packages'));
  return files;
}

async function main(): Promise<number> {
  let redis: RedisServer | undefined;
  let url = process.env['REDIS_URL'];
  if (url === undefined) {
    if (!hasRedisServerBinary()) {
      console.error(NO_REDIS);
      return 1;
    }
    redis = await RedisServer.start({ appendOnly: true });
    url = redis.url;
  }
  const namespace = `demo-${process.pid}-${Date.now().toString(36)}`;
  const scope = 'word-count';
  const manager = new RedisConnectionManager({ url, namespace });
  const workers: WorkerProcess[] = [];
  try {
    await manager.connect();
    const files = sourceFiles().slice(0, taskLimit);
    const tasks: SwarmTask[] = files.map((file, index) => ({
      id: `file-${index}`,
      // README files first: a visible use of priorities.
      priority: file.endsWith('.md') ? 1 : 5,
      workMs: 40,
      file,
      // Files of one package share a resource: at most one worker counts a package at a time.
      resource: relative(join(ROOT, 'packages'), file).split('/')[0],
    }));
    const view = new LiveView({ total: tasks.length, interactive: process.stdout.isTTY === true });
    view.log(
      `SHIM demo swarm: ${tasks.length} files, ${workerCount} workers, Redis ${redis === undefined ? url : 'throwaway'} (namespace ${namespace})`,
    );
    let killed = false;
    const onEvent = (event: SupervisorEvent): void => {
      view.onSupervisorEvent(event);
      if (values['kill-one'] && !killed && event.kind === 'task-done' && event.done >= Math.floor(tasks.length / 3)) {
        const victim = workers.find((worker) => worker.events.some((e) => e.event === 'start'));
        if (victim !== undefined) {
          killed = true;
          view.log(`--kill-one: SIGKILL ${victim.args.id} (pid ${victim.child.pid}) mid-run`);
          victim.child.kill('SIGKILL');
        }
      }
    };
    const started = Date.now();
    const result = await runSupervisor({
      manager,
      scope,
      tasks,
      ttlMs: 4_000,
      cleanupIntervalMs: 500,
      timeoutMs: 300_000,
      onEvent,
      onQueued: () => {
        for (let n = 1; n <= workerCount; n += 1) {
          const worker = spawnWorker(
            { url, namespace, scope, id: `worker-${n}`, countWords: true, ttlMs: 4_000, lockDurationMs: 2_000 },
            { stderr: 'ignore' },
          );
          worker.child.stdout?.on('data', () => view.onWorkerEvents(worker));
          workers.push(worker);
        }
      },
    });
    // Merge the per-file counts into one entry of shared state.
    const state = new StateManager(manager, { scope, writer: 'supervisor' });
    let words = 0;
    for (const record of result.records.values()) words += (record.result as { words?: number } | null)?.words ?? 0;
    await state.merge('summary', { files: result.records.size, words });
    const summary = await state.get<{ files: number; words: number }>('summary');
    await state.close();
    const complete = result.records.size === tasks.length;
    view.finish({
      complete,
      tasks: tasks.length,
      completed: result.records.size,
      deadLettered: result.deadLetters.length,
      reruns: [...result.records.values()].reduce((sum, record) => sum + record.runs - 1, 0),
      retries: workers.reduce(
        (sum, worker) => sum + worker.events.filter((e) => e.event === 'start' && Number(e['attempt']) > 1).length,
        0,
      ),
      seconds: (Date.now() - started) / 1000,
      perWorker: Object.fromEntries(
        workers.map((worker) => [
          worker.args.id,
          [...result.records.values()].filter((record) => record.worker === worker.args.id).length,
        ]),
      ),
      words: summary?.words ?? words,
      violations: result.violations,
    });
    return complete && result.violations === 0 ? 0 : 1;
  } finally {
    for (const worker of workers)
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
    // A worker that does not stop within 15 s is killed: the demo never hangs at exit.
    await Promise.all(
      workers.map(async (worker) => {
        const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000);
        await worker.exited;
        clearTimeout(timer);
      }),
    );
    if (manager.state === 'connected') {
      // Leave nothing behind on a shared Redis.
      const redisClient = manager.getConnection();
      let cursor = '0';
      do {
        const [next, keys] = await redisClient.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redisClient.unlink(...keys);
      } while (cursor !== '0');
    }
    await manager.disconnect();
    await redis?.close();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  return 1;
});
