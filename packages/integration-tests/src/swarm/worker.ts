import type { RedisConnectionManager } from '@shim/connection';
import { MessageBusWrapper } from '@shim/message-bus';
import { StateManager } from '@shim/state';
import { TaskQueueWrapper } from '@shim/task-queue';
import { WorkerRegistry } from '@shim/worker-registry';
import {
  holderKey,
  PROGRESS_CHANNEL,
  SEQUENCE_KEY,
  TASK_QUEUE,
  taskKey,
  VIOLATIONS_KEY,
  type ProgressMessage,
  type SwarmTask,
  type TaskRecord,
} from './protocol.js';

/** Something a swarm worker did, for logs and tests. */
export type WorkerEvent =
  | { event: 'ready'; worker: string }
  | { event: 'start'; worker: string; task: string; attempt: number }
  | { event: 'done'; worker: string; task: string }
  | { event: 'instruction'; worker: string; message: unknown }
  | { event: 'registered-again'; worker: string }
  | { event: 'error'; worker: string; source: string; message: string };

/** Options of {@link startSwarmWorker}. */
export interface SwarmWorkerOptions {
  manager: RedisConnectionManager;
  /** Worker id in the registry, sender name on the bus, writer in state. */
  id: string;
  /** State scope shared with the supervisor. */
  scope: string;
  /** Tasks run at once. @defaultValue 1 */
  concurrency?: number | undefined;
  /** Heartbeat interval. Unit: ms. @defaultValue 1_000 */
  heartbeatMs?: number | undefined;
  /** Registry TTL. Unit: ms. @defaultValue 6_000 */
  ttlMs?: number | undefined;
  /** Task lock duration (a dead worker's task runs again after about this). Unit: ms. @defaultValue 4_000 */
  lockDurationMs?: number | undefined;
  /** How often to look for stalled tasks. Unit: ms. @defaultValue 1_000 */
  stalledIntervalMs?: number | undefined;
  /** Does the work of a task (after the lock is taken); the default waits `task.workMs`. */
  work?: (task: SwarmTask, signal: AbortSignal) => Promise<unknown>;
  /** Called for everything the worker does. */
  onEvent?: (event: WorkerEvent) => void;
}

/** A running swarm worker. */
export interface SwarmWorker {
  readonly id: string;
  /** Stops taking tasks, lets active ones finish (up to `timeoutMs`), unregisters and closes everything it opened. */
  stop(timeoutMs?: number): Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * One assistant instance of the swarm: registers and heartbeats, takes tasks from the queue one
 * (or `concurrency`) at a time, reports progress on the bus, takes a lock for tasks that need an
 * exclusive resource, records results in shared state with atomic updates, and reads its inbox.
 */
export async function startSwarmWorker(options: SwarmWorkerOptions): Promise<SwarmWorker> {
  const { manager, id } = options;
  const emit = options.onEvent ?? (() => undefined);
  const report = (source: string) => (error: Error) =>
    emit({ event: 'error', worker: id, source, message: error.message });
  const registry = new WorkerRegistry(manager, { heartbeatTtlMs: options.ttlMs ?? 6_000 });
  const bus = new MessageBusWrapper(manager, { sender: id });
  const state = new StateManager(manager, { scope: options.scope, writer: id });
  const queue = new TaskQueueWrapper<SwarmTask>(manager, TASK_QUEUE, {
    lockDurationMs: options.lockDurationMs ?? 4_000,
    stalledIntervalMs: options.stalledIntervalMs ?? 1_000,
    backoff: { type: 'fixed', delayMs: 100 },
    closeTimeoutMs: 10_000,
  });
  registry.on('error', report('registry'));
  registry.on('reregistered', () => emit({ event: 'registered-again', worker: id }));
  bus.on('error', report('bus'));
  state.on('error', report('state'));
  queue.on('error', report('queue'));

  const concurrency = options.concurrency ?? 1;
  await registry.registerWorker(id, { pid: process.pid, concurrency, capabilities: ['swarm'] }, { replace: true });
  const stopHeartbeat = registry.startHeartbeat(id, { intervalMs: options.heartbeatMs ?? 1_000 });
  const stopInbox = await bus.inbox(id).consume((message) => {
    emit({ event: 'instruction', worker: id, message });
  });

  let active = 0;
  const setStatus = (status: 'idle' | 'busy'): void => {
    registry.setStatus(id, status).catch(report('registry'));
  };
  const work = options.work ?? ((task: SwarmTask, signal: AbortSignal) => sleep(task.workMs, signal));

  const checkMark = async (resource: string, mark: string): Promise<void> => {
    let overlapped = false;
    await state.atomicUpdate<string | null>(holderKey(resource), (holder) => {
      overlapped = holder !== mark;
      return overlapped ? (holder ?? null) : null;
    });
    if (overlapped) await state.increment(VIOLATIONS_KEY);
  };

  const runTask = async (task: SwarmTask, signal: AbortSignal): Promise<unknown> => {
    if (task.resource === undefined) return work(task, signal);
    const resource = task.resource;
    return state.withLock(
      `resource:${resource}`,
      async (lock) => {
        // The holder marks the resource on entry and, on leaving, must find its own mark still there:
        // anyone else's mark (or none) means a second holder came in meanwhile. Checking on the way out,
        // not on the way in, keeps a SIGKILLed holder (whose lock expired) from counting as an overlap.
        const mark = `${id}/${task.id}/${lock.fencingToken}`;
        await state.set(holderKey(resource), mark);
        try {
          // A lost lock stops the work too; withLock then fails the task with LOCK_LOST.
          return await work(task, AbortSignal.any([signal, lock.signal]));
        } finally {
          // Bookkeeping that fails (Redis restarting) checks nothing, but does not fail the work either.
          await checkMark(resource, mark).catch(report('state'));
        }
      },
      { ttlMs: 10_000, waitMs: 120_000 },
    );
  };

  await queue.process(
    async (task, ctx) => {
      active += 1;
      if (active === 1) setStatus('busy');
      try {
        emit({ event: 'start', worker: id, task: task.id, attempt: ctx.attempt });
        const { value: startSeq } = await state.increment(SEQUENCE_KEY);
        const progress = (percent: number): void => {
          const message: ProgressMessage = { task: task.id, worker: id, percent };
          bus.publish(PROGRESS_CHANNEL, message).catch(report('bus'));
        };
        progress(0);
        const result = await runTask(task, ctx.signal);
        // Cut short by a close() that ran out of time: not done; the task runs again elsewhere.
        if (ctx.signal.aborted) throw new Error(`task ${task.id} was interrupted`);
        await state.atomicUpdate<TaskRecord>(taskKey(task.id), (record) => ({
          runs: (record?.runs ?? 0) + 1,
          worker: id,
          workers: [...(record?.workers ?? []), id],
          startSeq,
          result: result ?? null,
        }));
        progress(100);
        emit({ event: 'done', worker: id, task: task.id });
        return result ?? null;
      } finally {
        active -= 1;
        if (active === 0) setStatus('idle');
      }
    },
    { concurrency },
  );
  emit({ event: 'ready', worker: id });

  let stopping: Promise<void> | undefined;
  return {
    id,
    stop(timeoutMs = 10_000) {
      stopping ??= (async () => {
        await queue.close({ timeoutMs });
        stopHeartbeat();
        await stopInbox();
        await registry.unregister(id).catch(report('registry'));
        await Promise.allSettled([registry.close(), bus.close(), state.close()]);
      })();
      return stopping;
    },
  };
}
