import { describe, expect, it } from 'vitest';
import { MessageBusError } from './errors.js';
import { assertChannel, assertPattern, assertRecipient, busKeys } from './keys.js';

/** The error `fn` throws; fails the test when it throws something else or nothing. */
function thrown(fn: () => unknown): MessageBusError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MessageBusError) return error;
    throw error;
  }
  throw new Error('expected a MessageBusError');
}

/** Redis Cluster's rule: the text between the first `{` and the next `}`, when not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

const ORDINARY = [
  'orders',
  'a',
  'orders.created',
  'tenant:42:orders',
  'my-app_1.prod',
  'überweisung.eingang',
  '注文.作成',
  'ελληνικά:κανάλι',
  'user@host/path#1',
  'x'.repeat(256),
];

const BAD_CHARACTERS = [
  ['a space', 'a b'],
  ['a leading space', ' a'],
  ['a trailing space', 'a '],
  ['a tab', 'a\tb'],
  ['a newline', 'a\nb'],
  ['a carriage return', 'a\rb'],
  ['NUL', 'a\u0000b'],
  ['DEL', 'a\u007fb'],
  ['NEL (C1)', 'a\u0085b'],
  ['a C1 control', 'a\u009fb'],
  ['a no-break space', 'a\u00a0b'],
  ['a line separator', 'a\u2028b'],
  ['an ideographic space', 'a\u3000b'],
] as const;

const NON_STRINGS = [
  [undefined, 'undefined'],
  [null, 'object'],
  [42, 'number'],
  [true, 'boolean'],
  [['orders'], 'object'],
  [{ name: 'orders' }, 'object'],
  [Symbol('orders'), 'symbol'],
] as const;

describe.each([
  { name: 'assertChannel', assert: assertChannel, kind: 'channel', code: 'INVALID_CHANNEL' },
  { name: 'assertPattern', assert: assertPattern, kind: 'pattern', code: 'INVALID_CHANNEL' },
  { name: 'assertRecipient', assert: assertRecipient, kind: 'recipient', code: 'INVALID_RECIPIENT' },
] as const)('$name()', ({ assert, kind, code }) => {
  it.each(ORDINARY)('accepts %j and returns it', (name) => {
    expect(assert(name)).toBe(name);
  });

  it.each(NON_STRINGS)('rejects the non-string %s', (value, type) => {
    const error = thrown(() => assert(value));
    expect(error.code).toBe(code);
    expect(error.name).toBe('MessageBusError');
    expect(error.message).toBe(`${kind} must be a string, got ${type}`);
  });

  it('rejects an empty name', () => {
    const error = thrown(() => assert(''));
    expect(error.code).toBe(code);
    expect(error.message).toBe(`${kind} must not be empty`);
  });

  it('rejects a name longer than 256 characters', () => {
    const error = thrown(() => assert('x'.repeat(257)));
    expect(error.code).toBe(code);
    expect(error.message).toBe(`${kind} is longer than 256 characters`);
  });

  it.each(BAD_CHARACTERS)('rejects a name with %s', (_label, name) => {
    const error = thrown(() => assert(name));
    expect(error.code).toBe(code);
    expect(error.message).toBe(`${kind} ${JSON.stringify(name)} contains whitespace or control characters`);
  });
});

describe('assertPattern()', () => {
  it.each(['orders.*', '*', 'user:?:events', 'log.[aeiou]', 'a[^b]c', 'tenant:*:orders.*', '\\*literal'])(
    'accepts the glob %j',
    (pattern) => {
      expect(assertPattern(pattern)).toBe(pattern);
    },
  );
});

describe('assertChannel()', () => {
  it('accepts braces, which only matter for recipients', () => {
    expect(assertChannel('orders{eu}')).toBe('orders{eu}');
  });
});

describe('assertRecipient()', () => {
  it.each(['user{1}', '{user}', 'a{', '}b', '{}'])('rejects %j for its braces', (recipient) => {
    const error = thrown(() => assertRecipient(recipient));
    expect(error.code).toBe('INVALID_RECIPIENT');
    expect(error.message).toBe(`recipient ${JSON.stringify(recipient)} must not contain braces`);
  });
});

describe('busKeys()', () => {
  const keys = busKeys('test:ns');

  it('prefixes channels with the namespace and bus:ch', () => {
    expect(keys.channel('orders')).toBe('test:ns:bus:ch:orders');
    expect(keys.channel('tenant:42:orders.created')).toBe('test:ns:bus:ch:tenant:42:orders.created');
    expect(busKeys('app').channel('x')).toBe('app:bus:ch:x');
  });

  it('prefixes patterns the same way and leaves the glob untouched', () => {
    expect(keys.pattern('orders.*')).toBe('test:ns:bus:ch:orders.*');
    expect(keys.pattern('user:?:[ab]')).toBe('test:ns:bus:ch:user:?:[ab]');
  });

  it.each(['orders', 'a:b:c', 'bus:ch:nested', 'test:ns:bus:ch:twice', '注文'])(
    'userChannel() inverts channel() for %j',
    (name) => {
      expect(keys.userChannel(keys.channel(name))).toBe(name);
    },
  );

  it('builds inbox keys that share the recipient as hash tag', () => {
    const inbox = keys.inbox('user-1');
    expect(inbox).toEqual({
      stream: 'test:ns:bus:inbox:{user-1}',
      dead: 'test:ns:bus:inbox:{user-1}:dead',
      trimmed: 'test:ns:bus:inbox:{user-1}:trimmed',
    });
    expect(hashTag(inbox.stream)).toBe('user-1');
    expect(hashTag(inbox.dead)).toBe('user-1');
    expect(hashTag(inbox.trimmed)).toBe('user-1');
  });

  it('gives different recipients different hash tags and keys', () => {
    const a = keys.inbox('a');
    const b = keys.inbox('b');
    expect(hashTag(a.stream)).toBe('a');
    expect(hashTag(b.stream)).toBe('b');
    expect(new Set([a.stream, a.dead, a.trimmed, b.stream, b.dead, b.trimmed]).size).toBe(6);
  });

  it('keeps namespaces apart', () => {
    expect(busKeys('one').channel('x')).not.toBe(busKeys('two').channel('x'));
    expect(busKeys('one').inbox('r').stream).toBe('one:bus:inbox:{r}');
  });
});
