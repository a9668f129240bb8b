import { describe, expect, it } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { collect, uniqueNamespace, waitFor } from '@shim/testing';
import { privateServer, sharedRedisUrl } from '@shim/testing/scope';
import { Queue } from 'bullmq';
import { isTaskQueueError, TaskQueueWrapper, type DeadLetter, type JobContext } from '../src/index.js';
import { createManager, createQueue, FAST, managerOn } from './helpers.js';

describe('TaskQueueWrapper: edges', () => {
  it('process() and subscribe() reject while the manager is not connected, and can be called again', async () => {
    const manager = new RedisConnectionManager({ url: sharedRedisUrl(), namespace: uniqueNamespace('tq') });
    const queue = new TaskQueueWrapper(manager, 'tasks', FAST);
    await expect(queue.process(() => 'x')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    // Not ALREADY_PROCESSING: the failed start does not count.
    await expect(queue.process(() => 'x')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await expect(queue.subscribe(() => undefined)).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await queue.close();
  });

  it('jobs failing for good at once are each a dead letter, once, listed oldest first', async () => {
    const queue = await createQueue<{ n: number }>({ attempts: 1 });
    const dead = collect<DeadLetter<{ n: number }>>(6);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process(
      async (data) => {
        // All six fail at about the same moment: each must be reported and listed once.
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error(`fail ${data.n}`);
      },
      { concurrency: 6 },
    );
    await queue.addJobs([1, 2, 3, 4, 5, 6].map((n) => ({ data: { n } })));
    await dead.done;
    const listed = await queue.listDeadLetters();
    expect(listed.map((letter) => letter.data.n).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(listed.map((letter) => letter.failedAt)).toEqual([...listed.map((letter) => letter.failedAt)].sort());
    expect((await queue.listDeadLetters({ start: 2, count: 2 })).length).toBe(2);
    expect(await queue.getQueueStats()).toMatchObject({ deadLetter: 6, failed: 0 });
  });

  it('retryDeadLetter of a job that is no dead letter (waiting, or completed) is NOT_FOUND and leaves the job alone', async () => {
    const queue = await createQueue<{ n: number }>({ attempts: 1 });
    await queue.addJob({ n: 1 }, { jobId: 'waiting' });
    await expect(queue.retryDeadLetter('waiting')).rejects.toSatisfy((error) => isTaskQueueError(error, 'NOT_FOUND'));
    const done = collect<string>(1);
    await queue.subscribe((event) => {
      if (event.type === 'completed') done.push(event.jobId);
    });
    await queue.process((data) => data.n);
    expect(await done.done).toEqual(['waiting']);
    await expect(queue.retryDeadLetter('waiting')).rejects.toSatisfy((error) => isTaskQueueError(error, 'NOT_FOUND'));
    expect(await queue.dead.get('waiting')).toBeUndefined();
    expect(await queue.getQueueStats()).toMatchObject({ completed: 1, waiting: 0, deadLetter: 0 });
  });

  it('reports a throwing dead-letter listener on error', async () => {
    const queue = await createQueue<{ n: number }>({ attempts: 1 });
    const errors = collect<Error>(1);
    queue.on('error', (error) => errors.push(error));
    queue.on('dead-letter', () => {
      throw new Error('listener bug');
    });
    await queue.process(() => {
      throw new Error('no');
    });
    await queue.addJob({ n: 1 });
    expect((await errors.done)[0]!.message).toBe('listener bug');
    await waitFor(async () => (await queue.getQueueStats()).deadLetter === 1);
  });

  it('closes with `await using`', async () => {
    const manager = await createManager();
    let closedQueue: TaskQueueWrapper<unknown> | undefined;
    {
      await using queue = new TaskQueueWrapper(manager, 'disposable', FAST);
      await queue.addJob({ n: 1 });
      closedQueue = queue;
    }
    await expect(closedQueue.addJob({ n: 2 })).rejects.toSatisfy((error) => isTaskQueueError(error, 'QUEUE_CLOSED'));
  });

  it('handles jobs added by raw BullMQ (no attempts or backoff set), and keeps a priority through a retry from the dead-letter queue', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({}, manager);
    const raw = new Queue('{tasks}', { connection: manager.getConnection(), prefix: manager.namespace });
    let fail = true;
    const contexts = collect<JobContext>(2);
    const dead = collect<DeadLetter>(1);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process((_data, ctx) => {
      contexts.push(ctx);
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a handler may throw anything
      if (fail) throw 'not an Error';
      return 'ok';
    });
    try {
      await raw.add('raw', { n: 1 }, { jobId: 'raw-1', priority: 9 });
      const [letter] = await dead.done;
      // Raw BullMQ default: one attempt; a thrown string has no stack.
      expect(letter).toMatchObject({ jobId: 'raw-1', attemptsMade: 1, priority: 9, error: { stack: undefined } });
      fail = false;
      await queue.retryDeadLetter('raw-1');
      const [first, second] = await contexts.done;
      expect(first).toMatchObject({ maxAttempts: 1, attempt: 1 });
      expect(second).toMatchObject({ jobId: 'raw-1', maxAttempts: 1, attempt: 1 });
      expect((await raw.getJob('raw-1'))?.priority).toBe(9);
    } finally {
      await raw.close();
    }
  });

  it('reports a subscriber that throws something other than an Error as an Error', async () => {
    const queue = await createQueue<{ n: number }>();
    const errors = collect<Error>(1);
    queue.on('error', (error) => errors.push(error));
    await queue.subscribe(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a subscriber may throw anything
      throw 'plain string';
    });
    await queue.process(() => 1);
    await queue.addJob({ n: 1 });
    const [error] = await errors.done;
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toBe('plain string');
  });

  it('a queue that only added and subscribed also closes within its timeout when Redis is gone', async () => {
    const server = await privateServer();
    const manager = await managerOn(server.url);
    const queue = new TaskQueueWrapper(manager, 'gone', FAST);
    queue.on('error', () => undefined);
    await queue.addJob({ n: 1 });
    await queue.subscribe(() => undefined);
    await server.kill();
    const started = Date.now();
    // Still waiting for its offline window, so the graceful close cannot finish.
    const adding = queue.addJob({ n: 2 }).catch((error: unknown) => error);
    await queue.close({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2_000);
    await manager.disconnect();
    expect(await adding).toBeInstanceOf(Error);
  });
});
