import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describe, expect, it } from 'vitest';
import {
  MessageBusError,
  type MessageBusErrorCode,
  MessageHandlerError,
  MessageValidationError,
  formatIssues,
  isMessageBusError,
} from './errors.js';

const CODES: readonly MessageBusErrorCode[] = [
  'INVALID_OPTION',
  'INVALID_CHANNEL',
  'INVALID_RECIPIENT',
  'UNSERIALIZABLE_MESSAGE',
  'MESSAGE_TOO_LARGE',
  'VALIDATION_FAILED',
  'HANDLER_FAILED',
  'BUS_CLOSED',
];

describe('MessageBusError', () => {
  it.each(CODES)('carries the code %s', (code) => {
    const error = new MessageBusError(code, 'something went wrong');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MessageBusError');
    expect(error.code).toBe(code);
    expect(error.message).toBe('something went wrong');
    expect(Object.hasOwn(error, 'cause')).toBe(false);
  });

  it('keeps a cause', () => {
    const cause = new TypeError('inner');
    const error = new MessageBusError('UNSERIALIZABLE_MESSAGE', 'outer', { cause });
    expect(error.cause).toBe(cause);
  });

  it('shows its name in the stack', () => {
    expect(new MessageBusError('BUS_CLOSED', 'closed').stack).toMatch(/^MessageBusError: closed/);
  });
});

describe('MessageValidationError', () => {
  it('is a MessageBusError with code VALIDATION_FAILED and keeps the issues', () => {
    const issues: StandardSchemaV1.Issue[] = [{ message: 'Expected number', path: ['id'] }];
    const error = new MessageValidationError('orders', issues);
    expect(error).toBeInstanceOf(MessageBusError);
    expect(error.name).toBe('MessageValidationError');
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues).toBe(issues);
    expect(error.message).toBe("message for 'orders' does not match its schema: id: Expected number");
  });

  it('joins paths made of string keys, numbers and { key } segments', () => {
    const error = new MessageValidationError('orders', [
      { message: 'Required', path: ['items', { key: 0 }, 'sku'] },
      { message: 'Too small', path: [{ key: 'total' }] },
      { message: 'Bad index', path: ['list', 3] },
      { message: 'Whole message is wrong', path: [] },
      { message: 'No path at all' },
    ]);
    expect(error.message).toBe(
      "message for 'orders' does not match its schema: items.0.sku: Required; total: Too small; list.3: Bad index; Whole message is wrong; No path at all",
    );
  });

  it('truncates after 5 issues with "and N more"', () => {
    const issues = Array.from({ length: 8 }, (_, index) => ({ message: `issue ${index}`, path: [`f${index}`] }));
    const error = new MessageValidationError('c', issues);
    expect(error.message).toBe(
      "message for 'c' does not match its schema: f0: issue 0; f1: issue 1; f2: issue 2; f3: issue 3; f4: issue 4; and 3 more",
    );
    expect(error.issues).toHaveLength(8);
  });
});

describe('formatIssues()', () => {
  const issue = (index: number): StandardSchemaV1.Issue => ({ message: `m${index}` });

  it('lists exactly 5 issues without a tail', () => {
    expect(formatIssues([1, 2, 3, 4, 5].map(issue))).toBe('m1; m2; m3; m4; m5');
  });

  it('counts one more issue', () => {
    expect(formatIssues([1, 2, 3, 4, 5, 6].map(issue))).toBe('m1; m2; m3; m4; m5; and 1 more');
  });

  it('returns an empty string for no issues', () => {
    expect(formatIssues([])).toBe('');
  });

  it('writes symbol keys readably', () => {
    expect(formatIssues([{ message: 'bad', path: [Symbol('meta'), { key: Symbol('x') }] }])).toBe(
      'Symbol(meta).Symbol(x): bad',
    );
  });
});

