import { describe, expect, it } from 'vitest';
import { isConnectionError, RedisConnectionManager } from '@shim/connection';
import { collect, countNamespaceKeys } from '@shim/testing';
import { BadInputContext, badInputSuite, expectMentions, outcomeOf } from '@shim/testing/bad-input';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import {
  isTaskQueueError,
  TaskQueueError,
  TaskQueueWrapper,
  type DeadLetter,
  type TaskEvent,
  type TaskQueueErrorCode,
} from '../src/index.js';
import { closeAfter } from '@shim/testing/scope';
import { createManager, createQueue, FAST } from './helpers.js';

/**
 * Calls `call` (a sync throw counts too) and returns the TaskQueueError it fails with; fails the
 * test when it succeeds or fails with anything else.
 */
async function failure(
  call: () => unknown,
  code: TaskQueueErrorCode,
  message?: string | RegExp,
): Promise<TaskQueueError> {
  const { error } = await outcomeOf(call);
  expect(error, `expected a TaskQueueError ${code}`).toBeInstanceOf(TaskQueueError);
  expect(error).toMatchObject({ name: 'TaskQueueError', code });
  expect(isTaskQueueError(error, code)).toBe(true);
  expectMentions((error as Error).message, message);
  return error as TaskQueueError;
}

const keysOf = (manager: RedisConnectionManager): Promise<number> =>
  countNamespaceKeys(manager.getConnection(), manager.namespace);

/** A fresh namespace and a queue in it that has touched nothing yet. */
async function freshQueue<TData = unknown>(
  options: Parameters<typeof createQueue<TData>>[0] = {},
): Promise<{ manager: RedisConnectionManager; queue: TaskQueueWrapper<TData> }> {
  const manager = await createManager();
  const queue = await createQueue<TData>(options, manager);
  expect(await keysOf(manager)).toBe(0);
  return { manager, queue };
}

/** A hand-written Standard Schema for `{ n: number }` (no zod), counting its calls. */
function numberSchema(): StandardSchemaV1<unknown, { n: number }> & { calls: number } {
  const schema = {
    calls: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: (value: unknown): StandardSchemaV1.Result<{ n: number }> => {
        schema.calls += 1;
        return typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number'
          ? { value: value as { n: number } }
          : { issues: [{ message: 'expected a number', path: ['n'] }] };
      },
    },
  };
  return schema;
}

class Point {}

const cycle: Record<string, unknown> = { a: {} };
(cycle['a'] as Record<string, unknown>)['back'] = cycle;

const BAD_DATA: Array<[string, unknown, string]> = [
  ['a BigInt', { a: { b: 1n } }, 'data.a.b is a bigint'],
  ['a cycle', cycle, 'data.a.back refers back to data (a cycle)'],
  ['a function', { fn: () => 1 }, 'data.fn is a function'],
  ['undefined (top level)', undefined, 'data is undefined'],
  ['undefined (nested)', { a: { b: undefined } }, 'data.a.b is undefined'],
  ['a Map', { m: new Map() }, 'data.m is a Map'],
  ['a Set', { list: [new Set()] }, 'data.list[0] is a Set'],
  ['a Date', { when: new Date() }, 'data.when is a Date'],
  ['NaN', { n: Number.NaN }, 'data.n is NaN'],
  ['a Symbol', { s: Symbol('s') }, 'data.s is a symbol'],
  ['Infinity', { n: Infinity }, 'data.n is Infinity'],
  ['a class instance', { p: new Point() }, 'data.p is a Point'],
  ['[1, undefined]', [1, undefined], 'data[1] is undefined'],
  ['a symbol key', { [Symbol('k')]: 1 }, 'data has symbol keys'],
  ['a function in a list', { list: [() => 1] }, 'data.list[0] is a function'],
];

badInputSuite({
  name: 'bad input: addJob refuses data JSON would not carry faithfully, naming the path, writing nothing',
  cases: BAD_DATA.map(([label, data, path]) => ({
    call: `addJob(<data with ${label}>)`,
    run: (queue: TaskQueueWrapper<unknown>) => queue.addJob(data),
    code: 'INVALID_DATA' as const,
    mentions: path,
    props: { name: 'TaskQueueError', queueName: 'tasks' },
  })),
  manager: () => createManager(),
  context: (manager) => closeAfter(new TaskQueueWrapper(manager, 'tasks', FAST)),
  isError: (error, code) => error instanceof TaskQueueError && isTaskQueueError(error, code),
  check: (error) => expect(error.message).toMatch(/^data/),
});

