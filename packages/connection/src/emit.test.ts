import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { emitSafely, toError } from './emit.js';

describe('emitSafely', () => {
  it('calls the listeners with the arguments', () => {
    const emitter = new EventEmitter();
    const seen: unknown[][] = [];
    emitter.on('ready', (...args: unknown[]) => seen.push(args));
    emitSafely(emitter, 'ready', 1, 'two');
    expect(seen).toEqual([[1, 'two']]);
  });

  it("drops an 'error' nobody listens to instead of throwing it", () => {
    expect(() => emitSafely(new EventEmitter(), 'error', new Error('nobody listens'))).not.toThrow();
  });

  it("routes a listener's throw to 'error', and drops it when there is no error listener", () => {
    const emitter = new EventEmitter();
    emitter.on('ready', () => {
      throw new Error('listener broke');
    });
    expect(() => emitSafely(emitter, 'ready')).not.toThrow();
    const errors: Error[] = [];
    emitter.on('error', (error: Error) => errors.push(error));
    emitSafely(emitter, 'ready');
    expect(errors.map((error) => error.message)).toEqual(['listener broke']);
  });

  it('never throws when the error listener throws, nor for thrown values without a text', () => {
    const emitter = new EventEmitter();
    emitter.on('ready', () => {
      throw Object.create(null);
    });
    const errors: Error[] = [];
    emitter.on('error', (error: Error) => {
      errors.push(error);
      throw new Error('error listener broke too');
    });
    expect(() => emitSafely(emitter, 'ready')).not.toThrow();
    expect(() => emitSafely(emitter, 'error', new Error('direct'))).not.toThrow();
    expect(errors.map((error) => error.message)).toEqual(['[object Object]', 'direct']);
  });
});

describe('toError', () => {
  it('keeps an Error and wraps anything else in one, whatever its toString does', () => {
    const error = new TypeError('t');
    expect(toError(error)).toBe(error);
    expect(toError('text').message).toBe('text');
    expect(toError(42).message).toBe('42');
    expect(toError(Object.create(null)).message).toBe('[object Object]');
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(toError(hostile).message).toBe('[object Object]');
  });

  it('never throws, even for a revoked Proxy or a throwing Symbol.toStringTag', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(toError(proxy).message).toBe('a value that cannot be described was thrown');
    const tagged = Object.create(null, {
      [Symbol.toStringTag]: {
        get() {
          throw new Error('no tag');
        },
      },
    }) as unknown;
    expect(toError(tagged).message).toBe('a value that cannot be described was thrown');
    const emitter = new EventEmitter();
    const errors: Error[] = [];
    emitter.on('error', (error: Error) => errors.push(error));
    emitter.on('ready', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a listener throwing a revoked Proxy is the case under test
      throw proxy;
    });
    expect(() => emitSafely(emitter, 'ready')).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});
