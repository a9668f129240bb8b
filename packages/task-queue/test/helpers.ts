// What the task-queue tests share beyond @shim/testing/scope: a queue factory with fast stall
// detection, and the worker child process. Cleanup, managers, servers and child processes come
// from the scope.
import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { uniqueNamespace, waitFor } from '@shim/testing';
import { closeAfter, managedManager, onCleanup, tsxProcess, type TestProcess } from '@shim/testing/scope';
import { TaskQueueWrapper, type TaskQueueOptions } from '../src/index.js';

/** A connected manager on the shared Redis under a fresh namespace; its keys are deleted after the test. */
export function createManager(config: RedisConfig = {}): Promise<RedisConnectionManager> {
  return managedManager((base) => new RedisConnectionManager({ ...base, ...config }));
}

/** A connected manager on `url` (a private server), disconnected after the test. */
export async function managerOn(url: string, config: RedisConfig = {}): Promise<RedisConnectionManager> {
  const manager = new RedisConnectionManager({ url, namespace: uniqueNamespace('tq'), ...config });
  onCleanup(() => manager.disconnect());
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

/** A task queue (FAST options) on `manager` (or a new one), closed after the test. */
export async function createQueue<TData = unknown, TResult = unknown>(
  options: TaskQueueOptions<TData> & { name?: string } = {},
  manager?: RedisConnectionManager,
): Promise<TaskQueueWrapper<TData, TResult>> {
  const { name = 'tasks', ...rest } = options;
  const on = manager ?? (await createManager());
  return closeAfter(new TaskQueueWrapper<TData, TResult>(on, name, { ...FAST, ...rest }));
}

/** Arguments of the worker child process (test/fixtures/worker-process.ts). */
export interface WorkerArgs {
  url: string;
  namespace: string;
  queue: string;
  mode: 'worker' | 'subscriber';
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How long each job takes. Unit: ms. */
  jobMs?: number;
}

/** One JSON line a worker process printed. */
export interface WorkerLine {
  pid: number;
  event: string;
  jobId?: string;
  n?: number;
  attempt?: number;
  type?: string;
  result?: unknown;
  progress?: unknown;
  message?: string;
}

/** A worker process that prints one JSON line per event, SIGKILLed after the test; resolves once it is ready. */
export async function workerProcess(args: WorkerArgs): Promise<TestProcess & { parsed(): WorkerLine[] }> {
  const child = tsxProcess(new URL('./fixtures/worker-process.ts', import.meta.url), args);
  const parsed = (): WorkerLine[] => child.lines.map((line) => JSON.parse(line) as WorkerLine);
  await waitFor(() => parsed().some((line) => line.event === 'ready'), {
    timeoutMs: 20_000,
    description: 'the worker process to be ready',
  });
  return { ...child, parsed };
}