describe('bad input: constructor', () => {
  it('refuses a connection that is not a RedisConnectionManager', async () => {
    for (const connection of [null, undefined, {}, 'redis://localhost', { namespace: 'x' }]) {
      await failure(
        () => new TaskQueueWrapper(connection as never, 'tasks'),
        'INVALID_OPTION',
        'connection must be a RedisConnectionManager',
      );
    }
  });

  it('refuses invalid queue names and invalid options, connecting nothing and writing nothing', async () => {
    const manager = await createManager();
    const names = ['', 'a:b', '{tasks}', 'tasks.dead-letter', 'a b', 'tab\there', 'x'.repeat(201), 42, null, undefined];
    for (const name of [...names, 'a\nb', 'a\u0000b', 'a\u0085b', 'q\ud800']) {
      await failure(() => new TaskQueueWrapper(manager, name as never), 'INVALID_QUEUE_NAME', 'invalid queue name');
    }
    const badOptions: Array<[unknown, string]> = [
      [null, 'options must be an object'],
      ['fast', 'options must be an object'],
      [{ attempts: 0 }, "invalid option 'attempts'"],
      [{ attempts: Number.NaN }, "invalid option 'attempts'"],
      [{ attempts: 1.5 }, "invalid option 'attempts'"],
      [{ maxDataBytes: 0 }, "invalid option 'maxDataBytes'"],
      [{ maxDataBytes: -1 }, "invalid option 'maxDataBytes'"],
      [{ maxDataBytes: 1.5 }, "invalid option 'maxDataBytes'"],
      [{ lockDurationMs: '30000' }, "invalid option 'lockDurationMs'"],
      [{ lockDurationMs: 1 }, "invalid option 'lockDurationMs'"],
      [{ lockDurationMs: Number.NaN }, "invalid option 'lockDurationMs'"],
      [{ lockDurationMs: 2 ** 31 }, "invalid option 'lockDurationMs'"],
      [{ lockDurationMs: 1_000, lockRenewMs: 1_000 }, 'invalid lockRenewMs: must be less than lockDurationMs'],
      [{ stalledIntervalMs: 0 }, "invalid option 'stalledIntervalMs'"],
      [{ stalledIntervalMs: -5 }, "invalid option 'stalledIntervalMs'"],
      [{ maxStalledCount: -1 }, "invalid option 'maxStalledCount'"],
      [{ maxStalledCount: -Infinity }, "invalid option 'maxStalledCount'"],
      [{ closeTimeoutMs: 0 }, "invalid option 'closeTimeoutMs'"],
      [{ closeTimeoutMs: Infinity }, "invalid option 'closeTimeoutMs'"],
      [{ backoff: 'exponential' }, 'invalid backoff'],
      [{ backoff: { type: 'linear', delayMs: 1 } }, 'invalid backoff'],
      [{ backoff: { type: 'fixed', delayMs: -1 } }, "invalid option 'backoff.delayMs'"],
      [{ backoff: { type: 'fixed', delayMs: 1, jitter: 2 } }, 'invalid backoff.jitter'],
      [{ keepCompleted: {} }, 'invalid keepCompleted'],
      [{ keepCompleted: { count: -1 } }, "invalid option 'keepCompleted.count'"],
      [{ keepCompleted: { ageMs: 0 } }, "invalid option 'keepCompleted.ageMs'"],
      [{ schema: { parse: () => 1 } }, 'invalid schema'],
      [{ schema: {} }, 'invalid schema'],
      [{ schema: 'zod' }, 'invalid schema'],
    ];
    for (const [options, message] of badOptions) {
      await failure(() => new TaskQueueWrapper(manager, 'tasks', options as never), 'INVALID_OPTION', message);
    }
    expect(await keysOf(manager)).toBe(0);
  });
});

