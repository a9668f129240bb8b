import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from '@shim/connection';
import { collect, countNamespaceKeys, waitFor } from '@shim/testing';
import { closeAfter } from '@shim/testing/scope';
import { Queue } from 'bullmq';
import { isTaskQueueError, type TaskQueueWrapper } from '../src/index.js';
import { createManager, createQueue } from './helpers.js';

interface Run {
  jobId: string;
  attempt: number;
}

/** A queue whose handler fails every job with `fail: true`, once the jobs `ids` (priorities 1, 2 …) became dead letters. */
async function withDeadLetters(
  ids: string[],
  options: { attempts?: number } = {},
): Promise<{ queue: TaskQueueWrapper<{ n: number; fail: boolean }>; runs: Run[] }> {
  const queue = await createQueue<{ n: number; fail: boolean }>({ attempts: options.attempts ?? 1 });
  const runs: Run[] = [];
  const dead = collect<string>(ids.length, 20_000);
  queue.on('dead-letter', (letter) => dead.push(letter.jobId));
  await queue.process(
    (data, ctx) => {
      runs.push({ jobId: ctx.jobId, attempt: ctx.attempt });
      if (data.fail) throw new Error(`fail ${data.n}`);
      return data.n;
    },
    { concurrency: 20 },
  );
  await queue.addJobs(ids.map((jobId, n) => ({ data: { n, fail: true }, options: { jobId, priority: n + 1 } })));
  await dead.done;
  return { queue, runs };
}

const isCode = (code: string) => (error: unknown) => isTaskQueueError(error, code as never);

describe('queue.dead: the DeadLetterStore of a task queue (BullMQ failed set)', () => {
  it('list() and get() give records in the shared shape, oldest first; count() counts them', async () => {
    const { queue } = await withDeadLetters(['a'], { attempts: 2 });
    const [record] = await queue.dead.list();
    expect(record).toEqual({
      id: 'a',
      source: 'queue:tasks',
      reason: 'fail 0',
      attempts: 2,
      failedAt: expect.any(Number) as number,
      payload: { n: 0, fail: true },
    } satisfies DeadLetterRecord<{ n: number; fail: boolean }>);
    expect(await queue.dead.get('a')).toEqual(record);
    const [letter] = await queue.listDeadLetters();
    expect(letter).toMatchObject({ jobId: 'a', deadLetterId: 'a', failedAt: record!.failedAt, attemptsMade: 2 });
    expect(await queue.dead.count()).toBe(1);
    expect(await queue.dead.get('missing')).toBeUndefined();
    await queue.addJob({ n: 9, fail: false }, { jobId: 'alive', delayMs: 60_000 });
    // A job that is not a dead letter is not one to get, retry or purge.
    expect(await queue.dead.get('alive')).toBeUndefined();
    expect(await queue.dead.purge(['alive'])).toBe(0);
    expect(await queue.getQueueStats()).toMatchObject({ delayed: 1, deadLetter: 1 });
  });

  it('is what raw BullMQ (and every BullMQ dashboard) sees as failed: no second queue', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ attempts: 1 }, manager);
    const dead = collect<string>(1);
    queue.on('dead-letter', (letter) => dead.push(letter.jobId));
    await queue.process(() => {
      throw new Error('boom');
    });
    await queue.addJob({ n: 1 }, { jobId: 'x' });
    await dead.done;
    const raw = closeAfter(new Queue('{tasks}', { connection: manager.getConnection(), prefix: manager.namespace }));
    expect(await raw.getFailedCount()).toBe(1);
    expect((await raw.getFailed()).map((job) => job.id)).toEqual(['x']);
    const [, keys] = await manager
      .getConnection()
      .scan('0', 'MATCH', `${manager.namespace}:*dead-letter*`, 'COUNT', 10_000);
    expect(keys).toEqual([]);
  });

  it('retry() puts the job back under its id, priority kept, attempts counted from 1', async () => {
    const { queue, runs } = await withDeadLetters(['a', 'b'], { attempts: 2 });
    await queue.pause();
    expect(await queue.dead.retry('b')).toBe('b');
    // b had priority 2: it waits among the prioritized jobs again; a is still a dead letter.
    expect(await queue.getQueueStats()).toMatchObject({ prioritized: 1, deadLetter: 1 });
    expect((await queue.listDeadLetters()).map((letter) => letter.jobId)).toEqual(['a']);
    await expect(queue.dead.retry('b')).rejects.toSatisfy(isCode('NOT_FOUND'));
    const before = runs.length;
    await queue.resume();
    await waitFor(async () => (await queue.dead.count()) === 2);
    expect(runs.slice(before)).toEqual([
      { jobId: 'b', attempt: 1 },
      { jobId: 'b', attempt: 2 },
    ]);
    expect((await queue.dead.get('b'))?.attempts).toBe(2);
  });

  it('purge() deletes the given dead letters, or all of them, and nothing else', async () => {
    const ids = Array.from({ length: 130 }, (_, n) => `d${n}`);
    const { queue } = await withDeadLetters(ids);
    expect(await queue.dead.purge(['d0', 'd1', 'not-there'])).toBe(2);
    expect(await queue.dead.get('d0')).toBeUndefined();
    await queue.addJob({ n: 1, fail: false }, { jobId: 'keep', delayMs: 60_000 });
    // More than one batch of the purge loop.
    expect(await queue.dead.purge()).toBe(128);
    expect(await queue.dead.count()).toBe(0);
    expect(await queue.dead.purge()).toBe(0);
    expect(await queue.getQueueStats()).toMatchObject({ delayed: 1, deadLetter: 0 });
  }, 30_000);

  it('a purge racing a retry of the same dead letter: one of them wins, the job is never half-gone', async () => {
    const { queue } = await withDeadLetters(['r']);
    await queue.pause();
    const [purged, retried] = await Promise.all([
      queue.dead.purge(['r']),
      queue.dead.retry('r').catch((error: unknown) => error),
    ]);
    const stats = await queue.getQueueStats();
    if (purged === 1) {
      expect(retried).toSatisfy(isCode('NOT_FOUND'));
      expect(stats).toMatchObject({ prioritized: 0, deadLetter: 0 });
    } else {
      expect(retried).toBe('r');
      expect(stats).toMatchObject({ prioritized: 1, deadLetter: 0 });
    }
  });

  it('refuses bad ids and arguments, and every verb after close(), writing nothing', async () => {
    const manager = await createManager();
    const queue = await createQueue({}, manager);
    for (const id of ['', '123', 'a:b', 42]) {
      await expect(queue.dead.get(id as never)).rejects.toSatisfy(isCode('INVALID_JOB_ID'));
      await expect(queue.dead.retry(id as never)).rejects.toSatisfy(isCode('INVALID_JOB_ID'));
      await expect(queue.dead.purge([id as never])).rejects.toSatisfy(isCode('INVALID_JOB_ID'));
    }
    await expect(queue.dead.purge('a' as never)).rejects.toThrow('ids must be an array, got string');
    await expect(queue.dead.list({ count: 0 })).rejects.toSatisfy(isCode('INVALID_OPTION'));
    await expect(queue.dead.retry('nope')).rejects.toMatchObject({ code: 'NOT_FOUND', jobId: 'nope' });
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
    await queue.close();
    for (const call of [
      () => queue.dead.list(),
      () => queue.dead.get('a'),
      () => queue.dead.retry('a'),
      () => queue.dead.purge(),
      () => queue.dead.count(),
    ]) {
      await expect(call()).rejects.toSatisfy(isCode('QUEUE_CLOSED'));
    }
  });
});
