import { describe, expect, it } from 'vitest';
import { RedisConfigError } from './errors.js';
import { DEFAULT_CONNECTION_OPTIONS, type RedisConfig, resolveConfig } from './options.js';

/** The error `resolveConfig(config)` throws; fails the test when it does not throw. */
function configError(config: unknown): RedisConfigError {
  try {
    resolveConfig(config as RedisConfig);
  } catch (error) {
    return error as RedisConfigError;
  }
  throw new Error(`resolveConfig(${JSON.stringify(config)}) did not throw`);
}

/** Asserts `config` is rejected as invalid with `option` named, and returns the error. */
function expectInvalid(config: unknown, option: string): RedisConfigError {
  const error = configError(config);
  expect(error).toBeInstanceOf(RedisConfigError);
  expect(error.code).toBe('INVALID_CONFIG');
  expect(error.option).toBe(option);
  expect(error.message).toContain(`'${option}'`);
  return error;
}

describe('resolveConfig() defaults', () => {
  it('resolves no config to the defaults', () => {
    expect(resolveConfig()).toEqual({
      host: '127.0.0.1',
      port: 6379,
      username: undefined,
      password: undefined,
      db: 0,
      tls: undefined,
      namespace: 'shim',
      connectionName: 'shim',
      connectTimeoutMs: 10_000,
      healthCheckIntervalMs: 5_000,
      healthCheckTimeoutMs: 2_000,
      waitForServer: false,
      offlineCommandTimeoutMs: 10_000,
      quitTimeoutMs: 2_000,
      reconnect: {
        initialDelayMs: 100,
        maxDelayMs: 5_000,
        factor: 2,
        jitter: 0.2,
        maxAttempts: Number.POSITIVE_INFINITY,
      },
      address: '127.0.0.1:6379',
    });
  });

  it('resolves an empty object like no config', () => {
    expect(resolveConfig({})).toEqual(resolveConfig());
  });

  it('agrees with DEFAULT_CONNECTION_OPTIONS', () => {
    const resolved = resolveConfig({});
    const { reconnect, ...flat } = DEFAULT_CONNECTION_OPTIONS;
    expect(resolved).toMatchObject(flat);
    expect(resolved.reconnect).toEqual(reconnect);
  });

  it('treats fields set to undefined as unset', () => {
    const resolved = resolveConfig({
      url: undefined,
      host: undefined,
      port: undefined,
      tls: undefined,
      reconnect: undefined,
      namespace: undefined,
    });
    expect(resolved).toEqual(resolveConfig());
  });

  it('takes every explicit field', () => {
    const tls = { servername: 'redis.example' };
    const resolved = resolveConfig({
      host: 'redis.example',
      port: 6380,
      username: 'app',
      password: 'pw',
      db: 3,
      tls,
      namespace: 'my-app',
      connectionName: 'worker-1',
      connectTimeoutMs: 1_000,
      healthCheckIntervalMs: 3_000,
      healthCheckTimeoutMs: 500,
      waitForServer: true,
      offlineCommandTimeoutMs: 4_000,
      quitTimeoutMs: 250,
      reconnect: { initialDelayMs: 50, maxDelayMs: 1_000, factor: 3, jitter: 0.5, maxAttempts: 7 },
    });
    expect(resolved).toEqual({
      host: 'redis.example',
      port: 6380,
      username: 'app',
      password: 'pw',
      db: 3,
      tls,
      namespace: 'my-app',
      connectionName: 'worker-1',
      connectTimeoutMs: 1_000,
      healthCheckIntervalMs: 3_000,
      healthCheckTimeoutMs: 500,
      waitForServer: true,
      offlineCommandTimeoutMs: 4_000,
      quitTimeoutMs: 250,
      reconnect: { initialDelayMs: 50, maxDelayMs: 1_000, factor: 3, jitter: 0.5, maxAttempts: 7 },
      address: 'redis.example:6380',
    });
    expect(resolved.tls).toBe(tls);
  });

  it('fills the unset reconnect fields from the defaults', () => {
    expect(resolveConfig({ reconnect: { maxAttempts: 3 } }).reconnect).toEqual({
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      factor: 2,
      jitter: 0.2,
      maxAttempts: 3,
    });
  });
});

