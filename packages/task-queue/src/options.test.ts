import { describe, expect, it } from 'vitest';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { isTaskQueueError, TaskQueueError, type TaskQueueErrorCode } from './errors.js';
import {
  DEFAULT_TASK_QUEUE_OPTIONS,
  MAX_PRIORITY,
  resolveBackoff,
  resolveOptions,
  type TaskQueueOptions,
} from './options.js';

/** Runs `fn` and returns the TaskQueueError it throws (fails the test when it throws nothing or something else). */
function thrown(fn: () => unknown): TaskQueueError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TaskQueueError);
    return error as TaskQueueError;
  }
  throw new Error('expected a TaskQueueError, nothing was thrown');
}

function expectRefused(fn: () => unknown, code: TaskQueueErrorCode, message: string | RegExp): void {
  const error = thrown(fn);
  expect(error.code).toBe(code);
  expect(isTaskQueueError(error, code)).toBe(true);
  if (typeof message === 'string') expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
}

const schema: StandardSchemaV1<unknown, { a: number }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => ({ value: value as { a: number } }),
  },
};

describe('DEFAULT_TASK_QUEUE_OPTIONS', () => {
  it('holds the documented defaults', () => {
    expect(DEFAULT_TASK_QUEUE_OPTIONS).toEqual({
      maxDataBytes: 524_288,
      attempts: 3,
      backoff: { type: 'exponential', delayMs: 1_000 },
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      // Stalls are infrastructure faults: by default they never fail a job.
      maxStalledCount: Infinity,
      closeTimeoutMs: 30_000,
      keepCompleted: { ageMs: 86_400_000, count: 10_000 },
    });
    expect(MAX_PRIORITY).toBe(2 ** 21 - 1);
  });
});

describe('resolveOptions: defaults', () => {
  it('fills every option from the defaults, in BullMQ units', () => {
    expect(resolveOptions({})).toEqual({
      schema: undefined,
      maxDataBytes: 524_288,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1_000 },
      lockDurationMs: 30_000,
      lockRenewMs: 15_000,
      stalledIntervalMs: 30_000,
      // Infinity, as a number BullMQ's Lua script can compare with.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      closeTimeoutMs: 30_000,
      // BullMQ counts age in seconds.
      keepCompleted: { age: 86_400, count: 10_000 },
    });
  });

  it('treats options set to undefined as absent', () => {
    const options: TaskQueueOptions = {
      schema: undefined,
      maxDataBytes: undefined,
      attempts: undefined,
      backoff: undefined,
      lockDurationMs: undefined,
      lockRenewMs: undefined,
      stalledIntervalMs: undefined,
      maxStalledCount: undefined,
      closeTimeoutMs: undefined,
      keepCompleted: undefined,
    };
    expect(resolveOptions(options)).toEqual(resolveOptions({}));
  });

  it('keeps the given values and derives lockRenewMs from lockDurationMs', () => {
    const resolved = resolveOptions({
      schema,
      maxDataBytes: 10,
      attempts: 1,
      backoff: { type: 'fixed', delayMs: 0, jitter: 0.5 },
      lockDurationMs: 2_001,
      stalledIntervalMs: 1,
      maxStalledCount: 0,
      closeTimeoutMs: 1,
      keepCompleted: { count: 0 },
    });
    expect(resolved).toEqual({
      schema,
      maxDataBytes: 10,
      attempts: 1,
      backoff: { type: 'fixed', delay: 0, jitter: 0.5 },
      lockDurationMs: 2_001,
      lockRenewMs: 1_000,
      stalledIntervalMs: 1,
      maxStalledCount: 0,
      closeTimeoutMs: 1,
      keepCompleted: { count: 0 },
    });
    expect(resolved.schema).toBe(schema);
  });

  it('turns maxStalledCount Infinity into a number BullMQ can hand to Lua, and keeps a finite one', () => {
    expect(resolveOptions({ maxStalledCount: Infinity }).maxStalledCount).toBe(Number.MAX_SAFE_INTEGER);
    expect(resolveOptions({ maxStalledCount: 2 }).maxStalledCount).toBe(2);
  });

  it('accepts an explicit lockRenewMs below lockDurationMs', () => {
    expect(resolveOptions({ lockDurationMs: 1_000, lockRenewMs: 999 })).toMatchObject({
      lockDurationMs: 1_000,
      lockRenewMs: 999,
    });
  });

  it('accepts the largest values', () => {
    const max = 2_147_483_647;
    expect(
      resolveOptions({
        maxDataBytes: max,
        attempts: 1_000_000,
        lockDurationMs: max,
        lockRenewMs: max - 1,
        stalledIntervalMs: max,
        maxStalledCount: 1_000_000,
        closeTimeoutMs: max,
        backoff: { type: 'exponential', delayMs: max, jitter: 1 },
        keepCompleted: { ageMs: 2 ** 52, count: 2 ** 52 },
      }),
    ).toMatchObject({
      maxDataBytes: max,
      attempts: 1_000_000,
      lockRenewMs: max - 1,
      backoff: { type: 'exponential', delay: max, jitter: 1 },
      keepCompleted: { age: Math.ceil(2 ** 52 / 1000), count: 2 ** 52 },
    });
  });
});

