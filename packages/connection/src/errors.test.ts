import { describe, expect, it } from 'vitest';
import {
  ConnectionClosedError,
  type ConnectionErrorCode,
  RedisAuthError,
  RedisConfigError,
  RedisTlsError,
  RedisUnavailableError,
  ShimConnectionError,
  isConnectionError,
} from './errors.js';

describe('RedisConfigError', () => {
  it('names the option in its message and fields', () => {
    const error = new RedisConfigError('reconnect.maxDelayMs', 'must be at least reconnect.initialDelayMs (100)');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(ShimConnectionError);
    expect(error.name).toBe('RedisConfigError');
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.option).toBe('reconnect.maxDelayMs');
    expect(error.message).toBe(
      "invalid option 'reconnect.maxDelayMs': must be at least reconnect.initialDelayMs (100)",
    );
    expect(error.address).toBeUndefined();
    expect('cause' in error).toBe(false);
  });
});

describe('RedisUnavailableError', () => {
  it.each(['CONNECT_TIMEOUT', 'UNREACHABLE', 'RECONNECT_EXHAUSTED', 'OFFLINE_TIMEOUT'] as const)(
    'carries the code %s',
    (code) => {
      const error = new RedisUnavailableError(code, 'down');
      expect(error.name).toBe('RedisUnavailableError');
      expect(error.code).toBe(code);
      expect(error.message).toBe('down');
    },
  );

  it('keeps the address and the cause', () => {
    const cause = new Error('connect ECONNREFUSED');
    const error = new RedisUnavailableError('UNREACHABLE', 'could not connect', { address: '10.0.0.1:6379', cause });
    expect(error.address).toBe('10.0.0.1:6379');
    expect(error.cause).toBe(cause);
  });

  it('has no address and no cause property when none is given', () => {
    const error = new RedisUnavailableError('CONNECT_TIMEOUT', 'timed out', {});
    expect(error.address).toBeUndefined();
    expect(Object.hasOwn(error, 'cause')).toBe(false);
  });

  it('keeps a falsy but defined cause', () => {
    const error = new RedisUnavailableError('UNREACHABLE', 'x', { cause: 0 });
    expect(Object.hasOwn(error, 'cause')).toBe(true);
    expect(error.cause).toBe(0);
  });
});

describe('RedisAuthError', () => {
  it('has code AUTH_FAILED, its name, the address and the cause', () => {
    const cause = new Error('WRONGPASS');
    const error = new RedisAuthError('rejected', { address: 'db:6379', cause });
    expect(error.name).toBe('RedisAuthError');
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toBe('rejected');
    expect(error.address).toBe('db:6379');
    expect(error.cause).toBe(cause);
  });

  it('works without options', () => {
    const error = new RedisAuthError('rejected');
    expect(error.address).toBeUndefined();
    expect('cause' in error).toBe(false);
  });
});

describe('RedisTlsError', () => {
  it('has code TLS_FAILED and its name', () => {
    const error = new RedisTlsError('handshake failed', { address: '[::1]:6380' });
    expect(error.name).toBe('RedisTlsError');
    expect(error.code).toBe('TLS_FAILED');
    expect(error.address).toBe('[::1]:6380');
    expect(error).toBeInstanceOf(ShimConnectionError);
  });
});

describe('ConnectionClosedError', () => {
  it.each(['NOT_CONNECTED', 'MANAGER_CLOSED'] as const)('carries the code %s', (code) => {
    const error = new ConnectionClosedError(code, 'closed', { address: 'h:1' });
    expect(error.name).toBe('ConnectionClosedError');
    expect(error.code).toBe(code);
    expect(error.address).toBe('h:1');
  });
});

describe('isConnectionError()', () => {
  const instances: Array<[string, ShimConnectionError, ConnectionErrorCode]> = [
    ['RedisConfigError', new RedisConfigError('port', 'bad'), 'INVALID_CONFIG'],
    ['RedisUnavailableError', new RedisUnavailableError('OFFLINE_TIMEOUT', 'x'), 'OFFLINE_TIMEOUT'],
    ['RedisAuthError', new RedisAuthError('x'), 'AUTH_FAILED'],
    ['RedisTlsError', new RedisTlsError('x'), 'TLS_FAILED'],
    ['ConnectionClosedError', new ConnectionClosedError('MANAGER_CLOSED', 'x'), 'MANAGER_CLOSED'],
  ];

  it.each(instances)('is true for a %s', (_name, error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each(instances)('is true for a %s with its own code', (_name, error, code) => {
    expect(isConnectionError(error, code)).toBe(true);
  });

  it.each(instances)('is false for a %s and another code', (_name, error, code) => {
    const other: ConnectionErrorCode = code === 'UNREACHABLE' ? 'CONNECT_TIMEOUT' : 'UNREACHABLE';
    expect(isConnectionError(error, other)).toBe(false);
  });

  it.each(instances)('is true for a look-alike %s from another copy of the package', (name, _error, code) => {
    // An ESM and a CJS copy of the class are different constructors; the guard matches name and code.
    const lookAlike = Object.assign(new Error('from the other copy'), { code });
    lookAlike.name = name;
    expect(lookAlike).not.toBeInstanceOf(ShimConnectionError);
    expect(isConnectionError(lookAlike)).toBe(true);
    expect(isConnectionError(lookAlike, code)).toBe(true);
  });

  it('is false for a plain Error, even with a matching code', () => {
    expect(isConnectionError(new Error('x'))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'INVALID_CONFIG' }), 'INVALID_CONFIG')).toBe(false);
  });

  it('is false for an Error whose name matches but that has no code', () => {
    const error = new Error('x');
    error.name = 'RedisConfigError';
    expect(isConnectionError(error)).toBe(false);
    expect(isConnectionError(error, 'INVALID_CONFIG')).toBe(false);
  });

  it('is false for an Error whose name matches but whose code is not a string', () => {
    const error = Object.assign(new Error('x'), { code: 42 });
    error.name = 'RedisAuthError';
    expect(isConnectionError(error)).toBe(false);
  });

  it('is false for an Error of another library with a code', () => {
    const error = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    error.name = 'ReplyError';
    expect(isConnectionError(error)).toBe(false);
  });

  it('is false for the base class name', () => {
    const error = Object.assign(new Error('x'), { code: 'AUTH_FAILED' });
    error.name = 'ShimConnectionError';
    expect(isConnectionError(error)).toBe(false);
  });

  it.each([
    ['a plain object with name and code', { name: 'RedisAuthError', code: 'AUTH_FAILED', message: 'x' }],
    ['a string', 'RedisAuthError'],
    ['undefined', undefined],
    ['null', null],
  ])('is false for %s (not an Error)', (_label, value) => {
    expect(isConnectionError(value)).toBe(false);
  });
});
