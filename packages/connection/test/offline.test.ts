import { describe, expect, it } from 'vitest';
import { waitFor, waitForEvent } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { privateServer, recordEvents, track } from './helpers.js';

const SLOW_RECONNECT = { initialDelayMs: 100, maxDelayMs: 200, jitter: 0 };

describe('commands while disconnected', () => {
  it('wait for the reconnect when Redis is back within offlineCommandTimeoutMs', async () => {
    const server = await privateServer({ appendOnly: true, appendFsync: 'always' });
    const manager = track(
      new RedisConnectionManager({ url: server.url, reconnect: SLOW_RECONNECT, offlineCommandTimeoutMs: 10_000 }),
    );
    await manager.connect();
    await server.kill();
    await waitFor(() => !manager.isHealthy());
    const pending = manager.getConnection().incr('counter');
    await server.start();
    expect(await pending).toBe(1);
  });

  it('fail with OFFLINE_TIMEOUT within offlineCommandTimeoutMs, then fail at once until the connection is back', async () => {
    const server = await privateServer();
    const manager = track(
      new RedisConnectionManager({ url: server.url, reconnect: SLOW_RECONNECT, offlineCommandTimeoutMs: 600 }),
    );
    const events = recordEvents(manager);
    await manager.connect();
    await server.kill();
    await waitFor(() => !manager.isHealthy());
    const started = Date.now();
    const waiting = Array.from({ length: 50 }, (_, index) => manager.getConnection().set(`k${index}`, 'v'));
    const results = await Promise.allSettled(waiting);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(600 + 500);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      if (result.status === 'rejected') expect(isConnectionError(result.reason, 'OFFLINE_TIMEOUT')).toBe(true);
    }
    expect(events.byName.warning?.map(([warning]) => warning.code)).toContain('OFFLINE_COMMANDS_FAILED');

    // Past the window: no queue builds up, new commands fail at once.
    const failFastStarted = Date.now();
    await expect(manager.getConnection().get('k0')).rejects.toMatchObject({ code: 'OFFLINE_TIMEOUT' });
    expect(Date.now() - failFastStarted).toBeLessThan(200);
    // Reconnect attempts go on in fail-fast mode.
    const attempts = events.byName.reconnecting?.length ?? 0;
    await waitFor(() => (events.byName.reconnecting?.length ?? 0) > attempts, { description: 'another attempt' });

    await server.start();
    await waitFor(() => manager.isHealthy(), { description: 'healthy after restart' });
    // Nothing given up was sent later behind the caller's back.
    expect(await manager.getConnection().exists('k0', 'k49')).toBe(0);
    expect(await manager.getConnection().set('after', '1')).toBe('OK');
  });

  it('bound subscriber connections too, but let blocking connections wait for the reconnect', async () => {
    const server = await privateServer();
    const manager = track(
      new RedisConnectionManager({ url: server.url, reconnect: SLOW_RECONNECT, offlineCommandTimeoutMs: 400 }),
    );
    await manager.connect();
    const subscriber = await manager.createConnection('subscriber');
    const blocking = await manager.createConnection('blocking');
    await server.kill();
    await waitFor(() => subscriber.status !== 'ready' && blocking.status !== 'ready');
    const subscribe = subscriber.subscribe('late');
    const pop = blocking.blpop('queue', 5);
    await expect(subscribe).rejects.toMatchObject({ code: 'OFFLINE_TIMEOUT' });
    await server.start();
    await waitFor(() => manager.isHealthy(), { description: 'healthy after restart' });
    await manager.getConnection().rpush('queue', 'job');
    expect(await pop).toEqual(['queue', 'job']);
  });

  it('reports the first OFFLINE_COMMANDS_FAILED warning only after the window', async () => {
    const server = await privateServer();
    const manager = track(
      new RedisConnectionManager({ url: server.url, reconnect: SLOW_RECONNECT, offlineCommandTimeoutMs: 300 }),
    );
    await manager.connect();
    const killedAt = Date.now();
    await server.kill();
    const [warning] = await waitForEvent<[{ code: string; message: string }]>(manager, 'warning');
    expect(warning.code).toBe('OFFLINE_COMMANDS_FAILED');
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(250);
    expect(warning.message).toContain(manager.address);
  });

  it('fail a command that was in flight when the connection dropped, even while a new handshake hangs', async () => {
    const server = await privateServer();
    const manager = track(
      new RedisConnectionManager({ url: server.url, reconnect: SLOW_RECONNECT, offlineCommandTimeoutMs: 500 }),
    );
    await manager.connect();
    server.freeze();
    try {
      const inFlight = manager.getConnection().incr('in-flight');
      // The socket dies with the INCR unanswered; the reconnect reaches the frozen server's backlog and its handshake hangs.
      manager.getConnection().stream.destroy();
      const started = Date.now();
      await expect(inFlight).rejects.toMatchObject({ code: 'OFFLINE_TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(500 + 1_000);
    } finally {
      server.thaw();
    }
    await waitFor(() => manager.isHealthy(), { description: 'healthy after thaw' });
    // Given up means never resent: the frozen server may have read the first send, but not a second one.
    // A sleep is right here: the test shows that a given-up command is not resent later, within a window.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Number(await manager.getConnection().get('in-flight'))).toBeLessThanOrEqual(1);
  });
});
