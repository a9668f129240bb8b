import { describe, expect, it } from 'vitest';
import { collect, waitFor } from '@shim/testing';
import { sharedRedisUrl } from '@shim/testing/scope';
import type { DeadLetter, TaskEvent } from '../src/index.js';
import { createManager, createQueue, workerProcess } from './helpers.js';

describe('TaskQueueWrapper: queue control', () => {
  it('runs up to `concurrency` jobs at once', async () => {
    const queue = await createQueue<{ n: number }>();
    let running = 0;
    let peak = 0;
    const done = collect<number>(6);
    await queue.process(
      async (data) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 150));
        running -= 1;
        done.push(data.n);
      },
      { concurrency: 3 },
    );
    await queue.addJobs([1, 2, 3, 4, 5, 6].map((n) => ({ data: { n } })));
    await done.done;
    expect(peak).toBe(3);
  });

  it('pause() stops every worker of the queue from taking jobs; resume() lets them go on', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({}, manager);
    const otherWrapper = await createQueue<{ n: number }>({}, manager);
    const done = collect<number>(1);
    await otherWrapper.process((data) => {
      done.push(data.n);
    });
    await queue.pause();
    expect(await queue.getQueueStats()).toMatchObject({ isPaused: true });
    await queue.addJob({ n: 1 });
    // A job that is not taken leaves no event to wait for: give the running worker time to (not) take it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done.values).toEqual([]);
    expect(await otherWrapper.getQueueStats()).toMatchObject({ waiting: 1, isPaused: true });
    await queue.resume();
    expect(await done.done).toEqual([1]);
    await waitFor(async () => (await queue.getQueueStats()).completed === 1);
    expect(await queue.getQueueStats()).toMatchObject({ isPaused: false });
  });

  it('clean() removes finished jobs older than the given age', async () => {
    const queue = await createQueue<{ n: number }>();
    const done = collect<number>(3);
    await queue.process((data) => {
      done.push(data.n);
    });
    await queue.addJobs([1, 2, 3].map((n) => ({ data: { n } })));
    await done.done;
    await waitFor(async () => (await queue.getQueueStats()).completed === 3);
    expect(await queue.clean({ status: 'completed', olderThanMs: 60_000 })).toBe(0);
    expect(await queue.clean({ status: 'completed', olderThanMs: 0, limit: 2 })).toBe(2);
    expect(await queue.clean({ status: 'completed', olderThanMs: 0 })).toBe(1);
    expect(await queue.clean({ status: 'failed', olderThanMs: 0 })).toBe(0);
    expect(await queue.getQueueStats()).toMatchObject({ completed: 0 });
  });

  it('keeps completed jobs as keepCompleted says', async () => {
    const queue = await createQueue<{ n: number }>({ keepCompleted: { count: 2 } });
    const done = collect<number>(4);
    await queue.process((data) => {
      done.push(data.n);
    });
    await queue.addJobs([1, 2, 3, 4].map((n) => ({ data: { n } })));
    await done.done;
    await waitFor(async () => (await queue.getQueueStats()).active === 0);
    expect((await queue.getQueueStats()).completed).toBe(2);
  });

  it('unsubscribing stops the events for that handler only', async () => {
    const queue = await createQueue<{ n: number }>();
    const first: TaskEvent[] = [];
    const second = collect<TaskEvent>(2);
    const off = await queue.subscribe((event) => {
      first.push(event);
    });
    const offSecond = await queue.subscribe((event) => second.push(event));
    await off();
    await queue.process((data) => data.n);
    await queue.addJob({ n: 1 });
    await queue.addJob({ n: 2 });
    await second.done;
    expect(first).toEqual([]);
    await offSecond();
    // With no handler left the event reader is closed; a new subscription starts another one.
    const third = collect<TaskEvent>(1);
    await queue.subscribe((event) => third.push(event));
    const jobId = await queue.addJob({ n: 3 });
    expect(await third.done).toEqual([{ type: 'completed', jobId, result: 3 }]);
  });

  it('reports a throwing subscriber on error and keeps delivering', async () => {
    const queue = await createQueue<{ n: number }>();
    const errors = collect<Error>(2);
    queue.on('error', (error) => errors.push(error));
    await queue.subscribe(() => {
      throw new Error('sync subscriber bug');
    });
    await queue.subscribe(() => Promise.reject(new Error('async subscriber bug')));
    await queue.process((data) => data.n);
    await queue.addJob({ n: 1 });
    expect((await errors.done).map((error) => error.message).sort()).toEqual([
      'async subscriber bug',
      'sync subscriber bug',
    ]);
  });
});

describe('TaskQueueWrapper: namespaces', () => {
  it('two namespaces with the same queue name never see each other', async () => {
    const a = await createQueue<{ from: string }>({ name: 'shared' });
    const b = await createQueue<{ from: string }>({ name: 'shared' });
    const seenByA = collect<string>(1);
    const seenByB = collect<string>(1);
    await a.process((data) => {
      seenByA.push(data.from);
    });
    await b.process((data) => {
      seenByB.push(data.from);
    });
    await a.addJob({ from: 'a' });
    await b.addJob({ from: 'b' });
    expect(await seenByA.done).toEqual(['a']);
    expect(await seenByB.done).toEqual(['b']);
    await waitFor(async () => (await a.getQueueStats()).completed === 1 && (await b.getQueueStats()).completed === 1);
  });
});

describe('TaskQueueWrapper: stalls', () => {
  it('with a finite maxStalledCount (an opt-in), a job that stalls more than it allows fails for good and is dead-lettered by a surviving worker', async () => {
    const manager = await createManager();
    const options = { maxStalledCount: 0 };
    const queue = await createQueue<{ n: number }>(options, manager);
    const victim = await workerProcess({
      url: sharedRedisUrl(),
      namespace: manager.namespace,
      queue: 'tasks',
      mode: 'worker',
      jobMs: 60_000,
    });
    const jobId = await queue.addJob({ n: 1 });
    await waitFor(() => victim.lines.some((line) => line.includes(jobId)), { timeoutMs: 10_000 });
    victim.child.kill('SIGKILL');
    const dead = collect<DeadLetter>(1, 20_000);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process(() => 'never runs: the job failed for good');
    const [letter] = await dead.done;
    // BullMQ counts the stall that failed it as the attempt made.
    expect(letter).toMatchObject({ jobId, data: { n: 1 }, attemptsMade: 1 });
    expect(letter!.error.message).toMatch(/stalled/);
    expect(await queue.getQueueStats()).toMatchObject({ failed: 0, deadLetter: 1, completed: 0 });
  }, 40_000);
});