describe('resolveOptions: keepCompleted', () => {
  it.each([
    [{ ageMs: 1 }, { age: 1 }],
    [{ ageMs: 1_001 }, { age: 2 }],
    [{ ageMs: 60_000 }, { age: 60 }],
    [{ count: 5 }, { count: 5 }],
    [{ count: 0 }, { count: 0 }],
    [
      { ageMs: 2_000, count: 0 },
      { age: 2, count: 0 },
    ],
    [{ ageMs: 1_000, count: undefined }, { age: 1 }],
  ])('turns %j into BullMQ KeepJobs %j (age rounded up to seconds)', (keep, expected) => {
    expect(resolveOptions({ keepCompleted: keep }).keepCompleted).toEqual(expected);
  });

  it.each([
    ['{}', {}],
    ['both undefined', { ageMs: undefined, count: undefined }],
    ['a number', 5],
    ['a string', 'forever'],
    ['true', true],
  ])('refuses %s: at least one of ageMs and count', (_name, keep) => {
    expectRefused(
      () => resolveOptions({ keepCompleted: keep as never }),
      'INVALID_OPTION',
      'invalid keepCompleted: expected { ageMs?, count? } with at least one of them',
    );
  });

  it.each([
    [
      { count: -1 },
      "invalid option 'keepCompleted.count': expected an integer number of jobs from 0 to 4503599627370496, got -1",
    ],
    [{ count: 1.5 }, "invalid option 'keepCompleted.count'", 'got 1.5'],
    [{ count: Number.NaN }, "invalid option 'keepCompleted.count'", 'got NaN'],
    [{ count: '5' }, "invalid option 'keepCompleted.count'", 'got string'],
    [{ count: 2 ** 53 }, "invalid option 'keepCompleted.count'", 'got 9007199254740992'],
    [
      { ageMs: 0 },
      "invalid option 'keepCompleted.ageMs': expected an integer number of ms from 1 to 4503599627370496, got 0",
    ],
    [{ ageMs: -5 }, "invalid option 'keepCompleted.ageMs'", 'got -5'],
    [{ ageMs: 1.5 }, "invalid option 'keepCompleted.ageMs'", 'got 1.5'],
    [{ ageMs: Number.NaN }, "invalid option 'keepCompleted.ageMs'", 'got NaN'],
    [{ ageMs: Infinity }, "invalid option 'keepCompleted.ageMs'", 'got Infinity'],
    [{ ageMs: '1000' }, "invalid option 'keepCompleted.ageMs'", 'got string'],
    [{ ageMs: 1_000, count: -1 }, "invalid option 'keepCompleted.count'", 'got -1'],
  ])('refuses %j', (keep, ...parts) => {
    const error = thrown(() => resolveOptions({ keepCompleted: keep as never }));
    expect(error.code).toBe('INVALID_OPTION');
    for (const part of parts) expect(error.message).toContain(part);
  });
});

