import { describe, expect, it } from 'vitest';
import { collect, countNamespaceKeys, waitFor } from '@shim/testing';
import { Queue } from 'bullmq';
import { isTaskQueueError, type JobContext } from '../src/index.js';
import { createManager, createQueue } from './helpers.js';

describe('TaskQueueWrapper: add and process', () => {
  it('runs a job through the handler with its data and context, and returns the result', async () => {
    const queue = await createQueue<{ file: string }, string>();
    const seen = collect<{ data: { file: string }; ctx: JobContext }>(1);
    await queue.process((data, ctx) => {
      seen.push({ data, ctx });
      return `reviewed ${data.file}`;
    });
    const events = collect<unknown>(1);
    await queue.subscribe((event) => {
      if (event.type === 'completed') events.push(event);
    });
    const jobId = await queue.addJob({ file: 'a.ts' });
    const { data, ctx } = (await seen.done)[0]!;
    expect(data).toEqual({ file: 'a.ts' });
    expect(ctx).toMatchObject({ jobId, attempt: 1, maxAttempts: 3 });
    expect(ctx.signal.aborted).toBe(false);
    expect(await events.done).toEqual([{ type: 'completed', jobId, result: 'reviewed a.ts' }]);
    expect(await queue.getQueueStats()).toEqual({
      waiting: 0,
      active: 0,
      completed: 1,
      failed: 0,
      delayed: 0,
      prioritized: 0,
      deadLetter: 0,
      isPaused: false,
    });
  });

  it('runs higher-priority jobs first (one worker, concurrency 1); jobs without a priority go before all of them', async () => {
    const queue = await createQueue<{ n: string }>();
    await queue.addJob({ n: 'p5' }, 5);
    await queue.addJob({ n: 'p1' }, 1);
    await queue.addJob({ n: 'none' });
    await queue.addJob({ n: 'p2097151' }, 2_097_151);
    await queue.addJob({ n: 'p3' }, { priority: 3 });
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1, prioritized: 4 });
    const order = collect<string>(5);
    await queue.process((data) => {
      order.push(data.n);
    });
    expect(await order.done).toEqual(['none', 'p1', 'p3', 'p5', 'p2097151']);
  });

  it('de-duplicates by jobId: adding the same id twice yields one job', async () => {
    const queue = await createQueue<{ v: number }>();
    expect(await queue.addJob({ v: 1 }, { jobId: 'task-1' })).toBe('task-1');
    expect(await queue.addJob({ v: 2 }, { jobId: 'task-1' })).toBe('task-1');
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1 });
    const seen = collect<number>(1);
    await queue.process((data) => {
      seen.push(data.v);
    });
    expect(await seen.done).toEqual([1]);
    await waitFor(async () => (await queue.getQueueStats()).completed === 1);
    // Still de-duplicated while the completed job is kept.
    expect(await queue.addJob({ v: 3 }, { jobId: 'task-1' })).toBe('task-1');
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 0, completed: 1 });
  });

  it('adds in bulk, all or none', async () => {
    const queue = await createQueue<{ v: number }>();
    const ids = await queue.addJobs([{ data: { v: 1 } }, { data: { v: 2 }, options: { priority: 2, jobId: 'two' } }]);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe('two');
    expect(await queue.addJobs([])).toEqual([]);
    await expect(queue.addJobs([{ data: { v: 3 } }, { data: { v: 4 }, options: { priority: -1 } }])).rejects.toThrow(
      /jobs\[1\]: invalid option 'priority'/,
    );
    await expect(queue.addJobs([{ data: { v: 3 } }, null as never])).rejects.toThrow(/jobs\[1\] must be an object/);
    await expect(queue.addJobs('x' as never)).rejects.toThrow(/expects an array/);
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1, prioritized: 1 });
  });

  it('delays a job by delayMs', async () => {
    const queue = await createQueue<{ v: number }>();
    const added = Date.now();
    await queue.addJob({ v: 1 }, { delayMs: 600 });
    expect(await queue.getQueueStats()).toMatchObject({ delayed: 1, waiting: 0 });
    const ran = collect<number>(1);
    await queue.process(() => {
      ran.push(Date.now());
    });
    const [at] = await ran.done;
    expect(at! - added).toBeGreaterThanOrEqual(550);
  });

  it('retries a failing job with backoff, counting attempts from 1, then keeps it as a dead letter', async () => {
    const queue = await createQueue<{ v: number }>({ attempts: 3 });
    const attempts = collect<number>(3);
    const dead = collect<unknown>(1);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process((_data, ctx) => {
      attempts.push(ctx.attempt);
      throw new Error(`boom ${ctx.attempt}`);
    });
    const jobId = await queue.addJob({ v: 7 }, { priority: 4, backoff: { type: 'exponential', delayMs: 20 } });
    expect(await attempts.done).toEqual([1, 2, 3]);
    const [letter] = await dead.done;
    expect(letter).toMatchObject({ jobId, data: { v: 7 }, attemptsMade: 3, priority: 4, error: { message: 'boom 3' } });
    const [listed] = await queue.listDeadLetters();
    expect(listed).toEqual(letter);
    expect(listed!.error.stack).toContain('boom 3');
    expect(listed!.failedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(await queue.getQueueStats()).toMatchObject({ failed: 0, deadLetter: 1 });
  });

  it('retryDeadLetter puts a dead job back to waiting under its id, with fresh attempts', async () => {
    const queue = await createQueue<{ v: number }>({ attempts: 2 });
    let fail = true;
    const runs = collect<{ attempt: number; jobId: string }>(3);
    const dead = collect<unknown>(1);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process((_data, ctx) => {
      runs.push({ attempt: ctx.attempt, jobId: ctx.jobId });
      if (fail) throw new Error('not yet');
      return 'ok';
    });
    const jobId = await queue.addJob({ v: 1 }, { jobId: 'retry-me' });
    await dead.done;
    fail = false;
    expect(await queue.retryDeadLetter(jobId)).toBe(jobId);
    expect(await queue.listDeadLetters()).toEqual([]);
    expect(await runs.done).toEqual([
      { attempt: 1, jobId },
      { attempt: 2, jobId },
      { attempt: 1, jobId },
    ]);
    await waitFor(async () => (await queue.getQueueStats()).completed === 1);
    expect(await queue.getQueueStats()).toMatchObject({ deadLetter: 0, failed: 0 });
    await expect(queue.retryDeadLetter('missing')).rejects.toSatisfy((error) => isTaskQueueError(error, 'NOT_FOUND'));
  });

  it('reports progress to subscribers and passes failures and results along', async () => {
    const queue = await createQueue<{ fail: boolean }>({ attempts: 1 });
    const events = collect<unknown>(6);
    await queue.subscribe((event) => events.push(event));
    await queue.process(async (data, ctx) => {
      await ctx.progress(50);
      await ctx.progress({ step: 'two' });
      if (data.fail) throw new Error('bad');
      return { ok: true };
    });
    const good = await queue.addJob({ fail: false });
    const bad = await queue.addJob({ fail: true });
    const received = await events.done;
    expect(received).toEqual([
      { type: 'progress', jobId: good, progress: 50 },
      { type: 'progress', jobId: good, progress: { step: 'two' } },
      { type: 'completed', jobId: good, result: { ok: true } },
      { type: 'progress', jobId: bad, progress: 50 },
      { type: 'progress', jobId: bad, progress: { step: 'two' } },
      { type: 'failed', jobId: bad, error: 'bad' },
    ]);
  });
});

describe('TaskQueueWrapper: storage', () => {
  it('uses the namespace as the BullMQ prefix and a hash-tagged queue name', async () => {
    const manager = await createManager();
    const queue = await createQueue({ name: 'reviews' }, manager);
    const jobId = await queue.addJob({ x: 1 });
    const raw = new Queue('{reviews}', { connection: manager.getConnection(), prefix: manager.namespace });
    try {
      expect((await raw.getJob(jobId))?.data).toEqual({ x: 1 });
    } finally {
      await raw.close();
    }
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBeGreaterThan(0);
  });
});
