import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { uniqueNamespace, waitFor } from '@shim/testing';
import { WorkerRegistry, type RegistryEvent, type WorkerInfo } from '../src/index.js';
import { createManager, createRegistry, privateServer, workerProcess } from './helpers.js';

describe('across processes', () => {
  it('a supervisor sees a worker process join, and go stale within TTL + one cleanup interval after SIGKILL', async () => {
    const manager = await createManager();
    const ttlMs = 1_500;
    const cleanupIntervalMs = 300;
    const supervisor = await createRegistry({ heartbeatTtlMs: ttlMs, cleanupIntervalMs }, manager);
    const events: Array<RegistryEvent & { at: number }> = [];
    await supervisor.subscribe((event) => void events.push({ ...event, at: Date.now() }));
    const { child, lines } = workerProcess({
      url: inject('redisUrl'),
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
    const { lines } = workerProcess({
      url: inject('redisUrl'),
      namespace: manager.namespace,
      id: 'w-busy',
      ttlMs: 6_000,
      intervalMs: 1_000,
      blockMs: 2_000,
    });
    await waitFor(() => lines.includes('unblocked'), { timeoutMs: 20_000, description: 'child blocked and came back' });
    // Two more heartbeats after the block, with the cleanup running all along.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(events.map(({ type }) => type)).not.toContain('stale');
    expect(lines).not.toContain('reregistered');
    expect(await supervisor.get('w-busy')).toBeDefined();
  }, 40_000);
});

describe('comes back after data loss', () => {
  it('re-registers within two heartbeats after FLUSHALL, with its metadata, and says so', async () => {
    const server = await privateServer();
    const namespace = uniqueNamespace();
    const workerManager = new RedisConnectionManager({ url: server.url, namespace });
    const supervisorManager = new RedisConnectionManager({ url: server.url, namespace });
    await workerManager.connect();
    await supervisorManager.connect();
    const worker = new WorkerRegistry(workerManager, { heartbeatTtlMs: 3_000 });
    const supervisor = new WorkerRegistry(supervisorManager, { heartbeatTtlMs: 3_000 });
    try {
      const reregistered: WorkerInfo[] = [];
      worker.on('reregistered', (info) => reregistered.push(info));
      const events: RegistryEvent[] = [];
      await supervisor.subscribe((event) => void events.push(event));
      const first = await worker.registerWorker('w1', { capabilities: ['go'] });
      const intervalMs = 200;
      worker.startHeartbeat('w1', { intervalMs });
      await supervisorManager.getConnection().flushall();
      const flushedAt = Date.now();
      await waitFor(() => reregistered.length === 1, { timeoutMs: 5_000, description: 'reregistered' });
      expect(Date.now() - flushedAt).toBeLessThanOrEqual(2 * intervalMs + 300);
      expect(reregistered[0]?.metadata).toEqual({ capabilities: ['go'] });
      expect(reregistered[0]?.incarnation).not.toBe(first.incarnation);
      await waitFor(() => events.some(({ type, reason }) => type === 'joined' && reason === 'recovered'));
      expect((await supervisor.get('w1'))?.metadata).toEqual({ capabilities: ['go'] });
    } finally {
      await worker.close();
      await supervisor.close();
      await workerManager.disconnect();
      await supervisorManager.disconnect();
    }
  });

  it('re-registers after a Redis restart without persistence', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({ url: server.url, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    await manager.connect();
    const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 3_000 });
    const errors: Error[] = [];
    registry.on('error', (error) => errors.push(error));
    try {
      const reregistered: WorkerInfo[] = [];
      registry.on('reregistered', (info) => reregistered.push(info));
      await registry.registerWorker('w1', { role: 'reviewer' });
      registry.startHeartbeat('w1', { intervalMs: 200 });
      await server.kill();
      await server.start();
      await waitFor(() => reregistered.length === 1, { timeoutMs: 10_000, description: 'reregistered after restart' });
      expect((await registry.get('w1'))?.metadata).toEqual({ role: 'reviewer' });
    } finally {
      await registry.close();
      await manager.disconnect();
    }
  });
});

describe('events', () => {
  it('routes a throwing handler and a malformed event to error, never crashing', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    const errors: Error[] = [];
    registry.on('error', (error) => errors.push(error));
    const received: RegistryEvent[] = [];
    const unsubscribeThrowing = await registry.subscribe(() => {
      throw new Error('handler bug');
    });
    await registry.subscribe(async () => Promise.reject(new Error('async handler bug')));
    await registry.subscribe((event) => void received.push(event));
    await registry.registerWorker('w1');
    await manager.getConnection().publish(`${manager.namespace}:workers:events`, 'not json');
    await waitFor(() => errors.length === 3);
    const messages = errors.map(({ message }) => message);
    expect(messages).toContain('handler bug');
    expect(messages).toContain('async handler bug');
    expect(messages.some((message) => message.startsWith('malformed registry event: not json'))).toBe(true);
    expect(received.map(({ type }) => type)).toEqual(['joined']);
    await unsubscribeThrowing();
  });

  it('stops automatic heartbeats with the returned function and on unregister', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 300 }, manager);
    await registry.registerWorker('w1');
    const stop = registry.startHeartbeat('w1', { intervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await registry.get('w1')).toBeDefined();
    stop();
    await waitFor(async () => (await registry.get('w1')) === undefined, { description: 'expired after stop' });
    await registry.registerWorker('w2');
    registry.startHeartbeat('w2', { intervalMs: 50 });
    await registry.unregister('w2');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await registry.get('w2')).toBeUndefined();
    expect(() => registry.startHeartbeat('unknown', { intervalMs: 50 })).toThrow(/not registered by this registry/);
  });
});