describe('resolveOptions: invalid options', () => {
  const MAX_MS = 2_147_483_647;
  const positive = ['maxDataBytes', 'lockDurationMs', 'stalledIntervalMs', 'closeTimeoutMs'] as const;

  describe.each(positive)('%s (integer from its minimum to 2^31 − 1)', (option) => {
    // lockDurationMs starts at 2: its renewal (half of it, at least 1 ms) must come before it ends.
    const min = option === 'lockDurationMs' ? 2 : 1;
    it.each([
      ['NaN', Number.NaN, 'got NaN'],
      ['negative', -1, 'got -1'],
      ['zero', 0, 'got 0'],
      ['fractional', 1.5, 'got 1.5'],
      ['Infinity', Infinity, 'got Infinity'],
      ['too large', MAX_MS + 1, `got ${MAX_MS + 1}`],
      ['a string', '100', 'got string'],
      ['a boolean', true, 'got boolean'],
      ['an object', {}, 'got object'],
      ['a bigint', 100n, 'got bigint'],
    ])('refuses %s', (_name, value, got) => {
      expectRefused(
        () => resolveOptions({ [option]: value }),
        'INVALID_OPTION',
        `invalid option '${option}': expected an integer number of ${option === 'maxDataBytes' ? 'bytes' : 'ms'} from ${min} to ${MAX_MS}, ${got}`,
      );
    });
  });

  it('refuses lockDurationMs 1 naming lockDurationMs, not the lockRenewMs derived from it', () => {
    expectRefused(() => resolveOptions({ lockDurationMs: 1 }), 'INVALID_OPTION', "invalid option 'lockDurationMs'");
  });

  describe('lockRenewMs', () => {
    it.each([
      ['NaN', Number.NaN, 'got NaN'],
      ['negative', -1, 'got -1'],
      ['zero', 0, 'got 0'],
      ['fractional', 1.5, 'got 1.5'],
      ['a string', '100', 'got string'],
    ])('refuses %s', (_name, value, got) => {
      expectRefused(
        () => resolveOptions({ lockRenewMs: value as number }),
        'INVALID_OPTION',
        `invalid option 'lockRenewMs': expected an integer number of ms from 1 to ${MAX_MS}, ${got}`,
      );
    });

    it.each([
      [1_000, 1_000],
      [1_000, 1_001],
      [30_000, 30_000],
    ])('refuses lockRenewMs >= lockDurationMs (%i, %i)', (lockDurationMs, lockRenewMs) => {
      expectRefused(
        () => resolveOptions({ lockDurationMs, lockRenewMs }),
        'INVALID_OPTION',
        `invalid lockRenewMs: must be less than lockDurationMs (${lockDurationMs})`,
      );
    });

    it('refuses a lockRenewMs at or above the default lockDurationMs', () => {
      expectRefused(
        () => resolveOptions({ lockRenewMs: 30_000 }),
        'INVALID_OPTION',
        'invalid lockRenewMs: must be less than lockDurationMs (30000)',
      );
    });

    it('derives a working lockRenewMs from the smallest lockDurationMs it accepts', () => {
      // lockDurationMs: 2 → renew every 1 ms.
      expect(resolveOptions({ lockDurationMs: 2 })).toMatchObject({ lockDurationMs: 2, lockRenewMs: 1 });
    });

    it('does not blame lockRenewMs (never given) when lockDurationMs is 1', () => {
      // lockDurationMs: 1 passes its own range check (min 1), but the derived lockRenewMs is
      // max(1, floor(1 / 2)) = 1, which is not below 1: the error must name the option the caller set.
      const error = thrown(() => resolveOptions({ lockDurationMs: 1 }));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(/^invalid option 'lockDurationMs'/);
    });
  });

  describe.each([
    { option: 'attempts', min: 1, max: 1_000_000, unit: 'attempts' },
    { option: 'maxStalledCount', min: 0, max: 1_000_000, unit: 'stalls' },
  ] as const)('$option (integer from $min to $max)', ({ option, min, max, unit }) => {
    it.each([
      ['NaN', Number.NaN, 'got NaN'],
      ['below the minimum', min - 1, `got ${min - 1}`],
      ['negative', -3, 'got -3'],
      ['fractional', 2.5, 'got 2.5'],
      ['too large', max + 1, `got ${max + 1}`],
      ['a string', '3', 'got string'],
      ['null-ish object', {}, 'got object'],
    ])('refuses %s', (_name, value, got) => {
      expectRefused(
        () => resolveOptions({ [option]: value }),
        'INVALID_OPTION',
        `invalid option '${option}': expected an integer number of ${unit} from ${min} to ${max}, ${got}`,
      );
    });

    it('accepts the bounds', () => {
      expect(resolveOptions({ [option]: min })[option]).toBe(min);
      expect(resolveOptions({ [option]: max })[option]).toBe(max);
    });
  });

  describe('backoff', () => {
    it.each([
      ['a string', 'exponential'],
      ['a number', 1_000],
      ['an unknown type', { type: 'linear', delayMs: 10 }],
      ['a missing type', { delayMs: 10 }],
      ['an array', [1]],
    ])('refuses %s', (_name, backoff) => {
      expectRefused(
        () => resolveOptions({ backoff: backoff as never }),
        'INVALID_OPTION',
        "invalid backoff: expected { type: 'exponential' | 'fixed', delayMs }",
      );
    });

    it.each([
      ['missing', undefined, 'got undefined'],
      ['NaN', Number.NaN, 'got NaN'],
      ['negative', -1, 'got -1'],
      ['fractional', 0.5, 'got 0.5'],
      ['too large', 2_147_483_648, 'got 2147483648'],
      ['a string', '10', 'got string'],
    ])('refuses a delayMs that is %s', (_name, delayMs, got) => {
      expectRefused(
        () => resolveOptions({ backoff: { type: 'fixed', delayMs: delayMs as number } }),
        'INVALID_OPTION',
        `invalid option 'backoff.delayMs': expected an integer number of ms from 0 to ${MAX_MS}, ${got}`,
      );
    });

    it.each([
      ['NaN', Number.NaN],
      ['negative', -0.1],
      ['above 1', 1.01],
      ['Infinity', Infinity],
      ['a string', '0.5'],
      ['null', null],
    ])('refuses a jitter that is %s', (_name, jitter) => {
      expectRefused(
        () => resolveOptions({ backoff: { type: 'fixed', delayMs: 10, jitter: jitter as number } }),
        'INVALID_OPTION',
        `invalid backoff.jitter: expected a number from 0 to 1, got ${String(jitter)}`,
      );
    });
  });

  describe('schema', () => {
    it.each([
      ['null', null],
      ['a function', () => true],
      ['a plain object', { parse: () => true }],
      ['version 2', { '~standard': { version: 2, vendor: 'x', validate: () => ({ value: 1 }) } }],
      ['a validate that is not a function', { '~standard': { version: 1, vendor: 'x', validate: 'yes' } }],
      ['no validate', { '~standard': { version: 1, vendor: 'x' } }],
      ['a string', 'zod'],
    ])('refuses %s', (_name, value) => {
      expectRefused(
        () => resolveOptions({ schema: value as never }),
        'INVALID_OPTION',
        'invalid schema: expected a Standard Schema v1',
      );
    });

    it('accepts a function carrying ~standard (as arktype types are)', () => {
      const fn = Object.assign(() => true, {
        '~standard': { version: 1, vendor: 'fn', validate: (value: unknown) => ({ value }) },
      });
      expect(resolveOptions({ schema: fn as never }).schema).toBe(fn);
    });
  });

  it.each([
    ['null', null],
    ['a number', 5],
    ['a string', 'fast'],
    ['undefined', undefined],
  ])('refuses options that are %s', (_name, options) => {
    expectRefused(() => resolveOptions(options as never), 'INVALID_OPTION', 'options must be an object');
  });
});

