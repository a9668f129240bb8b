import { describe, expect, it } from 'vitest';
import { hashTag, joinKey, namespaceProblem } from './keys.js';

describe('namespaceProblem()', () => {
  it.each(['shim', 'a', 'my-app_1.prod', 'tenant:42', 'user@host', 'x'.repeat(128)])('accepts %j', (namespace) => {
    expect(namespaceProblem(namespace)).toBeUndefined();
  });

  it.each([
    [42, 'expected a string, got number'],
    [undefined, 'expected a string, got undefined'],
    [null, 'expected a string, got object'],
  ])('rejects the non-string %j', (namespace, problem) => {
    expect(namespaceProblem(namespace)).toBe(problem);
  });

  it.each(['', 'x'.repeat(129)])('rejects a namespace of length %#', (namespace) => {
    expect(namespaceProblem(namespace)).toBe('expected 1 to 128 characters');
  });

  it.each(['{shim}', 'a}b', 'shim*', 'shim?', 'sh[im]', 'my app', 'tab\there', 'new\nline', 'ünïcode', 'a/b'])(
    'rejects %j for its characters',
    (namespace) => {
      expect(namespaceProblem(namespace)).toBe(
        'only letters, digits and _ . - : @ are allowed (no braces, glob characters or spaces)',
      );
    },
  );

  it.each([':shim', 'shim:', ':', '::'])('rejects %j for a leading or trailing colon', (namespace) => {
    expect(namespaceProblem(namespace)).toBe('must not start or end with ":"');
  });
});

describe('joinKey()', () => {
  it('joins the namespace and the parts with colons', () => {
    expect(joinKey('shim', 'state', 'plan')).toBe('shim:state:plan');
  });

  it('returns the namespace alone when there are no parts', () => {
    expect(joinKey('shim')).toBe('shim');
  });

  it('accepts finite numbers, including 0 and negatives', () => {
    expect(joinKey('ns', 'job', 0, -3, 1.5)).toBe('ns:job:0:-3:1.5');
  });

  it('rejects an empty string part and names its index', () => {
    expect(() => joinKey('ns', 'queue', '')).toThrow(
      new TypeError('key part 1 must be a non-empty string or a finite number'),
    );
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('rejects the number %s', (part) => {
    expect(() => joinKey('ns', part)).toThrow(
      new TypeError('key part 0 must be a non-empty string or a finite number'),
    );
  });

  it.each([undefined, null, {}, true])('rejects the non-string, non-number part %j (from untyped callers)', (part) => {
    expect(() => joinKey('ns', 'a', 'b', part as string)).toThrow(
      new TypeError('key part 2 must be a non-empty string or a finite number'),
    );
  });

  it('throws a TypeError (not another kind of error)', () => {
    expect(() => joinKey('ns', '')).toThrow(TypeError);
  });
});

describe('hashTag()', () => {
  it('wraps the value in braces', () => {
    expect(hashTag('queue-1')).toBe('{queue-1}');
  });

  it('keeps colons inside the tag', () => {
    expect(joinKey('shim', 'task-queue', hashTag('emails:high'), 'wait')).toBe('shim:task-queue:{emails:high}:wait');
  });

  it.each(['', '{a', 'a}', '{a}'])('rejects %j', (value) => {
    expect(() => hashTag(value)).toThrow(new TypeError('a hash tag must be non-empty and contain no braces'));
  });
});
