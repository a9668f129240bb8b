import { describe, expect, it } from 'vitest';
import { jsonProblem } from '@shim/connection/kit';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { isTaskQueueError, TaskQueueError, validatorFor, type TaskQueueErrorCode } from '../errors.js';
import { resolveOptions, type TaskQueueOptions } from '../options.js';
import type { AddJobOptions } from '../types.js';
import { assertJobId, checkData, resolveJobOptions, validateData } from './job-input.js';

const spec = (options: TaskQueueOptions = {}): Parameters<typeof checkData>[1] => ({
  name: 'jobs',
  options: resolveOptions(options),
  v: validatorFor('jobs'),
});

/** The TaskQueueError `fn` throws (fails the test when it throws nothing or something else). */
function thrown(fn: () => unknown): TaskQueueError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TaskQueueError);
    return error as TaskQueueError;
  }
  throw new Error('expected a TaskQueueError, nothing was thrown');
}

function expectRefused(fn: () => unknown, code: TaskQueueErrorCode, message: string): TaskQueueError {
  const error = thrown(fn);
  expect(error.code).toBe(code);
  expect(error.message).toContain(message);
  return error;
}

async function rejection(promise: unknown): Promise<TaskQueueError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TaskQueueError);
    return error as TaskQueueError;
  }
  throw new Error('expected a rejection with a TaskQueueError, it resolved');
}

/** A Standard Schema written by hand: no zod needed. */
function schemaOf<TOut>(
  validate: (value: unknown) => StandardSchemaV1.Result<TOut> | Promise<StandardSchemaV1.Result<TOut>>,
): StandardSchemaV1<unknown, TOut> {
  return { '~standard': { version: 1, vendor: 'test', validate } };
}

/** `{ n: number }`, sync. */
const numberSchema = schemaOf<{ n: number }>((value) =>
  typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number'
    ? { value: value as { n: number } }
    : { issues: [{ message: 'expected a number', path: ['n'] }] },
);

describe('assertJobId', () => {
  it.each(['a', 'job-1', 'x'.repeat(256), '1a', 'a1', '0x10', 'Ärger ✓', 'user/42', ' padded ', '-1', '1.5', '1e3'])(
    'accepts %j and returns it',
    (id) => {
      expect(assertJobId(id, validatorFor('jobs'))).toBe(id);
    },
  );

  it.each([
    ['empty', '', 'jobId must not be empty'],
    ['over 256 characters', 'x'.repeat(257), 'jobId is longer than 256 characters'],
    ['all digits', '123', 'jobId "123": ids made only of digits are reserved for BullMQ'],
    ['one digit', '0', 'ids made only of digits are reserved for BullMQ'],
    ['containing :', 'a:b', 'jobId "a:b": \':\' is not allowed'],
    ['only :', ':', "':' is not allowed"],
    ['containing NUL', 'a\u0000b', 'contains control characters'],
    ['containing a tab', 'a\tb', 'contains control characters'],
    ['containing a newline', 'a\nb', 'contains control characters'],
    ['containing DEL', 'a\u007fb', 'contains control characters'],
    ['containing NEL (C1)', 'a\u0085b', 'contains control characters'],
    ['containing U+009F (C1)', 'a\u009fb', 'contains control characters'],
  ])('refuses an id %s', (_name, id, message) => {
    const error = expectRefused(() => assertJobId(id, validatorFor('jobs')), 'INVALID_JOB_ID', message);
    expect(error.queueName).toBe('jobs');
  });

  it.each([
    [123, 'number'],
    [null, 'object'],
    [undefined, 'undefined'],
    [{ id: 'a' }, 'object'],
    [Symbol('id'), 'symbol'],
    [12n, 'bigint'],
  ])('refuses the non-string %s', (id, type) => {
    expectRefused(() => assertJobId(id, validatorFor('jobs')), 'INVALID_JOB_ID', `jobId must be a string, got ${type}`);
  });

  it('refuses a lone surrogate (not valid UTF-8: BullMQ hands back a different id and getJob never finds it)', () => {
    expectRefused(
      () => assertJobId('job-\ud800', validatorFor('jobs')),
      'INVALID_JOB_ID',
      'jobId is not well-formed Unicode',
    );
  });
});

