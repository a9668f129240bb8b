import { afterEach, inject } from 'vitest';
import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { deleteNamespace, uniqueNamespace } from '@shim/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TaskQueueWrapper, type TaskQueueOptions } from '../src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  // Last created, first closed: queues before their managers, managers before their servers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `cleanup` after the current test (last registered, first run). */
export function afterTest(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

/** A connected manager on the shared Redis under a fresh namespace; its keys are deleted after the test. */
export async function createManager(config: RedisConfig = {}): Promise<RedisConnectionManager> {
  const namespace = config.namespace ?? uniqueNamespace('tq');
  const manager = new RedisConnectionManager({ url: inject('redisUrl'), ...config, namespace });
  cleanups.push(async () => {
    if (manager.state === 'connected') await deleteNamespace(manager.getConnection(), namespace);
    await manager.disconnect();
  });
  await manager.connect();
  return manager;
}

/** Fast stall detection, so tests about stalls take seconds, not minutes. */
export const FAST: Omit<TaskQueueOptions, 'schema'> = {
  lockDurationMs: 2_000,
  stalledIntervalMs: 1_000,
  backoff: { type: 'fixed', delayMs: 10 },
  closeTimeoutMs: 5_000,
};

/** A task queue on `manager` (or a new one), closed after the test. */
export async function createQueue<TData = unknown, TResult = unknown>(
  options: TaskQueueOptions<TData> & { name?: string } = {},
  manager?: RedisConnectionManager,
): Promise<TaskQueueWrapper<TData, TResult>> {
  const { name = 'tasks', ...rest } = options;
  const queue = new TaskQueueWrapper<TData, TResult>(manager ?? (await createManager()), name, { ...FAST, ...rest });
  cleanups.push(() => queue.close());
  return queue;
}

/** A worker process (test/fixtures/worker-process.ts run by tsx) that prints one JSON line per event; killed after the test. */
export function workerProcess(args: Record<string, unknown>): { child: ChildProcess; lines: string[] } {
  const script = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@shim/source', script, JSON.stringify(args)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts.filter((line) => line.length > 0));
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, lines };
}