describe('resolveBackoff', () => {
  it('turns delayMs into BullMQ delay and keeps jitter only when given', () => {
    expect(resolveBackoff('backoff', { type: 'exponential', delayMs: 5 }, 'INVALID_OPTION')).toEqual({
      type: 'exponential',
      delay: 5,
    });
    expect(resolveBackoff('backoff', { type: 'fixed', delayMs: 0, jitter: 0 }, 'INVALID_OPTION')).toEqual({
      type: 'fixed',
      delay: 0,
      jitter: 0,
    });
    expect(resolveBackoff('backoff', { type: 'fixed', delayMs: 7, jitter: 1 }, 'INVALID_OPTION')).toEqual({
      type: 'fixed',
      delay: 7,
      jitter: 1,
    });
    expect(
      Object.keys(resolveBackoff('b', { type: 'fixed', delayMs: 7, jitter: undefined }, 'INVALID_OPTION')),
    ).toEqual(['type', 'delay']);
  });

  it('names the option it was given and throws the requested code', () => {
    expectRefused(
      () => resolveBackoff('job.backoff', null, 'INVALID_JOB_OPTION'),
      'INVALID_JOB_OPTION',
      'invalid job.backoff:',
    );
    expectRefused(
      () => resolveBackoff('job.backoff', { type: 'fixed', delayMs: -1 }, 'INVALID_JOB_OPTION'),
      'INVALID_JOB_OPTION',
      "invalid option 'job.backoff.delayMs'",
    );
    expectRefused(
      () => resolveBackoff('job.backoff', { type: 'fixed', delayMs: 1, jitter: 2 }, 'INVALID_JOB_OPTION'),
      'INVALID_JOB_OPTION',
      'invalid job.backoff.jitter: expected a number from 0 to 1, got 2',
    );
  });
});