describe('bad input: the manager', () => {
  it('passes connection errors on unchanged (NOT_CONNECTED before connect(), MANAGER_CLOSED after disconnect()), writing nothing', async () => {
    const manager = await createManager();
    const spare = new BadInputContext(manager, (base) => new RedisConnectionManager(base)).spare();
    const idle = closeAfter(new TaskQueueWrapper(spare, 'tasks', FAST));
    await expect(idle.addJob({ n: 1 })).rejects.toSatisfy((error) => isConnectionError(error, 'NOT_CONNECTED'));
    await spare.connect();
    await spare.disconnect();
    const closed = closeAfter(new TaskQueueWrapper(spare, 'tasks', FAST));
    await expect(closed.getQueueStats()).rejects.toSatisfy((error) => isConnectionError(error, 'MANAGER_CLOSED'));
    expect(await keysOf(manager)).toBe(0);
  });
});

describe('bad input: addJob', () => {
  it('refuses bad priorities, options and job ids with clear codes, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    for (const priority of [Number.NaN, -1, 0, 1.5, 2_097_152, Infinity]) {
      await failure(
        () => queue.addJob({ v: 1 }, priority),
        'INVALID_PRIORITY',
        "invalid option 'priority': expected an integer number of priority levels from 1 to 2097151",
      );
      await failure(() => queue.addJob({ v: 1 }, { priority }), 'INVALID_PRIORITY', "invalid option 'priority'");
    }
    await failure(() => queue.addJob({ v: 1 }, { priority: '1' as never }), 'INVALID_PRIORITY', 'got string');
    await failure(
      () => queue.addJob({ v: 1 }, '1' as never),
      'INVALID_JOB_OPTION',
      'expected a priority or an options object, got string',
    );
    for (const [options, got] of [
      [null, 'got null'],
      ['high', 'got string'],
      [true, 'got boolean'],
    ] as const) {
      await failure(() => queue.addJob({ v: 1 }, options as never), 'INVALID_JOB_OPTION', got);
    }
    for (const attempts of [0, -1, Number.NaN, 1.5]) {
      await failure(() => queue.addJob({ v: 1 }, { attempts }), 'INVALID_JOB_OPTION', "invalid option 'attempts'");
    }
    for (const delayMs of [-1, Number.NaN, 1.5, -Infinity]) {
      await failure(() => queue.addJob({ v: 1 }, { delayMs }), 'INVALID_JOB_OPTION', "invalid option 'delayMs'");
    }
    await failure(
      () => queue.addJob({ v: 1 }, { backoff: { type: 'fixed', delayMs: -5 } }),
      'INVALID_JOB_OPTION',
      "invalid option 'backoff.delayMs'",
    );
    await failure(
      () => queue.addJob({ v: 1 }, { backoff: { type: 'fixed', delayMs: Number.NaN } }),
      'INVALID_JOB_OPTION',
      "invalid option 'backoff.delayMs'",
    );
    await failure(() => queue.addJob({ v: 1 }, { backoff: 'fixed' as never }), 'INVALID_JOB_OPTION', 'invalid backoff');
    await failure(
      () => queue.addJob({ v: 1 }, { backoff: { type: 'exponential', delayMs: 5, jitter: 1.1 } }),
      'INVALID_JOB_OPTION',
      'invalid backoff.jitter',
    );
    const badIds: Array<[unknown, string]> = [
      ['', 'jobId must not be empty'],
      ['123', 'ids made only of digits are reserved'],
      ['a:b', "':' is not allowed"],
      ['a\u0000b', 'control characters'],
      ['a\tb', 'control characters'],
      ['a\nb', 'control characters'],
      ['a\u0085b', 'control characters'],
      ['x'.repeat(257), 'longer than 256 characters'],
      ['j\ud800', 'not well-formed Unicode'],
      [7, 'jobId must be a string, got number'],
      [null, 'jobId must be a string, got object'],
    ];
    for (const [jobId, message] of badIds) {
      await failure(() => queue.addJob({ v: 1 }, { jobId: jobId as never }), 'INVALID_JOB_ID', message);
    }
    expect(await keysOf(manager)).toBe(0);
    // The wrapper is still usable after all that.
    await queue.addJob({ v: 1 }, { priority: 1, jobId: 'x'.repeat(256) });
    expect(await queue.getQueueStats()).toMatchObject({ prioritized: 1 });
  });

  it('refuses data over maxDataBytes (DATA_TOO_LARGE), writing nothing; data at the limit is stored', async () => {
    const { manager, queue } = await freshQueue<string>({ maxDataBytes: 1_000 });
    await failure(
      () => queue.addJob('x'.repeat(999)),
      'DATA_TOO_LARGE',
      'data is 1001 bytes as JSON, over the limit of 1000 (option maxDataBytes)',
    );
    expect(await keysOf(manager)).toBe(0);
    await queue.addJob('x'.repeat(998));
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1 });
  });

  it('refuses data over the default 512 KiB', async () => {
    const { manager, queue } = await freshQueue<string>();
    await failure(() => queue.addJob('x'.repeat(512 * 1024)), 'DATA_TOO_LARGE', 'over the limit of 524288');
    expect(await keysOf(manager)).toBe(0);
  });

  it('never hands back a job id other than the one given (lone surrogates are not valid UTF-8)', async () => {
    const { queue } = await freshQueue();
    const outcomes: unknown[] = [];
    for (const jobId of ['job-\ud800', 'job-\udbff']) {
      outcomes.push(
        await queue.addJob({ n: 1 }, { jobId }).then(
          (id) => (id === jobId ? 'same id' : `changed to ${JSON.stringify(id)}`),
          (error: unknown) => (isTaskQueueError(error, 'INVALID_JOB_ID') ? 'refused' : error),
        ),
      );
    }
    // Refusing such ids (INVALID_JOB_ID) or keeping them intact are both fine; silently changing them is not.
    expect(outcomes).toSatisfy(
      (seen: unknown[]) =>
        seen.every((outcome) => outcome === 'refused') || seen.every((outcome) => outcome === 'same id'),
    );
  });
});