describe('MessageHandlerError', () => {
  it('carries the channel, the message id and an Error cause', () => {
    const cause = new Error('boom');
    const error = new MessageHandlerError('orders', 'abc:7', cause);
    expect(error).toBeInstanceOf(MessageBusError);
    expect(error.name).toBe('MessageHandlerError');
    expect(error.code).toBe('HANDLER_FAILED');
    expect(error.channel).toBe('orders');
    expect(error.messageId).toBe('abc:7');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe("a handler for 'orders' failed on message abc:7: boom");
  });

  it.each([
    ['a string', 'nope', 'nope'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a plain object', { reason: 'x' }, '[object Object]'],
  ])('keeps %s as the cause and in the message', (_label, cause, text) => {
    const error = new MessageHandlerError('inbox:user-1', 'abc:1', cause);
    expect(error.cause).toBe(cause);
    expect(Object.hasOwn(error, 'cause')).toBe(true);
    expect(error.message).toBe(`a handler for 'inbox:user-1' failed on message abc:1: ${text}`);
  });

  it('can be built for a cause that cannot be turned into a string', () => {
    // A handler may reject with anything, e.g. an object with a null prototype.
    const cause = Object.create(null) as object;
    let error: MessageHandlerError | undefined;
    expect(() => {
      error = new MessageHandlerError('orders', 'abc:1', cause);
    }).not.toThrow();
    expect(error?.cause).toBe(cause);
    expect(error?.message).toMatch(/^a handler for 'orders' failed on message abc:1: /);
  });
});

describe('isMessageBusError()', () => {
  it('is true for every class of the package', () => {
    expect(isMessageBusError(new MessageBusError('BUS_CLOSED', 'closed'))).toBe(true);
    expect(isMessageBusError(new MessageValidationError('c', [{ message: 'x' }]))).toBe(true);
    expect(isMessageBusError(new MessageHandlerError('c', 'id', new Error('x')))).toBe(true);
  });

  it('matches on code when one is given', () => {
    const error = new MessageBusError('BUS_CLOSED', 'closed');
    expect(isMessageBusError(error, 'BUS_CLOSED')).toBe(true);
    expect(isMessageBusError(error, 'INVALID_OPTION')).toBe(false);
    expect(isMessageBusError(new MessageValidationError('c', []), 'VALIDATION_FAILED')).toBe(true);
    expect(isMessageBusError(new MessageValidationError('c', []), 'HANDLER_FAILED')).toBe(false);
    expect(isMessageBusError(new MessageHandlerError('c', 'id', 1), 'HANDLER_FAILED')).toBe(true);
  });

  it('recognises a copy of the class from another module instance by name and code', () => {
    const foreign = Object.assign(new Error('closed'), { name: 'MessageBusError', code: 'BUS_CLOSED' });
    expect(isMessageBusError(foreign)).toBe(true);
    expect(isMessageBusError(foreign, 'BUS_CLOSED')).toBe(true);
    expect(isMessageBusError(foreign, 'HANDLER_FAILED')).toBe(false);
    const handler = Object.assign(new Error('x'), { name: 'MessageHandlerError', code: 'HANDLER_FAILED' });
    expect(isMessageBusError(handler, 'HANDLER_FAILED')).toBe(true);
  });

  it('is false for a foreign Error with the same name but no code', () => {
    const foreign = Object.assign(new Error('closed'), { name: 'MessageBusError' });
    expect(isMessageBusError(foreign)).toBe(false);
    expect(isMessageBusError(foreign, 'BUS_CLOSED')).toBe(false);
  });

  it('is false for a foreign Error with the same name and a non-string code', () => {
    expect(isMessageBusError(Object.assign(new Error('x'), { name: 'MessageBusError', code: 7 }))).toBe(false);
  });

  it('is false for errors of other names, even with a matching code', () => {
    expect(isMessageBusError(new Error('x'))).toBe(false);
    expect(isMessageBusError(new TypeError('x'))).toBe(false);
    expect(isMessageBusError(Object.assign(new Error('x'), { code: 'BUS_CLOSED' }), 'BUS_CLOSED')).toBe(false);
    expect(isMessageBusError(Object.assign(new Error('x'), { name: 'RedisAuthError', code: 'INVALID_OPTION' }))).toBe(
      false,
    );
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'MessageBusError'],
    ['a plain object shaped like the error', { name: 'MessageBusError', code: 'BUS_CLOSED', message: 'x' }],
  ])('is false for %s', (_label, value) => {
    expect(isMessageBusError(value)).toBe(false);
  });
});
