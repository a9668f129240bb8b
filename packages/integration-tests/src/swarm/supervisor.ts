import type { RedisConnectionManager } from '@shim/connection';
import { MessageBusWrapper } from '@shim/message-bus';
import { StateManager } from '@shim/state';
import { TaskQueueWrapper, type DeadLetter, type QueueStats } from '@shim/task-queue';
import { WorkerRegistry, type RegistryEvent } from '@shim/worker-registry';
import {
  PROGRESS_CHANNEL,
  TASK_PREFIX,
  TASK_QUEUE,
  VIOLATIONS_KEY,
  type ProgressMessage,
  type SwarmTask,
  type TaskRecord,
} from './protocol.js';

/** What the supervisor saw, for the live view and the tests. */
export type SupervisorEvent =
  | { kind: 'registry'; event: RegistryEvent }
  | { kind: 'progress'; message: ProgressMessage }
  | { kind: 'task-done'; task: string; record: TaskRecord; done: number; total: number }
  | { kind: 'connection'; event: 'disconnected' | 'reconnecting' | 'ready'; detail: string }
  | { kind: 'error'; source: string; message: string };

/** Options of {@link runSupervisor}. */
export interface SupervisorOptions {
  manager: RedisConnectionManager;
  /** State scope shared with the workers. */
  scope: string;
  tasks: readonly SwarmTask[];
  /** Registry TTL; a worker silent for this long is reported stale. Unit: ms. @defaultValue 6_000 */
  ttlMs?: number;
  /** How often the supervisor reaps stale workers. Unit: ms. @defaultValue 1_000 */
  cleanupIntervalMs?: number;
  /** Give up after this long. Unit: ms. @defaultValue 300_000 */
  timeoutMs?: number;
  onEvent?: (event: SupervisorEvent) => void;
  /** Called once the tasks are queued (tests start faults from here). */
  onQueued?: () => void;
}

/** What the supervisor found at the end. */
export interface SupervisorResult {
  /** Every task's record in shared state, by task id (missing: not done). */
  records: Map<string, TaskRecord>;
  deadLetters: DeadLetter<SwarmTask>[];
  stats: QueueStats;
  /** Lock-exclusion violations the workers recorded (must be 0). */
  violations: number;
  durationMs: number;
}

/**
 * The supervisor of the swarm: queues the tasks (job id = task id, so queuing twice is harmless),
 * watches the registry, the progress channel and the task records in shared state, and returns
 * once every task has a record or is in the dead-letter queue. Shared state is the source of truth;
 * events only feed the live view.
 */
export async function runSupervisor(options: SupervisorOptions): Promise<SupervisorResult> {
  const { manager, tasks } = options;
  const emit = options.onEvent ?? (() => undefined);
  const report = (source: string) => (error: Error) => emit({ kind: 'error', source, message: error.message });
  const started = Date.now();
  const registry = new WorkerRegistry(manager, {
    heartbeatTtlMs: options.ttlMs ?? 6_000,
    cleanupIntervalMs: options.cleanupIntervalMs ?? 1_000,
  });
  const bus = new MessageBusWrapper(manager, { sender: 'supervisor' });
  const state = new StateManager(manager, { scope: options.scope, writer: 'supervisor' });
  const queue = new TaskQueueWrapper<SwarmTask>(manager, TASK_QUEUE);
  registry.on('error', report('registry'));
  bus.on('error', report('bus'));
  state.on('error', report('state'));
  queue.on('error', report('queue'));
  const onDisconnected = (detail: { name: string }): void =>
    emit({ kind: 'connection', event: 'disconnected', detail: detail.name });
  const onReconnecting = (detail: { name: string }): void =>
    emit({ kind: 'connection', event: 'reconnecting', detail: detail.name });
  const onReady = (detail: { name: string }): void => emit({ kind: 'connection', event: 'ready', detail: detail.name });
  manager.on('disconnected', onDisconnected);
  manager.on('reconnecting', onReconnecting);
  manager.on('ready', onReady);

  const wanted = new Set(tasks.map((task) => task.id));
  const records = new Map<string, TaskRecord>();
  const note = (task: string, record: TaskRecord): void => {
    if (!wanted.has(task)) return;
    const isNew = !records.has(task);
    records.set(task, record);
    if (isNew) emit({ kind: 'task-done', task, record, done: records.size, total: wanted.size });
  };

  try {
    await registry.subscribe((event) => emit({ kind: 'registry', event }));
    await bus.subscribe<ProgressMessage>(PROGRESS_CHANNEL, (message) => emit({ kind: 'progress', message }));
    await state.subscribePrefix<TaskRecord>(TASK_PREFIX, (change) => {
      if (change.type === 'set' && change.value !== undefined) note(change.key.slice(TASK_PREFIX.length), change.value);
    });
    for (let index = 0; index < tasks.length; index += 1_000) {
      const batch = tasks.slice(index, index + 1_000);
      await queue.addJobs(batch.map((task) => ({ data: task, options: { jobId: task.id, priority: task.priority } })));
    }
    options.onQueued?.();

    const deadline = started + (options.timeoutMs ?? 300_000);
    let deadLetters: DeadLetter<SwarmTask>[] = [];
    for (;;) {
      // Reconcile with the state itself: change notifications are missed while disconnected.
      try {
        for (const entry of await state.entries<TaskRecord>(TASK_PREFIX)) {
          note(entry.key.slice(TASK_PREFIX.length), entry.value);
        }
        deadLetters = await queue.listDeadLetters({ count: 10_000 });
      } catch (error) {
        report('reconcile')(error as Error);
      }
      const dead = new Set(deadLetters.map((letter) => letter.jobId));
      if ([...wanted].every((id) => records.has(id) || dead.has(id))) break;
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // A worker records its task inside the handler, a moment before BullMQ marks the job completed
    // (and a killed worker's recorded job stays active until the stalled check runs it again):
    // give the queue a bounded while to settle before reporting its stats.
    const settleBy = Math.min(deadline, Date.now() + 15_000);
    let stats = await queue.getQueueStats();
    while (stats.active + stats.waiting + stats.prioritized + stats.delayed > 0 && Date.now() < settleBy) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      stats = await queue.getQueueStats();
    }
    const violations = (await state.get<number>(VIOLATIONS_KEY)) ?? 0;
    return { records, deadLetters, stats, violations, durationMs: Date.now() - started };
  } finally {
    manager.off('disconnected', onDisconnected);
    manager.off('reconnecting', onReconnecting);
    manager.off('ready', onReady);
    await Promise.allSettled([queue.close(), registry.close(), bus.close(), state.close()]);
  }
}
