import { describe, expect, it } from 'vitest';
import { collect, waitFor } from '@shim/testing';
import { sharedRedisUrl } from '@shim/testing/scope';
import type { TaskEvent } from '../src/index.js';
import { createManager, createQueue, workerProcess } from './helpers.js';

describe('TaskQueueWrapper across processes', () => {
  it('a job whose worker process is SIGKILLed mid-job is recovered (stalled check) and completed by another worker process', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ name: 'kill' }, manager);
    const base = { url: sharedRedisUrl(), namespace: manager.namespace, queue: 'kill', mode: 'worker' } as const;
    const victim = await workerProcess({ ...base, jobMs: 60_000 });
    const events = collect<TaskEvent>(2, 20_000);
    await queue.subscribe((event) => {
      if (event.type === 'stalled' || event.type === 'completed') events.push(event);
    });
    const jobId = await queue.addJob({ n: 1 });
    await waitFor(() => victim.parsed().some((line) => line.event === 'start' && line.jobId === jobId));
    victim.child.kill('SIGKILL');
    const rescuer = await workerProcess({ ...base, jobMs: 10 });
    const [stalled, completed] = await events.done;
    expect(stalled).toEqual({ type: 'stalled', jobId });
    expect(completed).toEqual({ type: 'completed', jobId, result: `done by ${rescuer.child.pid}` });
    const runs = rescuer.parsed().filter((line) => line.event === 'start');
    // The rerun after a stall is the same attempt: a stall is not the handler's failure.
    expect(runs).toEqual([expect.objectContaining({ jobId, attempt: 1 })]);
    expect(await queue.getQueueStats()).toMatchObject({ active: 0, completed: 1, failed: 0, deadLetter: 0 });
  }, 40_000);

  it('completed, failed, progress and stalled events reach a subscriber in another process', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ name: 'events', attempts: 1 }, manager);
    const subscriber = await workerProcess({
      url: sharedRedisUrl(),
      namespace: manager.namespace,
      queue: 'events',
      mode: 'subscriber',
    });
    await queue.process(async (data, ctx) => {
      await ctx.progress(data.n);
      if (data.n === 2) throw new Error('two fails');
      return data.n * 10;
    });
    const first = await queue.addJob({ n: 1 });
    const second = await queue.addJob({ n: 2 });
    const seen = await waitFor(
      () => {
        const events = subscriber.parsed().filter((line) => line.event === 'task-event');
        return events.length >= 4 ? events : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(seen.map(({ type, jobId, result, progress }) => ({ type, jobId, result, progress }))).toEqual([
      { type: 'progress', jobId: first, progress: 1, result: undefined },
      { type: 'completed', jobId: first, result: 10, progress: undefined },
      { type: 'progress', jobId: second, progress: 2, result: undefined },
      { type: 'failed', jobId: second, result: undefined, progress: undefined },
    ]);
  }, 30_000);
});