describe('more edges', () => {
  it('reports failures of automatic heartbeats and cleanup as error events while Redis is away', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({
      url: server.url,
      offlineCommandTimeoutMs: 100,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    await manager.connect();
    const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 5_000, cleanupIntervalMs: 50 });
    expect(registry.heartbeatTtlMs).toBe(5_000);
    const errors: Error[] = [];
    registry.on('error', (error) => errors.push(error));
    try {
      await registry.registerWorker('w1');
      registry.startHeartbeat('w1', { intervalMs: 50 });
      await server.kill();
      await waitFor(() => errors.length >= 2, { description: 'errors while Redis is down' });
      expect(errors.some((error) => (error as { code?: string }).code === 'OFFLINE_TIMEOUT')).toBe(true);
    } finally {
      await registry.close();
      await manager.disconnect();
    }
  });

  it('does not throw when nobody listens for error, and reports incomplete events', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    let calls = 0;
    await registry.subscribe(() => {
      calls += 1;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a handler throwing a non-Error is the case under test
      throw 'not an Error';
    });
    await registry.registerWorker('w1');
    // The 'joined' event (whose handler throws with nobody listening for error) has been handled.
    await waitFor(() => calls === 1);
    const errors: Error[] = [];
    registry.on('error', (error) => errors.push(error));
    await registry.setStatus('w1', 'busy');
    await manager
      .getConnection()
      .publish(
        `${manager.namespace}:workers:events`,
        JSON.stringify({ type: 'joined', worker: { id: 'x', status: 'sleeping' } }),
      );
    await waitFor(() => errors.length === 2);
    expect(errors.map(({ message }) => message)).toContain('not an Error');
    expect(errors.some(({ message }) => message.startsWith('malformed registry event'))).toBe(true);
  });

  it('subscribes again after a failed first subscribe and releases the connection with the last handler', async () => {
    const manager = new RedisConnectionManager({ url: inject('redisUrl'), namespace: uniqueNamespace() });
    const registry = new WorkerRegistry(manager);
    try {
      await expect(registry.subscribe(() => {})).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
      await manager.connect();
      const off = await registry.subscribe(() => {});
      expect(manager.listConnections().map(({ role }) => role)).toEqual(['command', 'subscriber']);
      await off();
      expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
    } finally {
      await registry.close();
      await manager.disconnect();
    }
  });

  it('supports await using, and falls back to EVAL when Redis forgot the scripts', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({ url: server.url });
    await manager.connect();
    try {
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
    } finally {
      await manager.disconnect();
    }
  });
});

describe('timers', () => {
  it('never keep the process alive: a worker process exits after disconnecting without close()', async () => {
    const manager = await createManager();
    const script = fileURLToPath(new URL('./fixtures/exit-check.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@shim/source',
        script,
        JSON.stringify({ url: inject('redisUrl'), namespace: manager.namespace }),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(-1);
      }, 20_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(output).toContain('disconnected');
    expect(code).toBe(0);
  }, 30_000);
});
