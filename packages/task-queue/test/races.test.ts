import { describe, expect, it } from 'vitest';
import { waitFor } from '@shim/testing';
import { Job, Queue, Worker } from 'bullmq';
import type { TaskEvent } from '../src/index.js';
import { createManager, createQueue } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('review', () => {
  it('close() that runs out of time leaves the manager shared command connection usable', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({}, manager);
    let started = false;
    await queue.process(async (_data, ctx) => {
      started = true;
      // A job that outlives close()'s timeout (ignores the signal, as a slow handler would).
      await sleep(3_000);
      void ctx;
    });
    await queue.addJob({ n: 1 });
    await waitFor(() => started);
    await queue.close({ timeoutMs: 200 });
    // The wrapper must close only what it created: the manager's command connection is not its own.
    expect(manager.getConnection().status).toBe('ready');
    await expect(manager.getConnection().ping()).resolves.toBe('PONG');
  });

  it('process() racing close(): no sweep timer survives close()', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ name: 'race' }, manager);
    const processing = queue.process(() => undefined);
    const closing = queue.close();
    await processing;
    await closing;
    // A failed job appearing after close() must not be touched by the closed wrapper.
    const prefix = manager.namespace;
    const raw = new Queue('{race}', { prefix, connection: manager.getConnection() });
    const rawWorker = new Worker(
      '{race}',
      () => {
        throw new Error('boom');
      },
      { prefix, connection: await manager.createConnection('blocking') },
    );
    await raw.add('task', { n: 1 }, { jobId: 'after-close', removeOnFail: false, attempts: 1 });
    await waitFor(async () => (await raw.getFailedCount()) === 1 || undefined);
    await rawWorker.close();
    await sleep(2_500); // > stalledIntervalMs (1 s in FAST)
    expect(await raw.getFailedCount()).toBe(1);
    await raw.close();
  });

  it('a job that re-uses the id of a dead letter is not lost when it fails too', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ version: number }>({ attempts: 1 }, manager);
    await queue.process((data) => {
      throw new Error(`failed v${data.version}`);
    });
    await queue.addJob({ version: 1 }, { jobId: 'same' });
    await waitFor(async () => (await queue.listDeadLetters()).length === 1 || undefined);
    // The producer adds a corrected job under the same id (README: jobId de-duplicates only while still in the queue).
    await queue.addJob({ version: 2 }, { jobId: 'same' });
    await waitFor(async () => {
      const stats = await queue.getQueueStats();
      return stats.failed + stats.waiting + stats.active + stats.prioritized === 0 || undefined;
    });
    const letters = await queue.listDeadLetters();
    // Version 2 failed for good: it must be somewhere (the DLQ), with its own data and error.
    expect(letters.map((letter) => letter.data.version)).toContain(2);
  });

  it('listDeadLetters() pages oldest first', async () => {
    const manager = await createManager();
    const prefix = manager.namespace;
    // Three jobs fail (one after the other) before any wrapper worker runs: one sweep batch moves them.
    const raw = new Queue('{order}', { prefix, connection: manager.getConnection() });
    const conn = await manager.createConnection('blocking');
    const rawWorker = new Worker(
      '{order}',
      async () => {
        await sleep(20);
        throw new Error('boom');
      },
      { prefix, connection: conn, autorun: false },
    );
    for (const id of ['a', 'b', 'c']) await raw.add('task', { id }, { jobId: id, attempts: 1, removeOnFail: false });
    void rawWorker.run();
    await waitFor(async () => (await raw.getFailedCount()) === 3 || undefined);
    await rawWorker.close();
    await raw.close();
    const queue = await createQueue<{ id: string }>({ name: 'order' }, manager);
    await queue.process(() => undefined);
    await waitFor(async () => (await queue.getQueueStats()).deadLetter === 3 || undefined);
    const all = await queue.listDeadLetters();
    expect(all.map((letter) => letter.jobId)).toEqual(['a', 'b', 'c']);
    const first = await queue.listDeadLetters({ start: 0, count: 1 });
    expect(first.map((letter) => letter.jobId)).toEqual(['a']);
  });

  it('retryDeadLetter() racing the dead-letter sweep does not lose the job', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ attempts: 1 }, manager);
    let runs = 0;
    await queue.process(() => {
      runs += 1;
      throw new Error(`fail ${runs}`);
    });
    await queue.addJob({ n: 1 }, { jobId: 'x' });
    await waitFor(async () => (await queue.getQueueStats()).deadLetter === 1 || undefined);
    // Simulate a slow round trip for retryDeadLetter's last step (removing the dead-letter copy):
    // meanwhile the retried job fails at once and the worker sweeps it.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, called with apply
    const original = Job.prototype.remove;
    Job.prototype.remove = async function (this: Job, ...args: Parameters<Job['remove']>) {
      if (this.queueName.endsWith('.dead-letter}')) await sleep(1_000);
      return original.apply(this, args);
    };
    try {
      await queue.retryDeadLetter('x');
    } finally {
      Job.prototype.remove = original;
    }
    expect(runs).toBe(2);
    // The retried job failed for good again: its new failure is in the dead-letter queue, under its own id.
    await waitFor(async () => (await queue.listDeadLetters()).length === 1);
    const [letter] = await queue.listDeadLetters();
    expect(letter).toMatchObject({ jobId: 'x', error: { message: 'fail 2' } });
    expect(letter!.deadLetterId).toMatch(/^x~\d+$/);
  });

  it("subscribe(): 'failed' is not reported for attempts that will be retried", async () => {
    const queue = await createQueue<{ n: number }>({ attempts: 3 });
    const events: TaskEvent[] = [];
    await queue.subscribe((event) => {
      events.push(event);
    });
    await queue.process(() => {
      throw new Error('boom');
    });
    await queue.addJob({ n: 1 }, { jobId: 'f' });
    await waitFor(async () => (await queue.getQueueStats()).deadLetter === 1 || undefined);
    // The final 'failed' arrives on another connection: wait for it, then give extra ones time to show up.
    await waitFor(() => events.some((event) => event.type === 'failed'));
    await sleep(300);
    expect(events.filter((event) => event.type === 'failed')).toHaveLength(1);
  });

  it('two wrappers sweeping the same queue report no errors and dead-letter every job once', async () => {
    const manager = await createManager();
    const a = await createQueue<{ n: number }>({ attempts: 1 }, manager);
    const b = await createQueue<{ n: number }>({ attempts: 1 }, manager);
    const errors: string[] = [];
    const moved: string[] = [];
    for (const queue of [a, b]) {
      queue.on('error', (error) => errors.push(error.message));
      queue.on('dead-letter', (letter) => moved.push(letter.jobId));
    }
    const fail = (): never => {
      throw new Error('boom');
    };
    await a.process(fail, { concurrency: 5 });
    await b.process(fail, { concurrency: 5 });
    await a.addJobs(Array.from({ length: 200 }, (_, n) => ({ data: { n } })));
    await waitFor(async () => (await a.getQueueStats()).deadLetter === 200 || undefined, { timeoutMs: 20_000 });
    await sleep(1_500);
    expect(errors).toEqual([]);
    expect(moved).toHaveLength(200);
  });
});
