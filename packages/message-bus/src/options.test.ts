import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonCodec } from './codec.js';
import { MessageBusError } from './errors.js';
import {
  DEFAULT_INBOX_OPTIONS,
  DEFAULT_MESSAGE_BUS_OPTIONS,
  resolveBusOptions,
  resolveInboxOptions,
} from './options.js';

function rejection(fn: () => unknown): MessageBusError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MessageBusError) return error;
    throw error;
  }
  throw new Error('expected a MessageBusError');
}

const SAFE = Number.MAX_SAFE_INTEGER;

describe('resolveInboxOptions()', () => {
  it.each([1, 2, 50, 10_000])('accepts batchSize %d and returns it', (value) => {
    expect(resolveInboxOptions({ batchSize: value }).batchSize).toBe(value);
  });

  it('accepts the maximum itself', () => {
    expect(resolveInboxOptions({ maxDeliveries: SAFE }).maxDeliveries).toBe(SAFE);
    expect(resolveInboxOptions({ redeliverAfterMs: 2 ** 31 - 1 }).redeliverAfterMs).toBe(2 ** 31 - 1);
  });

  it.each([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [10_001, '10001'],
    ['5', 'string'],
    [true, 'boolean'],
    [Object.create(null) as unknown, 'object'],
  ])('rejects batchSize %j with INVALID_OPTION naming the option', (value, shown) => {
    const error = rejection(() => resolveInboxOptions({ batchSize: value }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe(
      `invalid option 'batchSize': expected an integer number of messages from 1 to 10000, got ${shown}`,
    );
  });

  it('names the bound of each option', () => {
    expect(rejection(() => resolveInboxOptions({ redeliverAfterMs: 2 ** 31 })).message).toBe(
      "invalid option 'redeliverAfterMs': expected an integer number of ms from 1 to 2147483647, got 2147483648",
    );
    expect(rejection(() => resolveInboxOptions({ maxDeliveries: 0 })).message).toBe(
      `invalid option 'maxDeliveries': expected an integer number of deliveries from 1 to ${SAFE}, got 0`,
    );
  });

  it('treats null and undefined as "use the default", checks the schema, refuses a non-object', () => {
    expect(resolveInboxOptions({ batchSize: undefined, maxDeliveries: null as never })).toEqual({
      ...DEFAULT_INBOX_OPTIONS,
      schema: undefined,
    });
    const schema = z.number();
    expect(resolveInboxOptions({ schema }).schema).toBe(schema);
    expect(rejection(() => resolveInboxOptions({ schema: {} }))).toMatchObject({ code: 'INVALID_OPTION' });
    expect(rejection(() => resolveInboxOptions(null)).message).toBe('options must be an object, got null');
  });
});

describe('resolveBusOptions()', () => {
  it('merges the defaults', () => {
    expect(resolveBusOptions({})).toEqual({ ...DEFAULT_MESSAGE_BUS_OPTIONS, sender: undefined });
    expect(resolveBusOptions({ sender: 'w1', maxMessageBytes: SAFE, inboxMaxLength: 1 })).toMatchObject({
      sender: 'w1',
      maxMessageBytes: SAFE,
      inboxMaxLength: 1,
    });
  });

  it.each([
    [{ maxMessageBytes: 0 }, "invalid option 'maxMessageBytes': expected an integer number of bytes from 1 to"],
    [{ inboxMaxLength: 2 ** 53 }, "invalid option 'inboxMaxLength': expected an integer number of messages"],
    [{ sender: '' }, "invalid option 'sender': expected a string of 1 to 256 characters"],
    [{ sender: 's'.repeat(257) }, "invalid option 'sender': expected a string of 1 to 256 characters"],
    [{ codec: { encode: 1 } }, "invalid option 'codec': expected { encode(envelope), decode(raw) }"],
    ['fast', 'options must be an object, got string'],
  ])('rejects %j with INVALID_OPTION naming the option', (options, message) => {
    const error = rejection(() => resolveBusOptions(options));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message.startsWith(message)).toBe(true);
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
    expect(resolveBusOptions(DEFAULT_MESSAGE_BUS_OPTIONS)).toEqual({
      ...DEFAULT_MESSAGE_BUS_OPTIONS,
      sender: undefined,
    });
    expect(resolveInboxOptions(DEFAULT_INBOX_OPTIONS)).toEqual({ ...DEFAULT_INBOX_OPTIONS, schema: undefined });
  });
});