describe('bad input: addJobs', () => {
  it('refuses the whole batch when any entry is bad, naming the entry, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    await failure(() => queue.addJobs('jobs' as never), 'INVALID_JOB_OPTION', 'addJobs expects an array');
    await failure(() => queue.addJobs(null as never), 'INVALID_JOB_OPTION', 'addJobs expects an array');
    await failure(() => queue.addJobs({} as never), 'INVALID_JOB_OPTION', 'addJobs expects an array');
    await failure(() => queue.addJobs([{ data: 1 }, null as never]), 'INVALID_JOB_OPTION', 'jobs[1] must be an object');
    await failure(() => queue.addJobs([{ data: 1 }, 'x' as never]), 'INVALID_JOB_OPTION', 'jobs[1] must be an object');
    await failure(
      () => queue.addJobs([{ data: 1 }, { data: 2, options: { priority: Number.NaN } }]),
      'INVALID_PRIORITY',
      /^jobs\[1\]: invalid option 'priority'/,
    );
    await failure(
      () => queue.addJobs([{ data: 1, options: { jobId: '42' } }]),
      'INVALID_JOB_ID',
      /^jobs\[0\]: jobId "42": ids made only of digits/,
    );
    await failure(
      () => queue.addJobs([{ data: 1, options: { delayMs: -1 } }]),
      'INVALID_JOB_OPTION',
      /^jobs\[0\]: invalid option 'delayMs'/,
    );
    await failure(
      () => queue.addJobs([{ data: 1 }, { data: 2 }, { data: { big: 10n } }]),
      'INVALID_DATA',
      /^jobs\[2\]: data\.big is a bigint/,
    );
    await failure(() => queue.addJobs([{ data: 1, options: null as never }]), 'INVALID_JOB_OPTION', 'got null');
    expect(await keysOf(manager)).toBe(0);
    expect(await queue.addJobs([{ data: 1 }, { data: 2, options: { priority: 3 } }])).toHaveLength(2);
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1, prioritized: 1 });
  });

  it('refuses a sparse array (a hole is a missing entry, not a job) with a TaskQueueError, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    // eslint-disable-next-line no-sparse-arrays
    await failure(() => queue.addJobs([{ data: 1 }, , { data: 3 }] as never), 'INVALID_JOB_OPTION', 'jobs[1]');
    expect(await keysOf(manager)).toBe(0);
  });
});

