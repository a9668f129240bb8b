import { describe, expect, it } from 'vitest';
import { getFreePort, RedisServer, waitFor, waitForEvent } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { privateServer, recordEvents, track } from './helpers.js';

const FAST = { initialDelayMs: 50, maxDelayMs: 400, jitter: 0 };

describe('automatic reconnect', () => {
  it('becomes healthy again by itself after redis-server is killed and restarted on the same port', async () => {
    const server = await privateServer({ appendOnly: true, appendFsync: 'always' });
    const manager = track(new RedisConnectionManager({ url: server.url, reconnect: FAST, healthCheckIntervalMs: 200 }));
    const events = recordEvents(manager);
    await manager.connect();
    await manager.getConnection().set('k', 'before');

    await server.kill();
    await waitFor(() => !manager.isHealthy(), { description: 'unhealthy after kill' });
    await waitFor(() => (events.byName.reconnecting?.length ?? 0) >= 4, { description: 'reconnect attempts' });
    await server.start();
    await waitFor(() => manager.isHealthy(), { description: 'healthy after restart' });

    expect(await manager.getConnection().get('k')).toBe('before');
    const names = events.all.map(([name]) => name);
    expect(names).toContain('disconnected');
    expect(events.byName.disconnected?.[0]?.[0]).toMatchObject({ role: 'command', name: 'command' });
    // Exponential backoff without jitter: 50, 100, 200, 400 (cap), 400 …
    const delays = (events.byName.reconnecting ?? []).map(([event]) => event.delayMs);
    expect(delays.slice(0, 3)).toEqual([50, 100, 200]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    const attempts = (events.byName.reconnecting ?? []).map(([event]) => event.attempt);
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
    expect(names.lastIndexOf('ready')).toBeGreaterThan(names.indexOf('disconnected'));
  });

  it('re-subscribes a subscriber connection after a restart', async () => {
    const server = await privateServer();
    const manager = track(new RedisConnectionManager({ url: server.url, reconnect: FAST }));
    await manager.connect();
    const subscriber = await manager.createConnection('subscriber');
    await subscriber.subscribe('news');
    await server.kill();
    await server.start();
    await waitFor(() => manager.isHealthy() && subscriber.status === 'ready', { description: 'recovered' });
    const received = waitForEvent<[string, string]>(subscriber, 'message');
    await waitFor(async () => (await manager.getConnection().publish('news', 'hello')) === 1, {
      description: 'subscription restored',
    });
    const [channel, message] = await received;
    expect([channel, message]).toEqual(['news', 'hello']);
  });

  it('gives up after reconnect.maxAttempts, says so with RECONNECT_EXHAUSTED, and stays unhealthy', async () => {
    const server = await privateServer();
    const manager = track(new RedisConnectionManager({ url: server.url, reconnect: { ...FAST, maxAttempts: 3 } }));
    const events = recordEvents(manager);
    await manager.connect();
    await manager.createConnection('subscriber');
    await server.kill();
    const [error] = await waitForEvent<[Error]>(manager, 'error', { filter: (e) => e.message.includes('command') });
    expect(isConnectionError(error, 'RECONNECT_EXHAUSTED')).toBe(true);
    expect(error.message).toContain('3 attempts');
    expect(events.byName.reconnecting?.filter(([event]) => event.role === 'command')).toHaveLength(3);
    expect(manager.isHealthy()).toBe(false);
    await expect(manager.getConnection().ping()).rejects.toThrow();
    // Not a zombie: the manager says it failed, and connect() says why.
    expect(manager.state).toBe('failed');
    await expect(manager.connect()).rejects.toBe(error);
    expect((await manager.checkHealth()).healthy).toBe(false);
  });

  it('applies jitter to the delays', async () => {
    const port = await getFreePort();
    const manager = track(
      new RedisConnectionManager({
        port,
        waitForServer: true,
        reconnect: { initialDelayMs: 100, maxDelayMs: 100, jitter: 1, maxAttempts: 6 },
      }),
    );
    const events = recordEvents(manager);
    await manager.connect().catch(() => {});
    const delays = (events.byName.reconnecting ?? []).map(([event]) => event.delayMs);
    expect(delays).toHaveLength(6);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(100);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });
});

describe('waitForServer', () => {
  it('keeps retrying until Redis appears, then is ready within one backoff step', async () => {
    const port = await getFreePort();
    const manager = track(
      new RedisConnectionManager({ port, waitForServer: true, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } }),
    );
    const events = recordEvents(manager);
    let connectedAt = 0;
    const connecting = manager.connect().then(() => {
      connectedAt = Date.now();
    });
    await waitFor(() => (events.byName.reconnecting?.length ?? 0) >= 4, { description: 'several attempts' });
    expect(manager.state).toBe('connecting');
    const server = await RedisServer.start({ port });
    try {
      const readyAt = Date.now();
      await connecting;
      expect(connectedAt - readyAt).toBeLessThan(300 + 500);
      expect(manager.isHealthy()).toBe(true);
      expect(await manager.getConnection().ping()).toBe('PONG');
    } finally {
      await manager.disconnect();
      await server.close();
    }
  });

  it('without it, connect() fails at once when Redis is not there', async () => {
    const port = await getFreePort();
    const manager = track(new RedisConnectionManager({ port }));
    await expect(manager.connect()).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('gives up after reconnect.maxAttempts while waiting', async () => {
    const port = await getFreePort();
    const manager = track(
      new RedisConnectionManager({ port, waitForServer: true, reconnect: { ...FAST, maxAttempts: 2 } }),
    );
    await expect(manager.connect()).rejects.toMatchObject({ code: 'RECONNECT_EXHAUSTED' });
    expect(manager.state).toBe('idle');
  });
});
