import { describe, expect, it } from 'vitest';
import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { uniqueNamespace, waitFor, waitForEvent } from '@shim/testing';
import { closeAfter, onCleanup, privateServer, sharedRedisUrl } from '@shim/testing/scope';
import { WorkerRegistry, type RegistryEvent, type WorkerInfo, type WorkerRegistryOptions } from '../src/index.js';
import { createManager, createRegistry, fixture, heartbeats } from './helpers.js';

/** A connected manager on `config.url` (a private server), disconnected after the test. */
async function serverManager(config: RedisConfig): Promise<RedisConnectionManager> {
  const manager = new RedisConnectionManager({ namespace: uniqueNamespace(), ...config });
  onCleanup(() => manager.disconnect());
  await manager.connect();
  return manager;
}

/** A registry closed after the test (before its manager, registered earlier). */
const registryOn = (manager: RedisConnectionManager, options: WorkerRegistryOptions = {}): WorkerRegistry =>
  closeAfter(new WorkerRegistry(manager, options));

describe('across processes', () => {
  it('a supervisor sees a worker process join, and go stale within TTL + one cleanup interval after SIGKILL', async () => {
    const manager = await createManager();
    const ttlMs = 1_500;
    const cleanupIntervalMs = 300;
    const supervisor = await createRegistry({ heartbeatTtlMs: ttlMs, cleanupIntervalMs }, manager);
    const events: Array<RegistryEvent & { at: number }> = [];
    await supervisor.subscribe((event) => void events.push({ ...event, at: Date.now() }));
    const { child, lines } = fixture('worker-process', {
      url: sharedRedisUrl(),
      namespace: manager.namespace,
      id: 'w-child',
      ttlMs,
      intervalMs: 300,
    });
    await waitFor(() => lines.includes('registered'), { timeoutMs: 20_000, description: 'child registered' });
    await waitFor(() => events.some(({ type }) => type === 'joined'));
    const joined = events.find(({ type }) => type === 'joined');
    expect(joined?.worker).toMatchObject({ id: 'w-child', metadata: { pid: child.pid, capabilities: ['typescript'] } });
    expect((await supervisor.listActive({ capability: 'typescript' })).map(({ id }) => id)).toEqual(['w-child']);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waitFor(() => events.some(({ type }) => type === 'stale'), { timeoutMs: 10_000, description: 'stale event' });
    const stale = events.find(({ type }) => type === 'stale');
    expect(stale?.worker.incarnation).toBe(joined?.worker.incarnation);
    expect((stale?.at ?? 0) - killedAt).toBeLessThanOrEqual(ttlMs + cleanupIntervalMs + 500);
  }, 40_000);

  it('does not report a worker stale whose event loop blocks for 2 s (heartbeat 1 s, TTL 6 s)', async () => {
    const manager = await createManager();
    const supervisor = await createRegistry({ heartbeatTtlMs: 6_000, cleanupIntervalMs: 200 }, manager);
    const events: RegistryEvent[] = [];
    await supervisor.subscribe((event) => void events.push(event));
    const { lines } = fixture('worker-process', {
      url: sharedRedisUrl(),
      namespace: manager.namespace,
      id: 'w-busy',
      ttlMs: 6_000,
      intervalMs: 1_000,
      blockMs: 2_000,
    });
    await waitFor(() => lines.includes('unblocked'), { timeoutMs: 20_000, description: 'child blocked and came back' });
    // Two more heartbeats after the block, with the cleanup running all along.
    await heartbeats(supervisor, 'w-busy', 2);
    expect(events.map(({ type }) => type)).not.toContain('stale');
    expect(lines).not.toContain('reregistered');
    expect(await supervisor.get('w-busy')).toBeDefined();
  }, 40_000);
});