describe('resolveConfig() url', () => {
  it('parses host, port, username, password and db from a redis:// URL', () => {
    const resolved = resolveConfig({ url: 'redis://app:s3cret@redis.example:6380/4' });
    expect(resolved).toMatchObject({
      host: 'redis.example',
      port: 6380,
      username: 'app',
      password: 's3cret',
      db: 4,
      tls: undefined,
      address: 'redis.example:6380',
    });
  });

  it('uses the defaults for the parts a URL leaves out', () => {
    expect(resolveConfig({ url: 'redis://redis.example' })).toMatchObject({
      host: 'redis.example',
      port: 6379,
      username: undefined,
      password: undefined,
      db: 0,
      tls: undefined,
    });
  });

  it('takes a password without a user name', () => {
    const resolved = resolveConfig({ url: 'redis://:s3cret@host' });
    expect(resolved.username).toBeUndefined();
    expect(resolved.password).toBe('s3cret');
  });

  it('takes a user name without a password', () => {
    const resolved = resolveConfig({ url: 'redis://app@host' });
    expect(resolved.username).toBe('app');
    expect(resolved.password).toBeUndefined();
  });

  it('decodes a percent-encoded password and user name', () => {
    const resolved = resolveConfig({ url: 'redis://us%20er:p%40ss%3Aw%2Fo%23rd%25@host:6379' });
    expect(resolved.username).toBe('us er');
    expect(resolved.password).toBe('p@ss:w/o#rd%');
    expect(resolved.host).toBe('host');
  });

  it('turns on TLS for a rediss:// URL', () => {
    const resolved = resolveConfig({ url: 'rediss://app:pw@redis.example:6380/1' });
    expect(resolved.tls).toEqual({});
    expect(resolved).toMatchObject({ host: 'redis.example', port: 6380, username: 'app', password: 'pw', db: 1 });
  });

  it('accepts the scheme in upper case', () => {
    expect(resolveConfig({ url: 'REDISS://host' }).tls).toEqual({});
  });

  it('parses an IPv6 host and drops the brackets', () => {
    const resolved = resolveConfig({ url: 'redis://[::1]:6380/2' });
    expect(resolved.host).toBe('::1');
    expect(resolved.port).toBe(6380);
    expect(resolved.db).toBe(2);
    expect(resolved.address).toBe('[::1]:6380');
  });

  it('parses a full IPv6 address with credentials', () => {
    const resolved = resolveConfig({ url: 'rediss://u:pw@[2001:db8::7]/0' });
    expect(resolved).toMatchObject({ host: '2001:db8::7', port: 6379, username: 'u', password: 'pw', db: 0 });
    expect(resolved.address).toBe('[2001:db8::7]:6379');
  });

  it('uses the default host for a URL without one', () => {
    const resolved = resolveConfig({ url: 'redis:///3' });
    expect(resolved.host).toBe('127.0.0.1');
    expect(resolved.db).toBe(3);
  });

  it('accepts a trailing slash without a database', () => {
    expect(resolveConfig({ url: 'redis://host/' }).db).toBe(0);
  });

  it('reads a database number with leading zeros', () => {
    expect(resolveConfig({ url: 'redis://host/015' }).db).toBe(15);
  });

  it('lets explicit fields override the URL parts', () => {
    const resolved = resolveConfig({
      url: 'redis://url-user:url-pw@url-host:1111/1',
      host: 'explicit-host',
      port: 2222,
      username: 'explicit-user',
      password: 'explicit-pw',
      db: 2,
    });
    expect(resolved).toMatchObject({
      host: 'explicit-host',
      port: 2222,
      username: 'explicit-user',
      password: 'explicit-pw',
      db: 2,
      address: 'explicit-host:2222',
    });
  });

  it('lets a single explicit field override its URL part and keeps the others', () => {
    const resolved = resolveConfig({ url: 'redis://url-user:url-pw@url-host:1111/1', password: 'explicit-pw' });
    expect(resolved).toMatchObject({
      host: 'url-host',
      port: 1111,
      username: 'url-user',
      password: 'explicit-pw',
      db: 1,
    });
  });

  it('lets an explicit db 0 override the URL database', () => {
    expect(resolveConfig({ url: 'redis://host/5', db: 0 }).db).toBe(0);
  });

  it('lets an explicit tls: false turn off the TLS of a rediss:// URL', () => {
    expect(resolveConfig({ url: 'rediss://host', tls: false }).tls).toBeUndefined();
  });

  it('lets tls: true turn on TLS for a redis:// URL', () => {
    expect(resolveConfig({ url: 'redis://host', tls: true }).tls).toEqual({});
  });

  it('uses explicit TLS options with a redis:// URL', () => {
    const tls = { rejectUnauthorized: false };
    expect(resolveConfig({ url: 'redis://host', tls }).tls).toBe(tls);
  });

  it('uses explicit TLS options with a rediss:// URL', () => {
    const tls = { ca: 'PEM', servername: 'redis.example' };
    const resolved = resolveConfig({ url: 'rediss://host:6380', tls });
    expect(resolved.tls).toBe(tls);
    expect(resolved.port).toBe(6380);
  });

  it('rejects a URL that is not a string', () => {
    const error = expectInvalid({ url: 6379 }, 'url');
    expect(error.message).toBe("invalid option 'url': expected a string, got number");
  });

  it.each(['', 'not a url', 'redis://host:99999', 'redis://ho st:6379', 'redis://:6379'])(
    'rejects the unparsable URL %j',
    (url) => {
      const error = expectInvalid({ url }, 'url');
      expect(error.message).toBe(
        "invalid option 'url': not a valid URL (expected redis://host:port or rediss://host:port)",
      );
    },
  );

  it.each(['http://host', 'https://host:6379', 'unix:///tmp/redis.sock', 'valkey://host'])(
    'rejects the scheme of %j',
    (url) => {
      const error = expectInvalid({ url }, 'url');
      expect(error.message).toMatch(/unsupported scheme '[a-z]+:' \(expected redis: or rediss:\)$/);
    },
  );

  it.each(['redis://host/abc', 'redis://host/1/2', 'redis://host/-1', 'redis://host/1.5'])(
    'rejects the non-numeric database path of %j',
    (url) => {
      const error = expectInvalid({ url }, 'url');
      expect(error.message).toContain('the path must be a database number');
    },
  );

  it('rejects port 0 in a URL and names port', () => {
    expectInvalid({ url: 'redis://host:0' }, 'port');
  });

  it('rejects a malformed percent-encoding in the password as an invalid url', () => {
    expectInvalid({ url: 'redis://:100%@host' }, 'url');
    expectInvalid({ url: 'redis://user:p%ZZss@host' }, 'url');
  });

  it.each([
    'redis://user:s3cret-pw@host:99999',
    'redis://user:s3cret-pw@ho st',
    'http://user:s3cret-pw@host',
    'redis://user:s3cret-pw@host/notadb',
    'redis://user:s3cret-pw@host/0/',
    'redis:user:s3cret-pw@host:6379',
    'redis:/user:s3cret-pw@host',
    'redis://user:12/s3cret-pw@host/0',
  ])('never puts the password of the invalid URL %j in the message', (url) => {
    const error = configError({ url });
    expect(error).toBeInstanceOf(RedisConfigError);
    expect(error.message).not.toContain('s3cret-pw');
    expect(String(error)).not.toContain('s3cret-pw');
    expect(error.stack ?? '').not.toContain('s3cret-pw');
  });
});

