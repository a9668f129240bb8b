import { describe, expect, it } from 'vitest';
import { jsonCodec } from './codec.js';
import { MessageBusError } from './errors.js';
import { DEFAULT_INBOX_OPTIONS, DEFAULT_MESSAGE_BUS_OPTIONS, positiveInteger } from './options.js';

function rejection(fn: () => unknown): MessageBusError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MessageBusError) return error;
    throw error;
  }
  throw new Error('expected a MessageBusError');
}

describe('positiveInteger()', () => {
  it.each([1, 2, 50, 10_000, Number.MAX_SAFE_INTEGER])('accepts %d and returns it', (value) => {
    expect(positiveInteger('batchSize', value)).toBe(value);
  });

  it('accepts the maximum itself', () => {
    expect(positiveInteger('maxDeliveries', 10, 10)).toBe(10);
  });

  it.each([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [2 ** 53, '9007199254740992'],
    ['5', '5'],
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'true'],
  ])('rejects %j with INVALID_OPTION naming the option', (value, shown) => {
    const error = rejection(() => positiveInteger('batchSize', value));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe(
      `invalid option 'batchSize': expected an integer from 1 to 9007199254740991, got ${shown}`,
    );
  });

  it('rejects a value above the maximum, naming the maximum', () => {
    const error = rejection(() => positiveInteger('inboxMaxLength', 11, 10));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe("invalid option 'inboxMaxLength': expected an integer from 1 to 10, got 11");
  });

  it('rejects a value with no string form with INVALID_OPTION, not a TypeError', () => {
    const error = rejection(() => positiveInteger('batchSize', Object.create(null)));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toMatch(/^invalid option 'batchSize': expected an integer from 1 to 9007199254740991, got /);
  });
});

describe('defaults', () => {
  it('are the documented values', () => {
    expect(DEFAULT_MESSAGE_BUS_OPTIONS).toEqual({
      maxMessageBytes: 1_048_576,
      codec: jsonCodec,
      inboxMaxLength: 10_000,
    });
    expect(DEFAULT_MESSAGE_BUS_OPTIONS.codec).toBe(jsonCodec);
    expect(DEFAULT_INBOX_OPTIONS).toEqual({ redeliverAfterMs: 60_000, maxDeliveries: 5, batchSize: 50 });
  });

  it('pass their own validation', () => {
    expect(positiveInteger('maxMessageBytes', DEFAULT_MESSAGE_BUS_OPTIONS.maxMessageBytes)).toBe(1_048_576);
    expect(positiveInteger('inboxMaxLength', DEFAULT_MESSAGE_BUS_OPTIONS.inboxMaxLength)).toBe(10_000);
    expect(positiveInteger('redeliverAfterMs', DEFAULT_INBOX_OPTIONS.redeliverAfterMs)).toBe(60_000);
    expect(positiveInteger('maxDeliveries', DEFAULT_INBOX_OPTIONS.maxDeliveries)).toBe(5);
    expect(positiveInteger('batchSize', DEFAULT_INBOX_OPTIONS.batchSize)).toBe(50);
  });
});