describe('comes back after data loss', () => {
  it('re-registers within two heartbeats after FLUSHALL, with its metadata, and says so', async () => {
    const server = await privateServer();
    const namespace = uniqueNamespace();
    const worker = registryOn(await serverManager({ url: server.url, namespace }), { heartbeatTtlMs: 3_000 });
    const supervisorManager = await serverManager({ url: server.url, namespace });
    const supervisor = registryOn(supervisorManager, { heartbeatTtlMs: 3_000 });
    const events: RegistryEvent[] = [];
    await supervisor.subscribe((event) => void events.push(event));
    const first = await worker.registerWorker('w1', { capabilities: ['go'] });
    const intervalMs = 200;
    worker.startHeartbeat('w1', { intervalMs });
    const reregistered = waitForEvent<[WorkerInfo]>(worker, 'reregistered', { timeoutMs: 5_000 });
    await supervisorManager.getConnection().flushall();
    const flushedAt = Date.now();
    const [info] = await reregistered;
    expect(Date.now() - flushedAt).toBeLessThanOrEqual(2 * intervalMs + 300);
    expect(info.metadata).toEqual({ capabilities: ['go'] });
    expect(info.incarnation).not.toBe(first.incarnation);
    await waitFor(() => events.some(({ type, reason }) => type === 'joined' && reason === 'recovered'));
    expect((await supervisor.get('w1'))?.metadata).toEqual({ capabilities: ['go'] });
  });

  it('re-registers after a Redis restart without persistence', async () => {
    const server = await privateServer();
    const manager = await serverManager({ url: server.url, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    const registry = registryOn(manager, { heartbeatTtlMs: 3_000 });
    // The heartbeats that fail while Redis is down land here.
    registry.on('error', () => {});
    await registry.registerWorker('w1', { role: 'reviewer' });
    registry.startHeartbeat('w1', { intervalMs: 200 });
    const reregistered = waitForEvent(registry, 'reregistered');
    await server.kill();
    await server.start();
    await reregistered;
    expect((await registry.get('w1'))?.metadata).toEqual({ role: 'reviewer' });
  });
});

describe('failures', () => {
  it('reports failures of automatic heartbeats and cleanup as error events while Redis is away', async () => {
    const server = await privateServer();
    const manager = await serverManager({
      url: server.url,
      offlineCommandTimeoutMs: 100,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    const registry = registryOn(manager, { heartbeatTtlMs: 5_000, cleanupIntervalMs: 50 });
    expect(registry.heartbeatTtlMs).toBe(5_000);
    const errors: Error[] = [];
    registry.on('error', (error) => errors.push(error));
    await registry.registerWorker('w1');
    registry.startHeartbeat('w1', { intervalMs: 50 });
    await server.kill();
    await waitFor(() => errors.length >= 2, { description: 'errors while Redis is down' });
    expect(errors.some((error) => (error as { code?: string }).code === 'OFFLINE_TIMEOUT')).toBe(true);
  });

  it('supports await using, and falls back to EVAL when Redis forgot the scripts', async () => {
    const server = await privateServer();
    const manager = await serverManager({ url: server.url });
    {
      await using registry = new WorkerRegistry(manager);
      await registry.registerWorker('w1');
      await manager.getConnection().script('FLUSH');
      await registry.heartbeat('w1');
      expect(await registry.get('w1')).toBeDefined();
      await manager.getConnection().set(`${manager.namespace}:workers:{${manager.namespace}}:alive`, 'not a zset');
      await expect(registry.get('w1')).rejects.toThrow(/WRONGTYPE/);
    }
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
  });
});

describe('timers', () => {
  it('never keep the process alive: a worker process exits after disconnecting without close()', async () => {
    const manager = await createManager();
    const { lines, exited } = fixture('exit-check', { url: sharedRedisUrl(), namespace: manager.namespace });
    // A timer that kept the process alive would make this wait run into the test's timeout.
    expect(await exited).toBe(0);
    expect(lines).toContain('disconnected');
  }, 30_000);
});
