// Infrastructure faults never dead-letter a task: a worker killed, Redis restarted, an event loop
// blocked past the lock, a completion lost with the connection, a close() that ran out of time.
// Each job below has ONE attempt, so a fault counted as a failure would make it a dead letter at
// once; and each stalls twice, more than BullMQ's own default (maxStalledCount 1) lets a job live.
import { describe, expect, it } from 'vitest';
import type { RedisConnectionManager } from '@shim/connection';
import { collect, waitFor } from '@shim/testing';
import { closeAfter, privateServer, sharedRedisUrl } from '@shim/testing/scope';
import { Job, Queue } from 'bullmq';
import type { TaskEvent } from '../src/index.js';
import { createManager, createQueue, managerOn, workerProcess } from './helpers.js';

/** The job as BullMQ stores it (attempts made, stalls counted). */
async function stored(manager: RedisConnectionManager, queue: string, jobId: string): Promise<Job | undefined> {
  const raw = closeAfter(new Queue(`{${queue}}`, { connection: manager.getConnection(), prefix: manager.namespace }));
  return raw.getJob(jobId);
}

/** Collects the job events of `queue`; resolves once they are flowing. */
async function eventsOf(queue: { subscribe(handler: (event: TaskEvent) => void): Promise<unknown> }) {
  const events: TaskEvent[] = [];
  await queue.subscribe((event) => {
    events.push(event);
  });
  return events;
}

/** What every test checks at the end: completed once, never failed, no attempt used by the faults. */
async function expectRecovered(
  manager: RedisConnectionManager,
  name: string,
  seen: { events: TaskEvent[]; stalls: number },
): Promise<void> {
  const { events, stalls } = seen;
  await waitFor(() => events.some((event) => event.type === 'completed'), { timeoutMs: 20_000 });
  expect(events.filter((event) => event.type === 'failed')).toEqual([]);
  expect(events.filter((event) => event.type === 'stalled')).toHaveLength(stalls);
  const job = await stored(manager, name, 'j');
  // One attempt made: the run that completed. The faults before it used none.
  expect(job).toMatchObject({ attemptsMade: 1, stalledCounter: stalls });
  expect(await job!.getState()).toBe('completed');
}

