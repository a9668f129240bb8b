import { describe, expect, it } from 'vitest';
import { collect, waitFor } from '@shim/testing';
import { Queue, Worker } from 'bullmq';
import type { DeadLetter, TaskEvent } from '../src/index.js';
import { createManager, createQueue } from './helpers.js';

describe('review', () => {
  it('close() that runs out of time leaves the manager shared command connection usable', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({}, manager);
    let started = false;
    await queue.process(async (_data, ctx) => {
      started = true;
      // A job that outlives close()'s timeout (ignores the signal, as a slow handler would).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      void ctx;
    });
    await queue.addJob({ n: 1 });
    await waitFor(() => started);
    await queue.close({ timeoutMs: 200 });
    // The wrapper must close only what it created: the manager's command connection is not its own.
    expect(manager.getConnection().status).toBe('ready');
    await expect(manager.getConnection().ping()).resolves.toBe('PONG');
  });

  it('process() racing close(): the worker that was starting is closed too and its connection released', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ name: 'race' }, manager);
    const processing = queue.process(() => undefined);
    const closing = queue.close();
    await processing;
    await closing;
    expect(manager.listConnections().filter((connection) => connection.role === 'blocking')).toEqual([]);
  });

  it('jobs failed by raw BullMQ are dead letters at once, listed oldest first and paged', async () => {
    const manager = await createManager();
    const prefix = manager.namespace;
    const raw = new Queue('{order}', { prefix, connection: manager.getConnection() });
    const conn = await manager.createConnection('blocking');
    const rawWorker = new Worker(
      '{order}',
      () => {
        throw new Error('boom');
      },
      { prefix, connection: conn, autorun: false },
    );
    // One at a time, so their failure times are in this order.
    await raw.add('task', { id: 'a' }, { jobId: 'a', attempts: 1, removeOnFail: false });
    void rawWorker.run();
    for (const [index, id] of ['b', 'c'].entries()) {
      await waitFor(async () => (await raw.getFailedCount()) === index + 1 || undefined);
      await raw.add('task', { id }, { jobId: id, attempts: 1, removeOnFail: false });
    }
    await waitFor(async () => (await raw.getFailedCount()) === 3 || undefined);
    await rawWorker.close();
    await raw.close();
    await manager.releaseConnection(conn);
    const queue = await createQueue<{ id: string }>({ name: 'order' }, manager);
    expect((await queue.listDeadLetters()).map((letter) => letter.jobId)).toEqual(['a', 'b', 'c']);
    expect((await queue.listDeadLetters({ start: 1, count: 1 })).map((letter) => letter.jobId)).toEqual(['b']);
    expect((await queue.dead.list({ start: 2 })).map((record) => record.id)).toEqual(['c']);
    expect(await queue.getQueueStats()).toMatchObject({ deadLetter: 3, failed: 0 });
  });

  it('a retried dead letter that fails again is a dead letter again, under its id, its attempts counted afresh', async () => {
    const queue = await createQueue<{ n: number }>({ attempts: 2 });
    let runs = 0;
    const dead = collect<DeadLetter>(2);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process(() => {
      runs += 1;
      throw new Error(`fail ${runs}`);
    });
    await queue.addJob({ n: 1 }, { jobId: 'x' });
    await waitFor(() => dead.values.length === 1);
    expect(await queue.retryDeadLetter('x')).toBe('x');
    const [first, second] = await dead.done;
    expect(first).toMatchObject({ jobId: 'x', deadLetterId: 'x', attemptsMade: 2, error: { message: 'fail 2' } });
    expect(second).toMatchObject({ jobId: 'x', deadLetterId: 'x', attemptsMade: 2, error: { message: 'fail 4' } });
    expect(runs).toBe(4);
    expect(await queue.listDeadLetters()).toEqual([second]);
  });

  it("subscribe(): 'failed' is not reported for attempts that will be retried", async () => {
    const queue = await createQueue<{ fail: boolean }>({ attempts: 3 });
    const events: TaskEvent[] = [];
    const completed = collect<TaskEvent>(1);
    await queue.subscribe((event) => {
      events.push(event);
      if (event.type === 'completed') completed.push(event);
    });
    await queue.process((data) => {
      if (data.fail) throw new Error('boom');
      return 'ok';
    });
    await queue.addJob({ fail: true }, { jobId: 'f' });
    await waitFor(async () => (await queue.getQueueStats()).deadLetter === 1 || undefined);
    // Events come in stream order: once a later job's 'completed' arrived, any 'failed' of 'f' has too.
    await queue.addJob({ fail: false }, { jobId: 'later' });
    await completed.done;
    expect(events.filter((event) => event.type === 'failed')).toEqual([{ type: 'failed', jobId: 'f', error: 'boom' }]);
  });

  it('two wrappers working the same queue report no errors, and each job failing for good is reported and kept once', async () => {
    const manager = await createManager();
    const a = await createQueue<{ n: number }>({ attempts: 1 }, manager);
    const b = await createQueue<{ n: number }>({ attempts: 1 }, manager);
    const errors: string[] = [];
    const reported: string[] = [];
    for (const queue of [a, b]) {
      queue.on('error', (error) => errors.push(error.message));
      queue.on('dead-letter', (letter) => reported.push(letter.jobId));
    }
    const fail = (): never => {
      throw new Error('boom');
    };
    await a.process(fail, { concurrency: 5 });
    await b.process(fail, { concurrency: 5 });
    const ids = await a.addJobs(Array.from({ length: 200 }, (_, n) => ({ data: { n } })));
    await waitFor(() => reported.length >= 200, { timeoutMs: 20_000 });
    expect(new Set(reported)).toEqual(new Set(ids));
    expect(reported).toHaveLength(200);
    expect(await a.dead.count()).toBe(200);
    expect(errors).toEqual([]);
  });
});