describe('bad input: process', () => {
  it('refuses a handler that is not a function and bad concurrency, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    for (const handler of [undefined, null, 'handler', {}, 42]) {
      await failure(() => queue.process(handler as never), 'INVALID_HANDLER', 'handler must be a function');
    }
    for (const concurrency of [0, Number.NaN, 1.5, -1, Infinity, 10_001, '2']) {
      await failure(
        () => queue.process(() => undefined, { concurrency: concurrency as never }),
        'INVALID_OPTION',
        "invalid option 'concurrency': expected an integer number of jobs from 1 to 10000",
      );
    }
    expect(await keysOf(manager)).toBe(0);
    // The refusals did not count as a started worker.
    const ran = collect<number>(1);
    await queue.process((data: unknown) => {
      ran.push(data as number);
    });
    await queue.addJob(5);
    expect(await ran.done).toEqual([5]);
  });

  it('refuses options that are not an object with INVALID_OPTION', async () => {
    const { manager, queue } = await freshQueue();
    await failure(() => queue.process(() => undefined, null as never), 'INVALID_OPTION');
    expect(await keysOf(manager)).toBe(0);
  });

  it('refuses a second process() (ALREADY_PROCESSING), also while the first is starting; the first worker keeps working', async () => {
    const queue = await createQueue<number>();
    const first = collect<number>(2);
    const starting = queue.process((data) => {
      first.push(data);
    });
    const second = (): void => {
      throw new Error('the second handler must never run');
    };
    await failure(() => queue.process(second), 'ALREADY_PROCESSING', 'process() was already called');
    await starting;
    await failure(() => queue.process(second, { concurrency: 4 }), 'ALREADY_PROCESSING');
    await queue.addJob(1);
    await queue.addJob(2);
    expect(await first.done).toEqual([1, 2]);
  });
});

describe('bad input: reads, retries, cleanup, subscribe and close', () => {
  it('listDeadLetters refuses bad ranges, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ start: -1 }, "invalid option 'start'"],
      [{ start: Number.NaN }, "invalid option 'start'"],
      [{ start: 1.5 }, "invalid option 'start'"],
      [
        { start: '0' },
        "invalid option 'start': expected an integer number of dead letters from 0 to 4503599627370496, got string",
      ],
      [{ count: 0 }, "invalid option 'count': expected an integer number of dead letters from 1 to 10000, got 0"],
      [{ count: -1 }, "invalid option 'count'"],
      [{ count: 10_001 }, "invalid option 'count'"],
      [{ count: Number.NaN }, "invalid option 'count'"],
    ];
    for (const [range, message] of bad) {
      await failure(() => queue.listDeadLetters(range), 'INVALID_OPTION', message);
    }
    expect(await keysOf(manager)).toBe(0);
  });

  it('listDeadLetters refuses a range that is not an object with INVALID_OPTION', async () => {
    const { queue } = await freshQueue();
    await failure(() => queue.listDeadLetters(null as never), 'INVALID_OPTION', 'range must be an object');
  });

  it('retryDeadLetter refuses bad job ids, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    for (const jobId of ['', '123', 'a:b', 'a\nb', 42, undefined]) {
      await failure(() => queue.retryDeadLetter(jobId as never), 'INVALID_JOB_ID', 'jobId');
    }
    expect(await keysOf(manager)).toBe(0);
  });

  it('retryDeadLetter of an unknown id is NOT_FOUND and writes nothing', async () => {
    const { manager, queue } = await freshQueue();
    const error = await failure(
      () => queue.retryDeadLetter('nope'),
      'NOT_FOUND',
      "no job 'nope' among the dead letters of 'tasks'",
    );
    expect(error).toMatchObject({ queueName: 'tasks', jobId: 'nope' });
    // errors.ts: "Every error thrown at the public boundary means nothing was written to Redis."
    expect(await keysOf(manager)).toBe(0);
  });

  it('clean refuses bad options, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    const bad: Array<[unknown, string]> = [
      [undefined, "invalid status: expected 'completed' or 'failed'"],
      [null, 'invalid status'],
      [{}, 'invalid status'],
      [{ status: 'waiting', olderThanMs: 0 }, 'invalid status'],
      [{ status: 'done', olderThanMs: 0 }, 'invalid status'],
      [{ status: 'completed' }, "invalid option 'olderThanMs'"],
      [{ status: 'completed', olderThanMs: -1 }, "invalid option 'olderThanMs'"],
      [{ status: 'failed', olderThanMs: Number.NaN }, "invalid option 'olderThanMs'"],
      [{ status: 'failed', olderThanMs: 1.5 }, "invalid option 'olderThanMs'"],
      [{ status: 'completed', olderThanMs: 0, limit: 0 }, "invalid option 'limit'"],
      [{ status: 'completed', olderThanMs: 0, limit: 2.5 }, "invalid option 'limit'"],
      [{ status: 'completed', olderThanMs: 0, limit: 1_000_001 }, "invalid option 'limit'"],
    ];
    for (const [options, message] of bad) {
      await failure(() => queue.clean(options as never), 'INVALID_OPTION', message);
    }
    expect(await keysOf(manager)).toBe(0);
  });

  it('subscribe refuses a handler that is not a function, writing nothing', async () => {
    const { manager, queue } = await freshQueue();
    for (const handler of [undefined, null, 'h', {}]) {
      await failure(() => queue.subscribe(handler as never), 'INVALID_HANDLER', 'handler must be a function');
    }
    expect(await keysOf(manager)).toBe(0);
  });

  it('close refuses bad options (INVALID_OPTION) and leaves the queue open', async () => {
    const { manager, queue } = await freshQueue();
    for (const timeoutMs of [0, -1, Number.NaN, 1.5, '5', 2 ** 31]) {
      await failure(
        () => queue.close({ timeoutMs: timeoutMs as never }),
        'INVALID_OPTION',
        "invalid option 'timeoutMs'",
      );
    }
    await failure(() => queue.close(null as never), 'INVALID_OPTION', 'options must be an object');
    expect(await keysOf(manager)).toBe(0);
    await queue.addJob({ still: 'open' });
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1 });
  });

  it('every public method reports bad input as a rejected promise, never a synchronous throw', async () => {
    const { queue } = await freshQueue();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['addJob', () => queue.addJob({}, Number.NaN)],
      ['addJobs', () => queue.addJobs(null as never)],
      ['process', () => queue.process(null as never)],
      ['listDeadLetters', () => queue.listDeadLetters({ count: 0 })],
      ['retryDeadLetter', () => queue.retryDeadLetter('')],
      ['clean', () => queue.clean(null as never)],
      ['subscribe', () => queue.subscribe(null as never)],
      ['close', () => queue.close({ timeoutMs: -1 })],
    ];
    const syncThrows: string[] = [];
    for (const [name, call] of calls) {
      let promise: Promise<unknown> | undefined;
      try {
        promise = call();
      } catch {
        syncThrows.push(name);
        continue;
      }
      await expect(promise).rejects.toBeInstanceOf(TaskQueueError);
    }
    expect(syncThrows).toEqual([]);
  });

  it('refuses every method after close() with QUEUE_CLOSED; close() stays idempotent', async () => {
    const { manager, queue } = await freshQueue();
    await queue.close();
    const calls: Array<() => Promise<unknown>> = [
      () => queue.addJob({ v: 1 }),
      () => queue.addJobs([{ data: 1 }]),
      () => queue.process(() => undefined),
      () => queue.getQueueStats(),
      () => queue.listDeadLetters(),
      () => queue.retryDeadLetter('some-id'),
      () => queue.pause(),
      () => queue.resume(),
      () => queue.clean({ status: 'completed', olderThanMs: 0 }),
      () => queue.subscribe(() => undefined),
    ];
    for (const call of calls) {
      const error = await failure(call, 'QUEUE_CLOSED', "task queue 'tasks' was closed");
      expect(error.queueName).toBe('tasks');
    }
    await expect(queue.close()).resolves.toBeUndefined();
    expect(await keysOf(manager)).toBe(0);
  });
});