describe('infrastructure faults never dead-letter a task', () => {
  it('a job whose worker process is SIGKILLed twice runs again each time, as attempt 1, and completes', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ name: 'kills', attempts: 1 }, manager);
    const events = await eventsOf(queue);
    await queue.addJob({ n: 1 }, { jobId: 'j' });
    const base = { url: sharedRedisUrl(), namespace: manager.namespace, queue: 'kills', mode: 'worker' } as const;
    const starts: number[] = [];
    for (let kill = 0; kill < 2; kill += 1) {
      const victim = await workerProcess({ ...base, jobMs: 60_000 });
      const start = await waitFor(() => victim.parsed().find((line) => line.event === 'start'), { timeoutMs: 20_000 });
      starts.push(start.attempt!);
      victim.child.kill('SIGKILL');
      await victim.exited;
    }
    const last = collect<number>(1, 20_000);
    await queue.process((_data, ctx) => {
      last.push(ctx.attempt);
      return 'done';
    });
    expect([...starts, ...(await last.done)]).toEqual([1, 1, 1]);
    await expectRecovered(manager, 'kills', { events, stalls: 2 });
    expect(await queue.getQueueStats()).toMatchObject({ deadLetter: 0, failed: 0, completed: 1 });
  }, 90_000);

  it('a job running while Redis is down for longer than its lock, twice, runs again each time and completes', async () => {
    const server = await privateServer({ appendOnly: true, appendFsync: 'always' });
    const manager = await managerOn(server.url, { offlineCommandTimeoutMs: 30_000 });
    const options = { name: 'restarts', attempts: 1, lockDurationMs: 1_000, stalledIntervalMs: 500 };
    const queue = await createQueue<{ n: number }>(options, manager);
    queue.on('error', () => undefined);
    const events = await eventsOf(queue);
    const attempts: number[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The first two runs are cut off by the restarts; they end only once the third has completed.
    await queue.process(
      async (_data, ctx) => {
        attempts.push(ctx.attempt);
        if (attempts.length < 3) await released;
        return 'done';
      },
      { concurrency: 3 },
    );
    await queue.addJob({ n: 1 }, { jobId: 'j' });
    for (let restart = 1; restart <= 2; restart += 1) {
      await waitFor(() => attempts.length === restart, { timeoutMs: 20_000, description: `run ${restart}` });
      await server.kill();
      // The fault under test: Redis gone for longer than the lock (1 s), so the lock expires.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await server.start();
    }
    await waitFor(() => attempts.length === 3, { timeoutMs: 20_000, description: 'the third run' });
    await expectRecovered(manager, 'restarts', { events, stalls: 2 });
    // The cut-off runs end now: their completion is refused (the lock is gone) and changes nothing.
    release();
    expect(attempts).toEqual([1, 1, 1]);
    expect(await queue.getQueueStats()).toMatchObject({ deadLetter: 0, completed: 1, active: 0 });
  }, 90_000);

  it('a job whose handler blocks the event loop past its lock, twice, runs again each time and completes', async () => {
    const manager = await createManager();
    const options = { name: 'blocked', attempts: 1, lockDurationMs: 1_000, stalledIntervalMs: 500 };
    const queue = await createQueue<{ n: number }>(options, manager);
    const errors: string[] = [];
    queue.on('error', (error) => errors.push(error.message));
    const events = await eventsOf(queue);
    const attempts: number[] = [];
    await queue.process((_data, ctx) => {
      attempts.push(ctx.attempt);
      // Blocks the whole thread (no lock renewal, no I/O) for 2.5 locks, as CPU-bound work would.
      if (attempts.length < 3) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_500);
      return 'done';
    });
    await queue.addJob({ n: 1 }, { jobId: 'j' });
    await expectRecovered(manager, 'blocked', { events, stalls: 2 });
    expect(attempts).toEqual([1, 1, 1]);
    // BullMQ reports the completions it could not write (the lock was gone), and only that.
    expect(errors.some((message) => /lock/i.test(message))).toBe(true);
  }, 60_000);

  it('a job whose completion is lost with the connection is run again, not failed', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({ name: 'lost', attempts: 1, lockDurationMs: 1_000 }, manager);
    const errors = collect<Error>(1);
    queue.on('error', (error) => errors.push(error));
    const events = await eventsOf(queue);
    const attempts: number[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, called with apply
    const original = Job.prototype.moveToCompleted;
    let cut = false;
    Job.prototype.moveToCompleted = function (this: Job, ...args: Parameters<Job['moveToCompleted']>) {
      if (cut) return original.apply(this, args);
      cut = true;
      return Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    };
    try {
      await queue.process((_data, ctx) => {
        attempts.push(ctx.attempt);
        return 'done';
      });
      await queue.addJob({ n: 1 }, { jobId: 'j' });
      expect((await errors.done)[0]!.message).toBe('read ECONNRESET');
      await expectRecovered(manager, 'lost', { events, stalls: 1 });
    } finally {
      Job.prototype.moveToCompleted = original;
    }
    expect(attempts).toEqual([1, 1]);
  }, 30_000);

  it('a job cut short by a close() that ran out of time runs again elsewhere, as attempt 1', async () => {
    const manager = await createManager();
    const options = { name: 'closed', attempts: 1, lockDurationMs: 1_000 };
    const first = await createQueue<{ n: number }>(options, manager);
    // Watched from another wrapper: the first one's event reader closes with it.
    const events = await eventsOf(await createQueue(options, manager));
    const aborted = collect<unknown>(1);
    await first.process(
      (_data, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.push(ctx.signal.reason);
            reject(ctx.signal.reason as Error);
          });
        }),
    );
    await first.addJob({ n: 1 }, { jobId: 'j' });
    await waitFor(async () => (await first.getQueueStats()).active === 1);
    await first.close({ timeoutMs: 300 });
    expect(await aborted.done).toEqual([expect.objectContaining({ code: 'QUEUE_CLOSED' })]);
    const second = await createQueue<{ n: number }>(options, manager);
    const rerun = collect<number>(1, 20_000);
    await second.process((_data, ctx) => {
      rerun.push(ctx.attempt);
      return 'done';
    });
    expect(await rerun.done).toEqual([1]);
    await expectRecovered(manager, 'closed', { events, stalls: 1 });
  }, 30_000);
});
