import { describe, expect, it } from 'vitest';
import { waitFor, waitForEvent } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { clientNames, createManager, privateServer, rejectionOf, track } from './helpers.js';

describe('dedicated connections', () => {
  it('creates a subscriber connection in Pub/Sub mode, separate from the command connection', async () => {
    const manager = createManager({ connectionName: 'ded1' });
    await manager.connect();
    const subscriber = await manager.createConnection('subscriber');
    expect(subscriber).not.toBe(manager.getConnection());
    expect(subscriber.status).toBe('ready');
    await subscriber.subscribe('chan');
    const message = waitForEvent<[string, string]>(subscriber, 'message');
    await manager.getConnection().publish('chan', 'hi');
    expect(await message).toEqual(['chan', 'hi']);
    expect(manager.listConnections()).toEqual([
      { role: 'command', name: 'command' },
      { role: 'subscriber', name: 'subscriber-1' },
    ]);
    expect((await clientNames(manager, 'ded1:')).sort()).toEqual(['ded1:command', 'ded1:subscriber-1']);
  });

  it('creates blocking connections with maxRetriesPerRequest null (as BullMQ workers require)', async () => {
    const manager = createManager();
    await manager.connect();
    const blocking = await manager.createConnection('blocking', { name: 'worker' });
    expect(blocking.options.maxRetriesPerRequest).toBeNull();
    const pop = blocking.blpop(manager.key('list'), 5);
    await manager.getConnection().rpush(manager.key('list'), 'a');
    expect(await pop).toEqual([manager.key('list'), 'a']);
    await manager.getConnection().del(manager.key('list'));
  });

  it('releases a connection early and closes it in Redis', async () => {
    const manager = createManager({ connectionName: 'ded2' });
    await manager.connect();
    const blocking = await manager.createConnection('blocking');
    await manager.releaseConnection(blocking);
    expect(blocking.status).toBe('end');
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
    expect(await clientNames(manager, 'ded2:')).toEqual(['ded2:command']);
    // Releasing an unknown or the command connection does nothing.
    await manager.releaseConnection(manager.getConnection());
    expect(manager.getConnection().status).toBe('ready');
  });

  it('rejects bad requests clearly', async () => {
    const manager = createManager();
    await expect(manager.createConnection('subscriber')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await manager.connect();
    await expect(manager.createConnection('command' as never)).rejects.toThrow(/role must be/);
    await expect(manager.createConnection('blocking', null as never)).rejects.toThrow(
      'options must be an object, got null',
    );
    await expect(manager.createConnection('blocking', 'x' as never)).rejects.toThrow(
      'options must be an object, got string',
    );
    await expect(manager.createConnection('blocking', { name: 'has space' })).rejects.toThrow(/options.name/);
    await manager.createConnection('blocking', { name: 'twin' });
    await expect(manager.createConnection('blocking', { name: 'twin' })).rejects.toThrow(/already exists/);
    await manager.disconnect();
    const error = await rejectionOf(manager.createConnection('subscriber'));
    expect(isConnectionError(error, 'MANAGER_CLOSED')).toBe(true);
  });

  it('rejects with CONNECT_TIMEOUT and closes the connection when it is not ready within connectTimeoutMs', async () => {
    const server = await privateServer();
    const manager = track(new RedisConnectionManager({ url: server.url, connectTimeoutMs: 300 }));
    await manager.connect();
    server.freeze();
    try {
      const error = await rejectionOf(manager.createConnection('subscriber', { name: 'late' }));
      expect(isConnectionError(error, 'CONNECT_TIMEOUT')).toBe(true);
      expect(error.message).toContain('late');
      expect(manager.listConnections().map(({ name }) => name)).toEqual(['command']);
    } finally {
      server.thaw();
    }
  });

  it('does not count a connection still being created against health', async () => {
    const server = await privateServer();
    const manager = track(new RedisConnectionManager({ url: server.url, healthCheckIntervalMs: 5_000 }));
    await manager.connect();
    server.freeze();
    let creating: Promise<unknown> | undefined;
    try {
      creating = manager.createConnection('subscriber', { name: 'slow' }).catch(() => undefined);
      await waitFor(() => manager.listConnections().some(({ name }) => name === 'slow'));
      expect(manager.isHealthy()).toBe(true);
      const report = await Promise.race([manager.checkHealth(), new Promise((resolve) => setTimeout(resolve, 3_000))]);
      expect(
        report === undefined ||
          !(report as { connections: Array<{ name: string }> }).connections.some((c) => c.name === 'slow'),
      ).toBe(true);
    } finally {
      server.thaw();
    }
    await creating;
    await waitFor(() => manager.isHealthy(), { timeoutMs: 3_000, description: 'healthy right after creation' });
    expect(manager.listConnections().map(({ name }) => name)).toContain('slow');
  });
});