describe('resolveJobOptions', () => {
  const queue = spec({ attempts: 4, backoff: { type: 'fixed', delayMs: 50 } });

  it('applies the queue defaults and a random UUID job id', () => {
    const first = resolveJobOptions(undefined, queue);
    const second = resolveJobOptions({}, queue);
    expect(first).toEqual({
      jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      attempts: 4,
      backoff: { type: 'fixed', delay: 50 },
      // Retention: completed jobs as the queue says; failed ones stay in the failed set as dead letters.
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: false,
    });
    expect(second.jobId).not.toBe(first.jobId);
    expect(first).not.toHaveProperty('priority');
    expect(first).not.toHaveProperty('delay');
  });

  it('maps every option to BullMQ', () => {
    expect(
      resolveJobOptions(
        {
          priority: 7,
          jobId: 'mine',
          delayMs: 250,
          attempts: 1,
          backoff: { type: 'exponential', delayMs: 3, jitter: 0.25 },
        },
        queue,
      ),
    ).toEqual({
      jobId: 'mine',
      priority: 7,
      delay: 250,
      attempts: 1,
      backoff: { type: 'exponential', delay: 3, jitter: 0.25 },
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: false,
    });
    expect(resolveJobOptions({ delayMs: 0 }, queue).delay).toBe(0);
  });

  describe('priority', () => {
    it.each([1, 2, 1_000, 2_097_151])('accepts %i, as a number or an option', (priority) => {
      expect(resolveJobOptions(priority, queue).priority).toBe(priority);
      expect(resolveJobOptions({ priority }, queue).priority).toBe(priority);
    });

    it.each([
      ['NaN', Number.NaN, 'got NaN'],
      ['-1', -1, 'got -1'],
      ['0', 0, 'got 0'],
      ['-0', -0, 'got 0'],
      ['1.5', 1.5, 'got 1.5'],
      ['2_097_152', 2_097_152, 'got 2097152'],
      ['Infinity', Infinity, 'got Infinity'],
      ['-Infinity', -Infinity, 'got -Infinity'],
      ['MAX_SAFE_INTEGER + 2', Number.MAX_SAFE_INTEGER + 2, 'got 9007199254740992'],
    ])('refuses %s as a number or as an option', (_name, priority, got) => {
      const message = `invalid option 'priority': expected an integer number of priority levels from 1 to 2097151, ${got}`;
      expectRefused(() => resolveJobOptions(priority, queue), 'INVALID_PRIORITY', message);
      expectRefused(() => resolveJobOptions({ priority }, queue), 'INVALID_PRIORITY', message);
    });

    it("refuses the string '1' as an option", () => {
      expectRefused(
        () => resolveJobOptions({ priority: '1' } as never, queue),
        'INVALID_PRIORITY',
        "invalid option 'priority': expected an integer number of priority levels from 1 to 2097151, got string",
      );
    });

    it.each([
      ["the string '1'", '1', 'got string'],
      ['null', null, 'got null'],
      ['true', true, 'got boolean'],
      ['a bigint', 1n, 'got bigint'],
    ])('refuses %s in place of a priority or options', (_name, input, got) => {
      expectRefused(
        () => resolveJobOptions(input as never, queue),
        'INVALID_JOB_OPTION',
        `expected a priority or an options object, ${got}`,
      );
    });
  });

  describe('attempts and delayMs', () => {
    it.each([
      ['zero', 0, 'got 0'],
      ['below zero', -1, 'got -1'],
      ['NaN', Number.NaN, 'got NaN'],
      ['fractional', 1.5, 'got 1.5'],
      ['too large', 1_000_001, 'got 1000001'],
      ['a string', '2', 'got string'],
    ])('refuses attempts %s', (_name, attempts, got) => {
      expectRefused(
        () => resolveJobOptions({ attempts: attempts as number }, queue),
        'INVALID_JOB_OPTION',
        `invalid option 'attempts': expected an integer number of attempts from 1 to 1000000, ${got}`,
      );
    });

    it.each([
      ['below zero', -1, 'got -1'],
      ['NaN', Number.NaN, 'got NaN'],
      ['fractional', 0.5, 'got 0.5'],
      ['Infinity', Infinity, 'got Infinity'],
      ['too large', 2 ** 53, 'got 9007199254740992'],
      ['a string', '100', 'got string'],
    ])('refuses delayMs %s', (_name, delayMs, got) => {
      expectRefused(
        () => resolveJobOptions({ delayMs: delayMs as number }, queue),
        'INVALID_JOB_OPTION',
        `invalid option 'delayMs': expected an integer number of ms from 0 to 4503599627370496, ${got}`,
      );
    });
  });

  describe('backoff', () => {
    it.each([
      ['null', null, "invalid backoff: expected { type: 'exponential' | 'fixed', delayMs }"],
      ['a number', 100, "invalid backoff: expected { type: 'exponential' | 'fixed', delayMs }"],
      [
        'an unknown type',
        { type: 'random', delayMs: 1 },
        "invalid backoff: expected { type: 'exponential' | 'fixed', delayMs }",
      ],
      [
        'no delayMs',
        { type: 'fixed' },
        "invalid option 'backoff.delayMs': expected an integer number of ms from 0 to 2147483647, got undefined",
      ],
      ['a negative delayMs', { type: 'fixed', delayMs: -1 }, "invalid option 'backoff.delayMs'"],
      ['a NaN delayMs', { type: 'exponential', delayMs: Number.NaN }, "invalid option 'backoff.delayMs'"],
      [
        'a jitter below 0',
        { type: 'fixed', delayMs: 1, jitter: -0.01 },
        'invalid backoff.jitter: expected a number from 0 to 1, got -0.01',
      ],
      [
        'a jitter above 1',
        { type: 'fixed', delayMs: 1, jitter: 1.5 },
        'invalid backoff.jitter: expected a number from 0 to 1, got 1.5',
      ],
      [
        'a NaN jitter',
        { type: 'fixed', delayMs: 1, jitter: Number.NaN },
        'invalid backoff.jitter: expected a number from 0 to 1, got NaN',
      ],
      ['a string jitter', { type: 'fixed', delayMs: 1, jitter: '0.5' }, 'invalid backoff.jitter'],
    ])('refuses %s with INVALID_JOB_OPTION', (_name, backoff, message) => {
      expectRefused(() => resolveJobOptions({ backoff: backoff as never }, queue), 'INVALID_JOB_OPTION', message);
    });

    it.each([0, 0.5, 1])('accepts jitter %d', (jitter) => {
      expect(resolveJobOptions({ backoff: { type: 'fixed', delayMs: 1, jitter } }, queue).backoff).toEqual({
        type: 'fixed',
        delay: 1,
        jitter,
      });
    });
  });

  it.each([
    ['', 'jobId must not be empty'],
    ['123', 'reserved for BullMQ'],
    ['a:b', "':' is not allowed"],
    ['a\u0000b', 'control characters'],
  ])('refuses the job id %j with INVALID_JOB_ID', (jobId, message) => {
    expectRefused(() => resolveJobOptions({ jobId }, queue), 'INVALID_JOB_ID', message);
  });

  it('names the queue in its errors', () => {
    const error = thrown(() => resolveJobOptions(null as unknown as AddJobOptions, queue));
    expect(error.queueName).toBe('jobs');
  });
});