describe('bad input: schema', () => {
  it('refuses invalid data on add with VALIDATION_FAILED and queues nothing', async () => {
    const schema = numberSchema();
    const { manager, queue } = await freshQueue<{ n: number }>({ schema });
    const error = await failure(
      () => queue.addJob({ n: 'one' } as never),
      'VALIDATION_FAILED',
      'job data does not match the schema: n: expected a number',
    );
    expect(error.issues).toEqual([{ message: 'expected a number', path: ['n'] }]);
    await failure(
      () => queue.addJobs([{ data: { n: 1 } }, { data: {} as never }]),
      'VALIDATION_FAILED',
      /^jobs\[1\]: job data does not match the schema/,
    );
    expect(await keysOf(manager)).toBe(0);
    await queue.addJob({ n: 1 });
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 1 });
  });

  it('refuses data on add when the validator throws (VALIDATION_FAILED), writing nothing', async () => {
    const throwing: StandardSchemaV1<unknown, { n: number }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => {
          throw new Error('validator exploded');
        },
      },
    };
    const { manager, queue } = await freshQueue<{ n: number }>({ schema: throwing });
    await failure(() => queue.addJob({ n: 1 }), 'VALIDATION_FAILED', 'validator exploded');
    expect(await keysOf(manager)).toBe(0);
  });

  it('sends a job whose data fails the schema at processing time straight to the dead-letter queue, after one run', async () => {
    const manager = await createManager();
    const schema = numberSchema();
    const typed = await createQueue<{ n: number }>({ name: 'typed', schema, attempts: 3 }, manager);
    const untyped = await createQueue<unknown>({ name: 'typed' }, manager);
    const handled = collect<unknown>(1);
    const dead = collect<DeadLetter<{ n: number }>>(1);
    typed.on('dead-letter', (letter) => dead.push(letter));
    await typed.process((data) => {
      handled.push(data);
    });
    const jobId = await untyped.addJob({ n: 'not a number' }, { jobId: 'bad-data' });
    const [letter] = await dead.done;
    expect(letter).toMatchObject({
      jobId,
      data: { n: 'not a number' },
      attemptsMade: 1,
      error: { message: 'job data does not match the schema: n: expected a number' },
    });
    expect(schema.calls).toBe(1);
    expect(handled.values).toEqual([]);
    expect(await typed.listDeadLetters()).toEqual([letter]);
    expect(await typed.getQueueStats()).toMatchObject({ deadLetter: 1, failed: 0, waiting: 0, delayed: 0 });
  });

  it("hands the handler the schema's output for data it accepted on add (a transforming schema)", async () => {
    // string in, its length out: the output is not itself valid input.
    const lengthSchema: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) =>
          typeof value === 'string' ? { value: value.length } : { issues: [{ message: 'expected a string' }] },
      },
    };
    const queue = await createQueue<number>({ schema: lengthSchema });
    const outcome = collect<unknown>(1);
    queue.on('dead-letter', (letter) => outcome.push({ dead: letter.error.message }));
    await queue.process((data) => {
      outcome.push({ handled: data });
    });
    await queue.addJob('abcd' as never);
    expect(await outcome.done).toEqual([{ handled: 4 }]);
  });
});

