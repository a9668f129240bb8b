import { describe, expect, it } from 'vitest';
import { waitFor, waitForEvent } from '@shim/testing';
import { RedisConnectionManager, type HealthReport } from '../src/index.js';
import { createManager, privateServer, recordEvents, track } from './helpers.js';

describe('health', () => {
  it('emits a health report on every interval with the PING latency of each connection', async () => {
    const manager = createManager({ healthCheckIntervalMs: 100 });
    await manager.connect();
    await manager.createConnection('subscriber');
    await manager.createConnection('blocking');
    // A check that started before the blocking connection was ready may still report two connections.
    const [report] = await waitForEvent<[HealthReport]>(manager, 'health', {
      filter: (r) => r.connections.length === 3,
    });
    expect(report.healthy).toBe(true);
    expect(report.latencyMs).toBeGreaterThanOrEqual(0);
    expect(report.latencyMs).toBeLessThan(1_000);
    expect(report.connections.map(({ role, healthy }) => [role, healthy])).toEqual([
      ['command', true],
      ['subscriber', true],
      ['blocking', true],
    ]);
    expect(report.connections[1]?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(report.connections[2]?.latencyMs).toBeUndefined();
    expect(manager.getLastHealth()).toEqual(report);
  });

  it('detects a half-open connection (SIGSTOP) within two intervals and recovers by itself after SIGCONT', async () => {
    const server = await privateServer();
    const interval = 300;
    const manager = track(new RedisConnectionManager({ url: server.url, healthCheckIntervalMs: interval }));
    const events = recordEvents(manager);
    await manager.connect();
    await waitFor(() => events.byName.health?.some(([report]) => report.healthy), { description: 'a healthy check' });

    server.freeze();
    const frozenAt = Date.now();
    try {
      await waitFor(() => !manager.isHealthy(), {
        timeoutMs: 2 * interval + 2_000,
        intervalMs: 10,
        description: 'unhealthy',
      });
      // Two intervals (the next tick, then a PING that times out), plus timer slack for a loaded machine.
      expect(Date.now() - frozenAt).toBeLessThanOrEqual(2 * interval + 400);
      const [report] = await waitForEvent<[HealthReport]>(manager, 'health', { filter: (r) => !r.healthy });
      expect(report.latencyMs).toBeUndefined();
      // After two failed checks the half-open socket is dropped, so ioredis reconnects (and the offline bound applies).
      const [dropped] = await waitForEvent<[{ role: string; reason: string | undefined }]>(manager, 'disconnected', {
        timeoutMs: 4 * interval + 1_000,
      });
      expect(dropped).toMatchObject({ role: 'command', reason: 'no answer to 2 health checks' });
    } finally {
      server.thaw();
    }
    await waitFor(() => manager.isHealthy(), { timeoutMs: 3 * interval + 1_000, description: 'healthy after SIGCONT' });
    expect(await manager.getConnection().ping()).toBe('PONG');
  });

  it('is unhealthy while a subscriber connection is reconnecting, even though the command connection is fine', async () => {
    const manager = createManager({ reconnect: { initialDelayMs: 1_500, maxDelayMs: 1_500, jitter: 0 } });
    await manager.connect();
    const subscriber = await manager.createConnection('subscriber', { name: 'sub-health' });
    await subscriber.subscribe('x');
    expect(manager.isHealthy()).toBe(true);
    await manager.getConnection().client('KILL', 'ID', String(await subscriber.client('ID')));
    await waitFor(() => subscriber.status === 'reconnecting', { description: 'subscriber reconnecting' });
    expect(manager.isHealthy()).toBe(false);
    const report = await manager.checkHealth();
    expect(report.healthy).toBe(false);
    expect(report.connections.find((c) => c.name === 'sub-health')).toMatchObject({
      healthy: false,
      status: 'reconnecting',
    });
    expect(report.connections.find((c) => c.role === 'command')?.healthy).toBe(true);
    await waitFor(() => manager.isHealthy(), { timeoutMs: 5_000, description: 'healthy again' });
  });

  it('is unhealthy while a blocking connection is reconnecting', async () => {
    const manager = createManager({ reconnect: { initialDelayMs: 1_500, maxDelayMs: 1_500, jitter: 0 } });
    await manager.connect();
    const blocking = await manager.createConnection('blocking');
    const id = String(await blocking.client('ID'));
    await manager.getConnection().client('KILL', 'ID', id);
    await waitFor(() => blocking.status === 'reconnecting', { description: 'blocking reconnecting' });
    expect(manager.isHealthy()).toBe(false);
    await waitFor(() => manager.isHealthy(), { timeoutMs: 5_000, description: 'healthy again' });
  });

  it('shares one check between concurrent checkHealth() calls', async () => {
    const manager = createManager();
    await manager.connect();
    const first = manager.checkHealth();
    expect(manager.checkHealth()).toBe(first);
    expect((await first).healthy).toBe(true);
  });
});