describe('resolveConfig() tls', () => {
  it('has no TLS by default and with tls: false', () => {
    expect(resolveConfig({}).tls).toBeUndefined();
    expect(resolveConfig({ tls: false }).tls).toBeUndefined();
  });

  it('turns tls: true into empty TLS options', () => {
    expect(resolveConfig({ tls: true }).tls).toEqual({});
  });

  it('passes a TLS options object through as is', () => {
    const tls = { servername: 'redis.example', rejectUnauthorized: true };
    expect(resolveConfig({ tls }).tls).toBe(tls);
  });

  it.each(['yes', 1, 0])('rejects tls: %j', (tls) => {
    expectInvalid({ tls }, 'tls');
  });
});

describe('resolveConfig() validation', () => {
  it.each([null, 'redis://host', 42, true])('rejects the config %j', (config) => {
    const error = expectInvalid(config, 'config');
    expect(error.message).toBe("invalid option 'config': expected an object");
  });

  it.each<[string, RedisConfig | Record<string, unknown>]>([
    ['host', { host: '' }],
    ['host', { host: 42 }],
    ['port', { port: 0 }],
    ['port', { port: 65_536 }],
    ['port', { port: 6379.5 }],
    ['port', { port: '6379' }],
    ['port', { port: Number.NaN }],
    ['db', { db: -1 }],
    ['db', { db: 1.5 }],
    ['db', { db: '1' }],
    ['db', { db: Number.POSITIVE_INFINITY }],
    ['username', { username: 42 }],
    ['password', { password: 42 }],
    ['password', { password: { secret: true } }],
    ['namespace', { namespace: '' }],
    ['namespace', { namespace: 'has space' }],
    ['namespace', { namespace: '{tag}' }],
    ['namespace', { namespace: 'trailing:' }],
    ['namespace', { namespace: 7 }],
    ['connectionName', { connectionName: '' }],
    ['connectionName', { connectionName: 'has space' }],
    ['connectionName', { connectionName: 'x'.repeat(65) }],
    ['connectionName', { connectionName: 'tab\there' }],
    ['connectionName', { connectionName: 'ünïcode' }],
    ['connectionName', { connectionName: 7 }],
    ['waitForServer', { waitForServer: 'yes' }],
    ['waitForServer', { waitForServer: 1 }],
    ['healthCheckIntervalMs', { healthCheckIntervalMs: 0 }],
    ['healthCheckIntervalMs', { healthCheckIntervalMs: 2_147_483_648 }],
    ['healthCheckTimeoutMs', { healthCheckTimeoutMs: -1 }],
    ['healthCheckTimeoutMs', { healthCheckTimeoutMs: 1.5 }],
    ['connectTimeoutMs', { connectTimeoutMs: 0 }],
    ['connectTimeoutMs', { connectTimeoutMs: Number.POSITIVE_INFINITY }],
    ['offlineCommandTimeoutMs', { offlineCommandTimeoutMs: 0 }],
    ['offlineCommandTimeoutMs', { offlineCommandTimeoutMs: '100' }],
    ['quitTimeoutMs', { quitTimeoutMs: 0 }],
    ['quitTimeoutMs', { quitTimeoutMs: Number.NaN }],
  ])('names %s for %j', (option, config) => {
    expectInvalid(config, option);
  });

  it('explains the allowed range of an integer option', () => {
    expect(configError({ port: 70_000 }).message).toBe(
      "invalid option 'port': expected an integer from 1 to 65535, got 70000",
    );
    expect(configError({ connectTimeoutMs: 0 }).message).toBe(
      "invalid option 'connectTimeoutMs': expected an integer from 1 to 2147483647, got 0",
    );
  });

  it('explains a bad namespace with the problem of keys.ts', () => {
    expect(configError({ namespace: ':shim' }).message).toBe(
      `invalid option 'namespace': must not start or end with ":"`,
    );
  });

  it('does not put a non-string password in the message', () => {
    const error = expectInvalid({ password: 123_456_789 }, 'password');
    expect(error.message).toBe("invalid option 'password': expected a string, got number");
  });

  it('accepts the bounds of each range', () => {
    const resolved = resolveConfig({
      port: 65_535,
      db: 0,
      connectionName: 'x'.repeat(64),
      namespace: 'n'.repeat(128),
      connectTimeoutMs: 2_147_483_647,
      healthCheckIntervalMs: 1,
      healthCheckTimeoutMs: 1,
      quitTimeoutMs: 1,
    });
    expect(resolved).toMatchObject({
      port: 65_535,
      connectTimeoutMs: 2_147_483_647,
      healthCheckIntervalMs: 1,
      healthCheckTimeoutMs: 1,
      quitTimeoutMs: 1,
    });
    expect(resolveConfig({ port: 1 }).port).toBe(1);
    expect(resolveConfig({ db: 15 }).db).toBe(15);
  });

  it('accepts printable punctuation in the connection name', () => {
    expect(resolveConfig({ connectionName: 'app:worker-1@host!~' }).connectionName).toBe('app:worker-1@host!~');
  });
});