describe('bad input: inside the handler', () => {
  it('fails the attempt when the handler returns a result JSON cannot hold, naming `result`', async () => {
    const queue = await createQueue<{ v: number }, unknown>({ attempts: 1 });
    const dead = collect<DeadLetter>(1);
    queue.on('dead-letter', (letter) => dead.push(letter));
    const events = collect<TaskEvent>(1);
    await queue.subscribe((event) => {
      if (event.type === 'failed' || event.type === 'completed') events.push(event);
    });
    await queue.process(() => ({ total: 10n }));
    const jobId = await queue.addJob({ v: 1 });
    const [event] = await events.done;
    expect(event).toMatchObject({ type: 'failed', jobId });
    expect((event as { error: string }).error).toContain(
      "the handler's result cannot be stored as JSON: result.total is a bigint",
    );
    const [letter] = await dead.done;
    expect(letter!.error.message).toContain('result.total is a bigint');
    expect(letter!.attemptsMade).toBe(1);
  });

  it('fails the attempt for a NaN result instead of storing null', async () => {
    const queue = await createQueue<number, number>({ attempts: 1 });
    const dead = collect<DeadLetter>(1);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process(() => Number.NaN);
    await queue.addJob(1);
    const [letter] = await dead.done;
    expect(letter!.error.message).toContain('result is NaN');
  });

  it('ctx.progress refuses a BigInt, a string, null or an array of BigInts with INVALID_DATA, and reports none of them', async () => {
    const queue = await createQueue<number>();
    const events = collect<TaskEvent>(2);
    await queue.subscribe((event) => {
      if (event.type === 'progress' || event.type === 'completed') events.push(event);
    });
    const outcomes = collect<unknown[]>(1);
    await queue.process(async (_data, ctx) => {
      const seen: unknown[] = [];
      for (const value of [10n, 'text', null, { nested: [1n] }]) {
        seen.push(
          await ctx.progress(value as never).then(
            () => 'accepted',
            (error: unknown) => error,
          ),
        );
      }
      await ctx.progress(42);
      outcomes.push(seen);
      return 'done';
    });
    const jobId = await queue.addJob(1);
    const [seen] = await outcomes.done;
    expect(seen).toHaveLength(4);
    for (const outcome of seen!) {
      expect(outcome).toMatchObject({ name: 'TaskQueueError', code: 'INVALID_DATA', jobId, queueName: 'tasks' });
    }
    expect((seen![0] as Error).message).toBe(
      'progress must be a number or a JSON object: progress is a bigint, which JSON cannot represent (send it as a string)',
    );
    expect((seen![1] as Error).message).toBe('progress must be a number or a JSON object: string');
    expect((seen![3] as Error).message).toContain('progress.nested[0] is a bigint');
    // Only the valid progress, then completion: nothing of the refused values reached Redis.
    expect(await events.done).toEqual([
      { type: 'progress', jobId, progress: 42 },
      { type: 'completed', jobId, result: 'done' },
    ]);
  });

  it('ctx.progress refuses NaN and Infinity instead of reporting null', async () => {
    const queue = await createQueue<number>();
    const outcomes = collect<unknown[]>(1);
    await queue.process(async (_data, ctx) => {
      const seen: unknown[] = [];
      for (const value of [Number.NaN, Infinity]) {
        seen.push(
          await ctx.progress(value).then(
            () => 'accepted',
            (error: unknown) => error,
          ),
        );
      }
      outcomes.push(seen);
    });
    await queue.addJob(1);
    const [seen] = await outcomes.done;
    expect(seen).toEqual([
      expect.objectContaining({ code: 'INVALID_DATA' }),
      expect.objectContaining({ code: 'INVALID_DATA' }),
    ]);
  });
});

