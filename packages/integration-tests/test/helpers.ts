import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { managedManager, onCleanup } from '@shim/testing/scope';
import { spawnWorker, type WorkerProcess } from '../src/swarm/spawn.js';
import type { WorkerProcessArgs } from '../src/swarm/worker-main.js';
import type { SwarmTask } from '../src/swarm/protocol.js';

/** Runs `cleanup` after the current test (last registered, first run). */
export const afterTest = onCleanup;

/** A connected manager under a fresh namespace (keys deleted after the test). */
export function createManager(config: RedisConfig = {}): Promise<RedisConnectionManager> {
  return managedManager((base) => new RedisConnectionManager({ ...base, ...config }));
}

/** A swarm worker process, SIGKILLed after the test if still running. */
export function worker(args: WorkerProcessArgs): WorkerProcess {
  const process = spawnWorker(args);
  onCleanup(async () => {
    if (process.child.exitCode === null && process.child.signalCode === null) {
      process.child.kill('SIGKILL');
      await process.exited;
    }
  });
  return process;
}

/** `count` tasks with priorities 1–5 in a mixed order; every 10th needs resource `r<n % 3>`. */
export function mixedTasks(count: number, workMs = 20): SwarmTask[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `t${String(index).padStart(4, '0')}`,
    priority: ((index * 7) % 5) + 1,
    workMs,
    ...(index % 10 === 0 ? { resource: `r${index % 3}` } : {}),
  }));
}