describe('resolveConfig() health check', () => {
  it('caps healthCheckTimeoutMs at healthCheckIntervalMs', () => {
    const resolved = resolveConfig({ healthCheckIntervalMs: 1_000, healthCheckTimeoutMs: 3_000 });
    expect(resolved.healthCheckIntervalMs).toBe(1_000);
    expect(resolved.healthCheckTimeoutMs).toBe(1_000);
  });

  it('caps the default healthCheckTimeoutMs at a shorter interval', () => {
    expect(resolveConfig({ healthCheckIntervalMs: 500 }).healthCheckTimeoutMs).toBe(500);
  });

  it('keeps a timeout shorter than the interval', () => {
    expect(resolveConfig({ healthCheckIntervalMs: 1_000, healthCheckTimeoutMs: 999 }).healthCheckTimeoutMs).toBe(999);
  });

  it('validates the timeout before capping it', () => {
    expectInvalid({ healthCheckIntervalMs: 1_000, healthCheckTimeoutMs: 0 }, 'healthCheckTimeoutMs');
  });
});

describe('resolveConfig() reconnect', () => {
  it.each([null, 'fast', 5, true])('rejects reconnect: %j', (reconnect) => {
    const error = expectInvalid({ reconnect }, 'reconnect');
    expect(error.message).toBe("invalid option 'reconnect': expected an object");
  });

  it('rejects maxDelayMs below initialDelayMs and names maxDelayMs', () => {
    const error = expectInvalid({ reconnect: { initialDelayMs: 500, maxDelayMs: 499 } }, 'reconnect.maxDelayMs');
    expect(error.message).toBe(
      "invalid option 'reconnect.maxDelayMs': must be at least reconnect.initialDelayMs (500)",
    );
  });

  it('compares initialDelayMs with the default maxDelayMs', () => {
    expectInvalid({ reconnect: { initialDelayMs: 5_001 } }, 'reconnect.maxDelayMs');
  });

  it('accepts maxDelayMs equal to initialDelayMs', () => {
    const { reconnect } = resolveConfig({ reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
    expect(reconnect.initialDelayMs).toBe(300);
    expect(reconnect.maxDelayMs).toBe(300);
  });

  it.each([
    ['reconnect.initialDelayMs', { initialDelayMs: 0 }],
    ['reconnect.initialDelayMs', { initialDelayMs: 1.5 }],
    ['reconnect.maxDelayMs', { maxDelayMs: 0 }],
    ['reconnect.maxDelayMs', { maxDelayMs: Number.POSITIVE_INFINITY }],
    ['reconnect.factor', { factor: 0.5 }],
    ['reconnect.factor', { factor: 0 }],
    ['reconnect.factor', { factor: -2 }],
    ['reconnect.factor', { factor: Number.POSITIVE_INFINITY }],
    ['reconnect.factor', { factor: Number.NaN }],
    ['reconnect.factor', { factor: '2' }],
    ['reconnect.jitter', { jitter: -0.01 }],
    ['reconnect.jitter', { jitter: 1.01 }],
    ['reconnect.jitter', { jitter: Number.NaN }],
    ['reconnect.jitter', { jitter: '0.5' }],
    ['reconnect.maxAttempts', { maxAttempts: 2.5 }],
    ['reconnect.maxAttempts', { maxAttempts: 0 }],
    ['reconnect.maxAttempts', { maxAttempts: -1 }],
    ['reconnect.maxAttempts', { maxAttempts: Number.NEGATIVE_INFINITY }],
    ['reconnect.maxAttempts', { maxAttempts: Number.NaN }],
    ['reconnect.maxAttempts', { maxAttempts: '3' }],
  ])('names %s for %j', (option, reconnect) => {
    expectInvalid({ reconnect }, option);
  });

  it('explains factor, jitter and maxAttempts errors', () => {
    expect(configError({ reconnect: { factor: 0.5 } }).message).toBe(
      "invalid option 'reconnect.factor': expected a number of at least 1, got 0.5",
    );
    expect(configError({ reconnect: { jitter: 2 } }).message).toBe(
      "invalid option 'reconnect.jitter': expected a number from 0 to 1, got 2",
    );
    expect(configError({ reconnect: { maxAttempts: 2.5 } }).message).toBe(
      `invalid option 'reconnect.maxAttempts': expected an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got 2.5`,
    );
  });

  it('accepts the edges: factor 1, jitter 0 and 1, maxAttempts 1 and Infinity', () => {
    expect(resolveConfig({ reconnect: { factor: 1, jitter: 0, maxAttempts: 1 } }).reconnect).toMatchObject({
      factor: 1,
      jitter: 0,
      maxAttempts: 1,
    });
    expect(resolveConfig({ reconnect: { factor: 1.5, jitter: 1 } }).reconnect).toMatchObject({
      factor: 1.5,
      jitter: 1,
    });
    expect(resolveConfig({ reconnect: { maxAttempts: Number.POSITIVE_INFINITY } }).reconnect.maxAttempts).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

describe('resolveConfig() address', () => {
  it('is host:port', () => {
    expect(resolveConfig({ host: 'redis.example', port: 7000 }).address).toBe('redis.example:7000');
  });

  it('puts an explicit IPv6 host in brackets', () => {
    expect(resolveConfig({ host: '::1' }).address).toBe('[::1]:6379');
    expect(resolveConfig({ host: 'fe80::1%eth0', port: 6380 }).address).toBe('[fe80::1%eth0]:6380');
  });

  it('keeps the IPv6 host itself without brackets', () => {
    expect(resolveConfig({ host: '::1' }).host).toBe('::1');
  });

  it('never contains credentials', () => {
    const resolved = resolveConfig({ url: 'redis://app:s3cret@redis.example:6380' });
    expect(resolved.address).toBe('redis.example:6380');
  });
});
