import { describe, expect, it } from 'vitest';
import { waitFor } from '@shim/testing';
import { TaskQueueWrapper } from '@shim/task-queue';
import { WorkerRegistry } from '@shim/worker-registry';
import { StateManager } from '@shim/state';
import { TASK_QUEUE, taskKey, type SwarmTask } from '../src/swarm/protocol.js';
import { startSwarmWorker, type WorkerEvent } from '../src/swarm/worker.js';
import { createManager } from './helpers.js';

describe('swarm worker stop()', () => {
  it('stop() while a task outlives its timeout still unregisters the worker, promptly and without errors', async () => {
    const workerManager = await createManager();
    const observer = await createManager({ namespace: workerManager.namespace });
    const events: WorkerEvent[] = [];
    const worker = await startSwarmWorker({
      manager: workerManager,
      id: 'w1',
      scope: 'review',
      onEvent: (e) => events.push(e),
    });
    const queue = new TaskQueueWrapper<SwarmTask>(observer, TASK_QUEUE);
    await queue.addJob({ id: 'long', priority: 1, workMs: 5_000 }, { jobId: 'long', priority: 1 });
    await waitFor(() => events.some((e) => e.event === 'start'));
    const started = Date.now();
    await worker.stop(300);
    const stopMs = Date.now() - started;
    const registry = new WorkerRegistry(observer);
    const info = await registry.get('w1');
    await registry.close();
    // The interrupted task is not recorded as done: it runs again elsewhere once its lock expires.
    const state = new StateManager(observer, { scope: 'review' });
    const record = await state.get(taskKey('long'));
    await state.close();
    expect(record).toBeUndefined();
    await queue.close();
    expect({
      registered: info !== undefined,
      errors: events.filter((e) => e.event === 'error').map((e) => (e as { message: string }).message),
      slow: stopMs > 2_000,
    }).toEqual({ registered: false, errors: [], slow: false });
  });
});
