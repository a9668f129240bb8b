import { describe, expect, it } from 'vitest';
import type { RedisConnectionManager } from '@shim/connection';
import { collect, waitFor, type RedisServer } from '@shim/testing';
import { closeAfter, privateServer } from '@shim/testing/scope';
import { isTaskQueueError, TaskQueueWrapper, type TaskEvent, type TaskQueueOptions } from '../src/index.js';
import { createManager, createQueue, FAST, managerOn } from './helpers.js';

/** A throwaway redis-server and a manager on it, both closed after the test. */
async function privateRedis(
  server: { appendOnly?: boolean; appendFsync?: 'always' | 'everysec' } = {},
  offlineCommandTimeoutMs = 10_000,
): Promise<{ server: RedisServer; manager: RedisConnectionManager }> {
  const redis = await privateServer(server);
  return { server: redis, manager: await managerOn(redis.url, { offlineCommandTimeoutMs }) };
}

function queueOn<TData>(manager: RedisConnectionManager, name: string, options: TaskQueueOptions<TData> = {}) {
  return closeAfter(new TaskQueueWrapper<TData>(manager, name, { ...FAST, ...options }));
}

describe('close()', () => {
  it('lets the active job finish and takes no new one', async () => {
    const manager = await createManager();
    const queue = await createQueue<{ n: number }>({}, manager);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started = collect<number>(1);
    await queue.process(async (data) => {
      started.push(data.n);
      await gate;
      return data.n;
    });
    await queue.addJob({ n: 1 });
    await queue.addJob({ n: 2 });
    await started.done;
    const closed = queue.close();
    // The job ends a moment after close() began: close() must wait for it (the point of the test).
    setTimeout(release, 200);
    await closed;
    const observer = await createQueue({}, manager);
    expect(await observer.getQueueStats()).toMatchObject({ completed: 1, waiting: 1, active: 0 });
    expect(started.values).toEqual([1]);
    await expect(queue.addJob({ n: 3 })).rejects.toSatisfy((error) => isTaskQueueError(error, 'QUEUE_CLOSED'));
  });

  it('aborts ctx.signal when the time runs out, and resolves', async () => {
    const queue = await createQueue<{ n: number }>();
    const signals = collect<AbortSignal>(1);
    await queue.process(
      (_data, ctx) =>
        new Promise((_resolve, reject) => {
          signals.push(ctx.signal);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        }),
    );
    await queue.addJob({ n: 1 });
    const [signal] = await signals.done;
    const started = Date.now();
    await queue.close({ timeoutMs: 500 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(signal!.aborted).toBe(true);
    expect(isTaskQueueError(signal!.reason, 'QUEUE_CLOSED')).toBe(true);
  });

  it('never hangs when Redis is unreachable: it resolves after its timeout', async () => {
    const { server, manager } = await privateRedis();
    const queue = queueOn<{ n: number }>(manager, 'unreachable');
    queue.on('error', () => undefined);
    await queue.process(() => 'ok');
    await queue.subscribe(() => undefined);
    await queue.addJob({ n: 1 });
    await server.kill();
    const started = Date.now();
    await queue.close({ timeoutMs: 1_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('no lost work', () => {
  it('processes every job added before a Redis restart (AOF, appendfsync always)', async () => {
    const { server, manager } = await privateRedis({ appendOnly: true, appendFsync: 'always' });
    const producer = queueOn<{ n: number }>(manager, 'restart');
    await producer.addJobs(Array.from({ length: 20 }, (_, n) => ({ data: { n }, options: { priority: (n % 3) + 1 } })));
    await server.kill();
    await server.start();
    await waitFor(() => manager.isHealthy(), { timeoutMs: 15_000, description: 'the manager to reconnect' });
    const done = collect<number>(20, 20_000);
    const worker = queueOn<{ n: number }>(manager, 'restart');
    await worker.process((data) => {
      done.push(data.n);
    });
    expect([...(await done.done)].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  }, 40_000);

  it('a handler running 5× the lock duration is never reported stalled', async () => {
    const manager = await createManager();
    const options = { lockDurationMs: 1_000, stalledIntervalMs: 300 };
    const queue = await createQueue<{ n: number }>(options, manager);
    // A second, idle worker runs its own stalled checks on the same queue.
    const other = await createQueue<{ n: number }>(options, manager);
    const events: TaskEvent[] = [];
    await queue.subscribe((event) => {
      events.push(event);
    });
    const runs = collect<number>(1);
    await queue.process(async (data, ctx) => {
      runs.push(ctx.attempt);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      return data.n;
    });
    const jobId = await queue.addJob({ n: 1 });
    await runs.done;
    await other.process(() => 'other');
    await waitFor(() => events.find((event) => event.type === 'completed'), { timeoutMs: 15_000 });
    expect(events.filter((event) => event.type === 'stalled')).toEqual([]);
    expect(events).toContainEqual({ type: 'completed', jobId, result: 1 });
    expect(runs.values).toEqual([1]);
  }, 20_000);
});

describe('outages', () => {
  it('workers survive Redis stopped for 20 s, five times in a row: jobs added during and after each outage complete within 10 s of its return', async () => {
    const { server, manager } = await privateRedis({ appendOnly: true }, 60_000);
    const queue = queueOn<{ cycle: number; when: string }>(manager, 'outage');
    queue.on('error', () => undefined);
    const completed = new Map<string, number>();
    await queue.process((data) => {
      completed.set(`${data.cycle}:${data.when}`, Date.now());
    });
    const recoveries: number[] = [];
    for (let cycle = 1; cycle <= 5; cycle += 1) {
      await server.stop();
      // Added while Redis is down: waits in the offline queue (offlineCommandTimeoutMs 60 s here).
      const during = queue.addJob({ cycle, when: 'during' });
      // The outage itself: 20 s without Redis is what this test is about.
      await new Promise((resolve) => setTimeout(resolve, 20_000));
      await server.start();
      const back = Date.now();
      await during;
      await queue.addJob({ cycle, when: 'after' });
      await waitFor(() => completed.has(`${cycle}:during`) && completed.has(`${cycle}:after`), {
        timeoutMs: 10_000,
        description: `jobs of outage ${cycle} to complete`,
      });
      recoveries.push(Math.max(completed.get(`${cycle}:during`)!, completed.get(`${cycle}:after`)!) - back);
    }
    expect(recoveries).toHaveLength(5);
    for (const ms of recoveries) expect(ms).toBeLessThan(10_000);
  }, 200_000);
});