describe('checkData', () => {
  it('returns the data itself when there is no schema', () => {
    const data = { a: [1, 'two', true, null, { b: 'c' }] };
    expect(checkData(data, spec())).toBe(data);
    expect(checkData('text', spec())).toBe('text');
    expect(checkData(null, spec())).toBe(null);
    expect(checkData(0, spec())).toBe(0);
  });

  const cycle: Record<string, unknown> = { a: { b: {} } };
  (cycle['a'] as { b: Record<string, unknown> }).b['back'] = cycle;

  it.each([
    ['a BigInt', { a: { b: 1n } }, 'data.a.b is a bigint'],
    ['a top-level BigInt', 1n, 'data is a bigint'],
    ['a cycle', cycle, 'data.a.b.back refers back to data (a cycle)'],
    ['a function', { a: { fn: () => 1 } }, 'data.a.fn is a function'],
    ['a top-level function', () => 1, 'data is a function'],
    ['undefined at the top', undefined, 'data is undefined'],
    ['undefined nested', { a: { b: undefined } }, 'data.a.b is undefined'],
    ['undefined in an array', { list: [1, undefined] }, 'data.list[1] is undefined'],
    ['a Map', { a: { m: new Map([[1, 2]]) } }, 'data.a.m is a Map'],
    ['a Set', { s: new Set([1]) }, 'data.s is a Set'],
    ['a Date', { when: new Date(0) }, 'data.when is a Date'],
    ['NaN', { a: { n: Number.NaN } }, 'data.a.n is NaN'],
    ['Infinity', { n: -Infinity }, 'data.n is -Infinity'],
    ['a Symbol', { a: { s: Symbol('s') } }, 'data.a.s is a symbol'],
    ['a symbol key', { [Symbol('k')]: 1 }, 'data has symbol keys'],
    ['a class instance', { a: new (class Point {})() }, 'data.a is a Point'],
    ['a key that is not an identifier', { 'my key': { b: 1n } }, 'data["my key"].b is a bigint'],
  ])('refuses %s with INVALID_DATA naming the path', (_name, data, message) => {
    const error = expectRefused(() => checkData(data, spec()), 'INVALID_DATA', message);
    expect(error.message).toMatch(/^data/);
    expect(error.queueName).toBe('jobs');
  });

  it('refuses bad data before calling the schema', () => {
    let calls = 0;
    const schema = schemaOf((value) => {
      calls += 1;
      return { value };
    });
    expectRefused(() => checkData({ a: 1n }, spec({ schema })), 'INVALID_DATA', 'data.a is a bigint');
    expect(calls).toBe(0);
  });

  describe('size limit', () => {
    it('accepts data of exactly maxDataBytes bytes as JSON and refuses one byte more (DATA_TOO_LARGE)', () => {
      const queue = spec({ maxDataBytes: 10 });
      expect(checkData('12345678', queue)).toBe('12345678'); // "12345678" is 10 bytes
      expectRefused(
        () => checkData('123456789', queue),
        'DATA_TOO_LARGE',
        'data is 11 bytes as JSON, over the limit of 10 (option maxDataBytes)',
      );
    });

    it('counts UTF-8 bytes, not characters', () => {
      // 5 characters, 10 bytes, 12 with the quotes.
      expectRefused(() => checkData('ééééé', spec({ maxDataBytes: 11 })), 'DATA_TOO_LARGE', 'data is 12 bytes');
      expect(checkData('ééééé', spec({ maxDataBytes: 12 }))).toBe('ééééé');
    });

    it('defaults to 512 KiB', () => {
      const queue = spec();
      expect(checkData('x'.repeat(524_286), queue)).toHaveLength(524_286);
      expectRefused(
        () => checkData('x'.repeat(524_287), queue),
        'DATA_TOO_LARGE',
        'data is 524289 bytes as JSON, over the limit of 524288',
      );
    });

    it('checks the size before the schema', async () => {
      let calls = 0;
      const schema = schemaOf((value) => {
        calls += 1;
        return { value };
      });
      expectRefused(
        () => checkData({ s: 'x'.repeat(100) }, spec({ schema, maxDataBytes: 50 })),
        'DATA_TOO_LARGE',
        'over the limit of 50',
      );
      expect(calls).toBe(0);
      expect(await checkData({ s: 'x' }, spec({ schema, maxDataBytes: 50 }))).toEqual({ s: 'x' });
      expect(calls).toBe(1);
    });
  });

  describe('with a schema', () => {
    it('resolves with the validated value', async () => {
      expect(await checkData({ n: 1 }, spec({ schema: numberSchema }))).toEqual({ n: 1 });
    });

    it('rejects invalid data with VALIDATION_FAILED', async () => {
      const error = await rejection(checkData({ n: 'one' }, spec({ schema: numberSchema })));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toBe('job data does not match the schema: n: expected a number');
    });

    it('returns only values that can be stored as JSON, even when the schema transforms the data', async () => {
      // The schema's output is what addJob stores: a transform to a BigInt must not reach BullMQ
      // (whose JSON.stringify would throw a bare TypeError) — refuse it, or store the checked input.
      const toBigInt = schemaOf((value) => ({ value: { n: BigInt((value as { n: number }).n) } }));
      let outcome: unknown;
      try {
        outcome = { stored: await checkData({ n: 1 }, spec({ schema: toBigInt })) };
      } catch (error) {
        outcome = error;
      }
      expect(outcome).toSatisfy(
        (value: unknown) =>
          isTaskQueueError(value, 'INVALID_DATA') ||
          (typeof value === 'object' && value !== null && 'stored' in value && jsonProblem(value.stored) === undefined),
      );
    });
  });
});