describe("bad input: a dead letter's id", () => {
  it('adding a job under the id of a dead letter is refused (JOB_EXISTS), and nothing is lost: the letter stays, the caller keeps its data', async () => {
    const queue = await createQueue<{ fail: boolean }>({ attempts: 1 });
    const dead = collect<DeadLetter>(1);
    queue.on('dead-letter', (letter) => dead.push(letter));
    await queue.process((data) => {
      if (data.fail) throw new Error('failed for good');
      return 'ok';
    });
    await queue.addJob({ fail: true }, { jobId: 'shared-id' });
    await dead.done;
    const error = await failure(
      () => queue.addJob({ fail: false }, { jobId: 'shared-id' }),
      'JOB_EXISTS',
      "job 'shared-id' is a dead letter of 'tasks'",
    );
    expect(error).toMatchObject({ queueName: 'tasks', jobId: 'shared-id' });
    // All or none: the other entry of the batch is not added either.
    await failure(
      () => queue.addJobs([{ data: { fail: false } }, { data: { fail: false }, options: { jobId: 'shared-id' } }]),
      'JOB_EXISTS',
      "job 'shared-id'",
    );
    expect(await queue.listDeadLetters()).toEqual([
      expect.objectContaining({ jobId: 'shared-id', data: { fail: true } }),
    ]);
    expect(await queue.getQueueStats()).toMatchObject({ waiting: 0, active: 0, completed: 0, deadLetter: 1 });
    // Once the letter is purged, the id is free again.
    const completed = collect<TaskEvent>(1);
    await queue.subscribe((event) => {
      if (event.type === 'completed') completed.push(event);
    });
    expect(await queue.dead.purge(['shared-id'])).toBe(1);
    await queue.addJob({ fail: false }, { jobId: 'shared-id' });
    expect(await completed.done).toEqual([{ type: 'completed', jobId: 'shared-id', result: 'ok' }]);
  });
});

describe('bad input: the process survives it all', () => {
  it('keeps processing jobs after a burst of refused calls on the same wrapper', async () => {
    const queue = await createQueue<{ v: number }, number>();
    const done = collect<number>(2);
    await queue.subscribe((event) => {
      if (event.type === 'completed') done.push(event.result as number);
    });
    await queue.process((data) => data.v * 2);
    const refused = await Promise.allSettled([
      queue.addJob({ v: 1n } as never),
      queue.addJob({ v: 1 }, Number.NaN),
      queue.addJobs([{ data: { v: 1 }, options: { jobId: '1' } }]),
      queue.process(() => 0),
      queue.listDeadLetters({ count: 0 }),
      queue.retryDeadLetter(':'),
      queue.clean({ status: 'x' as never, olderThanMs: 0 }),
      queue.subscribe(null as never),
    ]);
    expect(refused.map((result) => result.status)).toEqual(Array(8).fill('rejected'));
    for (const result of refused) {
      expect(isTaskQueueError((result as PromiseRejectedResult).reason)).toBe(true);
    }
    await queue.addJob({ v: 2 });
    await queue.addJob({ v: 3 });
    expect((await done.done).sort()).toEqual([4, 6]);
  });
});
