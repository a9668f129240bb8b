import { describe, expect, it } from 'vitest';
import { getFreePort } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { clientNames, createManager, privateServer, recordEvents, rejectionOf, track } from './helpers.js';

function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

describe('disconnect()', () => {
  it('closes every connection it created, in Redis too', async () => {
    const observer = createManager();
    await observer.connect();
    const manager = createManager({ connectionName: 'closing' });
    await manager.connect();
    await manager.createConnection('subscriber');
    await manager.createConnection('blocking');
    expect(await clientNames(observer, 'closing:')).toHaveLength(3);
    await manager.disconnect();
    expect(await clientNames(observer, 'closing:')).toEqual([]);
    expect(manager.listConnections()).toEqual([]);
  });

  it('is idempotent and final: getConnection() throws and connect() rejects with MANAGER_CLOSED', async () => {
    const manager = createManager();
    const events = recordEvents(manager);
    await manager.connect();
    const first = manager.disconnect();
    expect(manager.disconnect()).toBe(first);
    await first;
    await manager.disconnect();
    expect(events.byName.closed).toHaveLength(1);
    expect(manager.state).toBe('closed');
    expect(manager.isHealthy()).toBe(false);
    expect(() => manager.getConnection()).toThrow(expect.objectContaining({ code: 'MANAGER_CLOSED' }));
    const error = await rejectionOf(manager.connect());
    expect(isConnectionError(error, 'MANAGER_CLOSED')).toBe(true);
    expect(error.message).toMatch(/create a new RedisConnectionManager/);
  });

  it('works before connect() and rejects a connect() in flight', async () => {
    const idle = createManager();
    await idle.disconnect();
    expect(idle.state).toBe('closed');

    const port = await getFreePort();
    const waiting = track(new RedisConnectionManager({ port, waitForServer: true }));
    const connecting = waiting.connect();
    await waiting.disconnect();
    const error = await rejectionOf(connecting);
    expect(isConnectionError(error, 'MANAGER_CLOSED')).toBe(true);
  });

  it('rejects commands still waiting for a reconnect', async () => {
    const server = await privateServer();
    const manager = track(new RedisConnectionManager({ url: server.url, reconnect: { initialDelayMs: 100 } }));
    await manager.connect();
    await server.kill();
    const pending = manager.getConnection().get('x');
    await manager.disconnect();
    await expect(pending).rejects.toThrow();
  });

  it('leaves no sockets or timers behind, so the process can exit', async () => {
    const before = activeResources();
    const real = createManager({ healthCheckIntervalMs: 50 });
    await real.connect();
    await real.createConnection('subscriber');
    await real.createConnection('blocking');
    await real.checkHealth();
    expect((activeResources()['TCPSocketWrap'] ?? 0) - (before['TCPSocketWrap'] ?? 0)).toBe(3);
    await real.disconnect();
    const after = activeResources();
    expect(after['TCPSocketWrap'] ?? 0).toBe(before['TCPSocketWrap'] ?? 0);
    expect(after['Timeout'] ?? 0).toBeLessThanOrEqual(before['Timeout'] ?? 0);
  });

  it('forces the close when QUIT gets no answer within quitTimeoutMs', async () => {
    const server = await privateServer();
    const manager = track(new RedisConnectionManager({ url: server.url, quitTimeoutMs: 200 }));
    await manager.connect();
    server.freeze();
    try {
      // A PING left unanswered by the frozen server is failed by the close, not left hanging.
      const check = manager.checkHealth();
      const started = Date.now();
      await manager.disconnect();
      expect((await check).healthy).toBe(false);
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(manager.listConnections()).toEqual([]);
    } finally {
      server.thaw();
    }
  });

  it('supports await using', async () => {
    let escaped: RedisConnectionManager | undefined;
    {
      await using manager = createManager();
      await manager.connect();
      escaped = manager;
    }
    expect(escaped.state).toBe('closed');
  });

  it('rejects connect() with MANAGER_CLOSED when disconnect() runs while the server is being inspected', async () => {
    const manager = createManager();
    manager.on('ready', () => {
      void manager.disconnect();
    });
    const error = await rejectionOf(manager.connect());
    expect(isConnectionError(error, 'MANAGER_CLOSED')).toBe(true);
    expect(manager.state).toBe('closed');
  });

  it('waits for a connection that releaseConnection() is closing at the same time', async () => {
    const manager = createManager();
    await manager.connect();
    const subscriber = await manager.createConnection('subscriber');
    const releasing = manager.releaseConnection(subscriber);
    await manager.disconnect();
    expect(subscriber.status).toBe('end');
    await releasing;
  });

  it('emits nothing after disconnect() resolved', async () => {
    const manager = createManager({ healthCheckIntervalMs: 20 });
    await manager.connect();
    await manager.createConnection('subscriber');
    await manager.disconnect();
    const events = recordEvents(manager);
    // A sleep is right here: the test shows that nothing is emitted within a window (health checks run every 20 ms).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.all).toEqual([]);
  });

  it('never keeps the process alive with its timers (all unref)', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const before = timers();
    const manager = createManager({ healthCheckIntervalMs: 30, offlineCommandTimeoutMs: 50 });
    await manager.connect();
    await manager.checkHealth();
    expect(timers()).toBe(before);
  });
});
