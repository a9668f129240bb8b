import { countNamespaceKeys } from '@shim/testing';
import { outcomeOf } from '@shim/testing/bad-input';
import { describe, expect, it } from 'vitest';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { createManager, rejectionOf } from './helpers.js';

// Every bad input the README lists is refused with the documented error, names what is at fault,
// never echoes a password, and writes nothing (moved here from the integration bad-input sweep).

const PASSWORD = 's3cret-pw';

const CONFIGS: ReadonlyArray<[label: string, config: unknown, option: string]> = [
  ['null', null, 'config'],
  ['a string', 'redis://127.0.0.1:6379', 'config'],
  ['{ url: 42 }', { url: 42 }, 'url'],
  ["{ url: 'not a url' }", { url: 'not a url' }, 'url'],
  ["{ url: 'http://…' }", { url: 'http://127.0.0.1:6379' }, 'url'],
  ['a url with a password and no db number', { url: `redis://u:${PASSWORD}@127.0.0.1:6379/zero` }, 'url'],
  ['a url with a password and bad percent-encoding', { url: `redis://u:${PASSWORD}%zz@127.0.0.1:6379` }, 'url'],
  ["{ host: '' }", { host: '' }, 'host'],
  ['{ host: 42 }', { host: 42 }, 'host'],
  ['{ port: 0 }', { port: 0 }, 'port'],
  ['{ port: 65536 }', { port: 65_536 }, 'port'],
  ['{ port: NaN }', { port: Number.NaN }, 'port'],
  ['{ port: 1.5 }', { port: 1.5 }, 'port'],
  ["{ port: '6379' }", { port: '6379' }, 'port'],
  ['{ db: -1 }', { db: -1 }, 'db'],
  ['{ db: NaN }', { db: Number.NaN }, 'db'],
  ['{ username: 42 }', { username: 42 }, 'username'],
  ['{ password: {} }', { password: {} }, 'password'],
  ["{ tls: 'yes' }", { tls: 'yes' }, 'tls'],
  ["{ namespace: '' }", { namespace: '' }, 'namespace'],
  ["{ namespace: 'a{b}' }", { namespace: 'a{b}' }, 'namespace'],
  ["{ namespace: 'glob*' }", { namespace: 'glob*' }, 'namespace'],
  ["{ namespace: ':lead' }", { namespace: ':lead' }, 'namespace'],
  ['{ namespace: 129 characters }', { namespace: 'n'.repeat(129) }, 'namespace'],
  ["{ connectionName: 'has space' }", { connectionName: 'has space' }, 'connectionName'],
  ['{ connectionName: 65 characters }', { connectionName: 'c'.repeat(65) }, 'connectionName'],
  ["{ waitForServer: 'true' }", { waitForServer: 'true' }, 'waitForServer'],
  ['{ connectTimeoutMs: 0 }', { connectTimeoutMs: 0 }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: Infinity }', { connectTimeoutMs: Number.POSITIVE_INFINITY }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: 2 ** 31 }', { connectTimeoutMs: 2 ** 31 }, 'connectTimeoutMs'],
  ['{ healthCheckIntervalMs: 0 }', { healthCheckIntervalMs: 0 }, 'healthCheckIntervalMs'],
  ['{ healthCheckTimeoutMs: -5 }', { healthCheckTimeoutMs: -5 }, 'healthCheckTimeoutMs'],
  ['{ offlineCommandTimeoutMs: NaN }', { offlineCommandTimeoutMs: Number.NaN }, 'offlineCommandTimeoutMs'],
  ["{ quitTimeoutMs: '100' }", { quitTimeoutMs: '100' }, 'quitTimeoutMs'],
  ['{ reconnect: null }', { reconnect: null }, 'reconnect'],
  ['{ reconnect: { initialDelayMs: 0 } }', { reconnect: { initialDelayMs: 0 } }, 'reconnect.initialDelayMs'],
  [
    '{ reconnect: { maxDelayMs below initial } }',
    { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } },
    'reconnect.maxDelayMs',
  ],
  ['{ reconnect: { factor: 0.5 } }', { reconnect: { factor: 0.5 } }, 'reconnect.factor'],
  ['{ reconnect: { jitter: NaN } }', { reconnect: { jitter: Number.NaN } }, 'reconnect.jitter'],
  ['{ reconnect: { maxAttempts: 1.5 } }', { reconnect: { maxAttempts: 1.5 } }, 'reconnect.maxAttempts'],
];

describe('bad input', () => {
  it.each(CONFIGS)(
    'new RedisConnectionManager(%s) throws INVALID_CONFIG naming the option, never the password',
    async (_, config, option) => {
      const { how, error } = await outcomeOf(() => new RedisConnectionManager(config as never));
      expect(how).toBe('threw');
      expect(isConnectionError(error, 'INVALID_CONFIG')).toBe(true);
      expect(error).toMatchObject({ name: 'RedisConfigError', option });
      expect((error as Error).message).toContain(`'${option}'`);
      expect((error as Error).message).not.toContain(PASSWORD);
    },
  );

  it('refuses bad key parts, roles and connection names, writing nothing and keeping the manager usable', async () => {
    const manager = createManager();
    await manager.connect();
    for (const parts of [[''], ['a', Number.NaN], ['a', Number.POSITIVE_INFINITY], [{}]]) {
      expect(() => manager.key(...(parts as never[]))).toThrow(/key part \d/);
    }
    for (const role of ['command', 'pubsub', undefined]) {
      expect(await rejectionOf(manager.createConnection(role as never))).toMatchObject({
        name: 'TypeError',
        message: expect.stringMatching(/role/) as unknown,
      });
    }
    for (const name of ['has space', '', 'b'.repeat(65)]) {
      expect((await rejectionOf(manager.createConnection('subscriber', { name }))).message).toMatch(/options.name/);
    }
    expect((await rejectionOf(manager.createConnection('subscriber', { name: 'command' }))).message).toMatch(/command/);
    expect((await rejectionOf(manager.createConnection('blocking', null as never))).message).toMatch(/options/);
    expect(manager.listConnections()).toEqual([{ role: 'command', name: 'command' }]);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
    expect(await manager.getConnection().ping()).toBe('PONG');
  });

  it('refuses use before connect() (NOT_CONNECTED) and after disconnect() (MANAGER_CLOSED), naming what to do', async () => {
    const manager = createManager();
    expect(() => manager.getConnection()).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED' }) as Error);
    expect(() => manager.getConnection()).toThrow(/connect\(\)/);
    expect(await rejectionOf(manager.createConnection('subscriber'))).toMatchObject({ code: 'NOT_CONNECTED' });
    await manager.connect();
    await manager.disconnect();
    expect(await rejectionOf(manager.connect())).toMatchObject({ code: 'MANAGER_CLOSED' });
    expect(() => manager.getConnection()).toThrow(expect.objectContaining({ code: 'MANAGER_CLOSED' }) as Error);
    expect(await rejectionOf(manager.createConnection('blocking'))).toMatchObject({ code: 'MANAGER_CLOSED' });
  });
});
