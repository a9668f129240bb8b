import { describe, expect, it } from 'vitest';
import { bytesOver, createValidator, describeType, hasLoneSurrogate, isConnectionManagerLike } from './validation.js';

class PackageError extends Error {
  constructor(
    readonly code: 'BAD_NAME' | 'BAD_OPTION' | 'TOO_LARGE',
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const v = createValidator<'BAD_NAME' | 'BAD_OPTION' | 'TOO_LARGE'>(
  ({ code, message, field }) => new PackageError(code, message, field),
);

function thrown(fn: () => unknown): PackageError {
  try {
    fn();
  } catch (error) {
    return error as PackageError;
  }
  throw new Error('expected a throw');
}

describe('createValidator', () => {
  it("throws the package's own error with the code, the field at fault and a message that says what to fix", () => {
    const error = thrown(() => v.name(42, { field: 'channel', code: 'BAD_NAME', maxLength: 10 }));
    expect(error).toBeInstanceOf(PackageError);
    expect(error).toMatchObject({
      code: 'BAD_NAME',
      field: 'channel',
      message: 'channel must be a string, got number',
    });
    expect(() => v.fail('BAD_OPTION', 'x', 'why')).toThrow('why');
  });

  it('checks names: empty, length, control characters, whitespace, lone surrogates, braces', () => {
    const rules = { field: 'key', code: 'BAD_NAME' as const, maxLength: 5 };
    expect(v.name('abc', rules)).toBe('abc');
    expect(thrown(() => v.name('', rules)).message).toBe('key must not be empty');
    expect(v.name('', { ...rules, allowEmpty: true })).toBe('');
    expect(thrown(() => v.name('abcdef', rules)).message).toBe('key is longer than 5 characters');
    expect(thrown(() => v.name('a\u0001', rules)).message).toMatch(/contains control characters/);
    expect(v.name('a b', rules)).toBe('a b');
    expect(thrown(() => v.name('a b', { ...rules, refuseWhitespace: true })).message).toMatch(
      /contains whitespace or control characters/,
    );
    expect(thrown(() => v.name('a\uD800', rules)).message).toMatch(/lone surrogate/);
    expect(v.name('😀', rules)).toBe('😀');
    expect(v.name('{a}', rules)).toBe('{a}');
    expect(thrown(() => v.name('{a}', { ...rules, refuseBraces: true })).message).toMatch(/must not contain braces/);
  });

  it('checks objects, integers and free text', () => {
    expect(thrown(() => v.object(null, 'options', 'BAD_OPTION')).message).toBe('options must be an object, got null');
    expect(v.object({}, 'options', 'BAD_OPTION')).toEqual({});
    expect(v.integer(5, { field: 'ttlMs', code: 'BAD_OPTION' })).toBe(5);
    expect(thrown(() => v.integer(0, { field: 'ttlMs', code: 'BAD_OPTION' })).message).toBe(
      "invalid option 'ttlMs': expected an integer number of ms from 1 to 2147483647, got 0",
    );
    expect(thrown(() => v.integer('5', { field: 'n', code: 'BAD_OPTION', unit: 'jobs', min: 0, max: 9 })).message).toBe(
      "invalid option 'n': expected an integer number of jobs from 0 to 9, got string",
    );
    expect(thrown(() => v.integer(1.5, { field: 'n', code: 'BAD_OPTION' })).message).toMatch(/got 1.5/);
    expect(v.text('me', { field: 'writer', code: 'BAD_OPTION', max: 3 })).toBe('me');
    expect(thrown(() => v.text('', { field: 'writer', code: 'BAD_OPTION', max: 3 })).message).toBe(
      "invalid option 'writer': expected a string of 1 to 3 characters",
    );
  });

  it('encodes JSON only when it round-trips exactly and fits', () => {
    const rules = { field: 'value', code: 'BAD_OPTION' as const, maxBytes: 20, tooLargeCode: 'TOO_LARGE' as const };
    expect(v.json({ a: [1, 'b'] }, rules)).toBe('{"a":[1,"b"]}');
    expect(thrown(() => v.json(undefined, rules)).message).toMatch(/undefined/);
    expect(thrown(() => v.json({ when: new Date(0) }, rules)).message).toMatch(/value.when is a Date/);
    const big = thrown(() => v.json('x'.repeat(30), { ...rules, limitName: 'option maxValueBytes' }));
    expect(big).toMatchObject({ code: 'TOO_LARGE' });
    expect(big.message).toBe('value is 32 bytes as JSON, over the limit of 20 (option maxValueBytes)');
    expect(thrown(() => v.json('x'.repeat(30), { ...rules, tooLargeCode: undefined })).code).toBe('BAD_OPTION');
    const polluted = JSON.parse('{"__proto__":{"admin":true}}') as unknown;
    expect(v.json(polluted, { ...rules, maxBytes: 100 })).toBe('{"__proto__":{"admin":true}}');
    expect(thrown(() => v.json(polluted, { ...rules, maxBytes: 100, refuseProtoKeys: true })).message).toMatch(
      /__proto__/,
    );
  });
});

describe('helpers', () => {
  it('describe types, find lone surrogates, count bytes only near the limit, recognise a manager by shape', () => {
    expect([null, [], {}, 1, 'a', undefined].map(describeType)).toEqual([
      'null',
      'array',
      'object',
      'number',
      'string',
      'undefined',
    ]);
    expect(hasLoneSurrogate('\uDC00a')).toBe(true);
    expect(hasLoneSurrogate('a😀')).toBe(false);
    expect(bytesOver('abc', 3)).toBeUndefined();
    expect(bytesOver('éé', 3)).toBe(4);
    expect(bytesOver('ab', 3)).toBeUndefined();
    expect(isConnectionManagerLike({ getConnection: () => undefined })).toBe(true);
    expect(isConnectionManagerLike(null)).toBe(false);
    expect(isConnectionManagerLike({})).toBe(false);
  });
});