describe('validateData', () => {
  it('returns the output of a sync schema', async () => {
    expect(await validateData(numberSchema, { n: 2 }, 'jobs')).toEqual({ n: 2 });
  });

  it('returns the output of an async schema and refuses with its issues', async () => {
    const schema = schemaOf(async (value) => {
      await Promise.resolve();
      return typeof value === 'string' ? { value } : { issues: [{ message: 'expected a string' }] };
    });
    expect(await validateData(schema, 'ok', 'jobs')).toBe('ok');
    const error = await rejection(validateData(schema, 5, 'jobs'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('job data does not match the schema: expected a string');
  });

  it('returns the transformed output, not the input', async () => {
    const schema = schemaOf((value) => ({
      value: { length: String(value).length, upper: String(value).toUpperCase() },
    }));
    expect(await validateData(schema, 'abc', 'jobs')).toEqual({ length: 3, upper: 'ABC' });
  });

  it('counts a throwing validator as an issue', async () => {
    const throwing = schemaOf(() => {
      throw new Error('validator exploded');
    });
    const error = await rejection(validateData(throwing, {}, 'jobs'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('job data does not match the schema: the validator threw: validator exploded');
    expect(error.issues).toEqual([{ message: 'the validator threw: validator exploded' }]);
  });

  it('counts a validator that throws a non-Error, or rejects, as an issue', async () => {
    const throwsString = schemaOf(() => {
      throw 'just a string'; // eslint-disable-line @typescript-eslint/only-throw-error
    });
    expect((await rejection(validateData(throwsString, {}, 'jobs'))).message).toContain(
      'the validator threw: just a string',
    );
    const rejects = schemaOf(() => Promise.reject(new Error('async boom')));
    const error = await rejection(validateData(rejects, {}, 'jobs'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('the validator threw: async boom');
  });

  it('summarises issues with their paths (keys, indexes and path segments) and keeps them all on the error', async () => {
    const issues: StandardSchemaV1.Issue[] = [
      { message: 'required', path: ['user', 'name'] },
      { message: 'too small', path: ['items', 2, 'qty'] },
      { message: 'bad key', path: [{ key: 'meta' }, { key: 0 }] },
      { message: 'at the root' },
      { message: 'empty path', path: [] },
      { message: 'sixth', path: ['f'] },
    ];
    const schema = schemaOf(() => ({ issues }));
    const error = await rejection(validateData(schema, {}, 'reviews'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe(
      'job data does not match the schema: user.name: required; items.2.qty: too small; meta.0: bad key; at the root; empty path',
    );
    expect(error.message).not.toContain('sixth');
    expect(error.issues).toBe(issues);
    expect(error.queueName).toBe('reviews');
  });
});
