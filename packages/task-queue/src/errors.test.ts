import { describe, expect, it } from 'vitest';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { isTaskQueueError, TaskQueueError, type TaskQueueErrorCode } from './errors.js';

describe('TaskQueueError', () => {
  it('carries its code, message and name, and is an Error', () => {
    const error = new TaskQueueError('INVALID_PRIORITY', 'invalid priority: got NaN');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(TaskQueueError);
    expect(error.name).toBe('TaskQueueError');
    expect(error.code).toBe('INVALID_PRIORITY');
    expect(error.message).toBe('invalid priority: got NaN');
    expect(error.queueName).toBeUndefined();
    expect(error.jobId).toBeUndefined();
    expect(error.issues).toBeUndefined();
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
    expect(String(error)).toBe('TaskQueueError: invalid priority: got NaN');
    expect(error.stack).toContain('TaskQueueError: invalid priority: got NaN');
  });

  it('keeps the queue, job, issues and cause it was given', () => {
    const cause = new Error('underlying');
    const issues: StandardSchemaV1.Issue[] = [{ message: 'required', path: ['a'] }];
    const error = new TaskQueueError('VALIDATION_FAILED', 'bad data', {
      queueName: 'reviews',
      jobId: 'job-1',
      issues,
      cause,
    });
    expect(error.queueName).toBe('reviews');
    expect(error.jobId).toBe('job-1');
    expect(error.issues).toBe(issues);
    expect(error.cause).toBe(cause);
  });

  it('keeps a falsy cause (only undefined means none)', () => {
    expect(new TaskQueueError('NOT_FOUND', 'x', { cause: null }).cause).toBeNull();
    expect(new TaskQueueError('NOT_FOUND', 'x', { cause: 0 }).cause).toBe(0);
  });
});

describe('isTaskQueueError', () => {
  const codes: TaskQueueErrorCode[] = [
    'INVALID_OPTION',
    'INVALID_QUEUE_NAME',
    'INVALID_PRIORITY',
    'INVALID_JOB_OPTION',
    'INVALID_JOB_ID',
    'INVALID_DATA',
    'DATA_TOO_LARGE',
    'VALIDATION_FAILED',
    'INVALID_HANDLER',
    'ALREADY_PROCESSING',
    'NOT_FOUND',
    'QUEUE_CLOSED',
  ];

  it.each(codes)('recognises a %s error, with and without the code', (code) => {
    const error = new TaskQueueError(code, 'm');
    expect(isTaskQueueError(error)).toBe(true);
    expect(isTaskQueueError(error, code)).toBe(true);
    const other = codes.find((candidate) => candidate !== code)!;
    expect(isTaskQueueError(error, other)).toBe(false);
  });

  it('recognises a copy from another module instance: an Error named TaskQueueError with a string code', () => {
    const copy = Object.assign(new Error('from the CJS build'), { name: 'TaskQueueError', code: 'NOT_FOUND' });
    expect(isTaskQueueError(copy)).toBe(true);
    expect(isTaskQueueError(copy, 'NOT_FOUND')).toBe(true);
    expect(isTaskQueueError(copy, 'QUEUE_CLOSED')).toBe(false);
  });

  it('refuses an Error with the same name but no code, or a code that is not a string', () => {
    const noCode = Object.assign(new Error('x'), { name: 'TaskQueueError' });
    expect(isTaskQueueError(noCode)).toBe(false);
    expect(isTaskQueueError(noCode, 'NOT_FOUND')).toBe(false);
    const numericCode = Object.assign(new Error('x'), { name: 'TaskQueueError', code: 42 });
    expect(isTaskQueueError(numericCode)).toBe(false);
  });

  it('refuses other errors, even with a matching code', () => {
    expect(isTaskQueueError(new Error('x'))).toBe(false);
    expect(isTaskQueueError(Object.assign(new Error('x'), { code: 'NOT_FOUND' }), 'NOT_FOUND')).toBe(false);
    expect(isTaskQueueError(Object.assign(new TypeError('x'), { code: 'INVALID_DATA' }))).toBe(false);
  });

  it('refuses error-like objects that are not Errors', () => {
    expect(isTaskQueueError({ name: 'TaskQueueError', code: 'NOT_FOUND', message: 'x' })).toBe(false);
    expect(isTaskQueueError(Object.create(TaskQueueError.prototype) as unknown)).toBe(false);
    expect(isTaskQueueError(undefined)).toBe(false);
    expect(isTaskQueueError(null)).toBe(false);
    expect(isTaskQueueError('TaskQueueError')).toBe(false);
  });
});
