import { describe, expect, it, vi } from 'vitest';
import { countNamespaceKeys, waitFor } from '@shim/testing';
import { redisNow } from '@shim/testing/scope';
import { WorkerRegistry, isWorkerRegistryError, registryKeys, type RegistryEvent } from '../src/index.js';
import { createManager, createRegistry, heartbeats } from './helpers.js';

describe('register, get, list', () => {
  it('stores metadata with status idle, a fresh incarnation and Redis-clock times', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    const before = await redisNow(manager.getConnection());
    const worker = await registry.registerWorker('w1', {
      capabilities: ['typescript', 'python'],
      model: 'x',
      nested: { a: [1, null] },
    });
    const after = await redisNow(manager.getConnection());
    expect(worker).toMatchObject({
      id: 'w1',
      status: 'idle',
      metadata: { capabilities: ['typescript', 'python'], model: 'x', nested: { a: [1, null] } },
    });
    expect(worker.incarnation).toMatch(/^[0-9a-f-]{36}$/);
    expect(worker.registeredAt).toBeGreaterThanOrEqual(before);
    expect(worker.registeredAt).toBeLessThanOrEqual(after);
    expect(worker.lastHeartbeat).toBe(worker.registeredAt);
    expect(await registry.get('w1')).toEqual(worker);
    expect(await registry.listActive()).toEqual([worker]);
    expect(await registry.get('nobody')).toBeUndefined();
  });

  it('refuses to register an id that is alive, unless replacing; the replaced incarnation is refused', async () => {
    const manager = await createManager();
    const first = await createRegistry({}, manager);
    const second = await createRegistry({}, manager);
    const original = await first.registerWorker('w1', { n: 1 });
    await expect(second.registerWorker('w1', { n: 2 })).rejects.toMatchObject({
      code: 'ALREADY_REGISTERED',
      workerId: 'w1',
    });
    expect((await first.get('w1'))?.metadata).toEqual({ n: 1 });
    const replacement = await second.registerWorker('w1', { n: 2 }, { replace: true });
    expect(replacement.incarnation).not.toBe(original.incarnation);
    await expect(first.heartbeat('w1')).rejects.toMatchObject({ code: 'REPLACED' });
    // The replaced incarnation can neither change nor remove its successor.
    await expect(first.setStatus('w1', 'offline')).rejects.toMatchObject({ code: 'REPLACED' });
    await first.unregister('w1');
    expect((await second.get('w1'))?.status).toBe('idle');
    await second.heartbeat('w1');
    expect((await second.get('w1'))?.metadata).toEqual({ n: 2 });
  });

  it('lets an id whose registration went stale register again', async () => {
    const manager = await createManager();
    const first = await createRegistry({ heartbeatTtlMs: 150 }, manager);
    const second = await createRegistry({ heartbeatTtlMs: 150 }, manager);
    await first.registerWorker('w1');
    await waitFor(async () => (await first.get('w1')) === undefined, { description: 'w1 expired' });
    const again = await second.registerWorker('w1', { back: true });
    expect(again.metadata).toEqual({ back: true });
  });

  it('lists only workers alive within the TTL, whatever their status, filtered by status and capability', async () => {
    const manager = await createManager();
    // Long enough for the listings below to run inside it on a loaded machine.
    const registry = await createRegistry({ heartbeatTtlMs: 2_000 }, manager);
    await registry.registerWorker('ts', { capabilities: ['typescript'] });
    await registry.registerWorker('py', { capabilities: ['python'] });
    await registry.registerWorker('none', {});
    await registry.setStatus('py', 'busy');
    await registry.setStatus('none', 'offline');
    const ids = async (filter = {}): Promise<string[]> =>
      (await registry.listActive(filter)).map(({ id }) => id).sort();
    expect(await ids()).toEqual(['none', 'py', 'ts']);
    expect(await ids({ status: 'busy' })).toEqual(['py']);
    expect(await ids({ status: 'offline' })).toEqual(['none']);
    expect(await ids({ capability: 'typescript' })).toEqual(['ts']);
    expect(await ids({ capability: 'typescript', status: 'busy' })).toEqual([]);
    await waitFor(async () => (await ids()).length === 0, { description: 'all expired' });
    await expect(registry.listActive({ status: 'sleepy' as never })).rejects.toMatchObject({ code: 'INVALID_STATUS' });
  });
});

describe('heartbeat', () => {
  it('refreshes liveness and carries a status change and a metadata patch', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 1_000 }, manager);
    const first = await registry.registerWorker('w1', { a: 1, b: 2 });
    const redis = manager.getConnection();
    await waitFor(async () => (await redisNow(redis)) > first.lastHeartbeat, { description: "Redis' clock moved" });
    await registry.heartbeat('w1', { status: 'busy', metadata: { b: 3, c: [4] }, removeMetadataKeys: ['a'] });
    const after = await registry.get('w1');
    expect(after?.status).toBe('busy');
    expect(after?.metadata).toEqual({ b: 3, c: [4] });
    expect(after?.lastHeartbeat).toBeGreaterThan(first.lastHeartbeat);
    expect(after?.registeredAt).toBe(first.registeredAt);
    // Kept alive past several TTLs by heartbeats alone (one every 200 ms: well inside the TTL).
    await waitFor(
      async () => {
        await registry.heartbeat('w1');
        return (await redisNow(redis)) > first.registeredAt + 2_500;
      },
      { intervalMs: 200, description: '2.5 TTLs of heartbeats' },
    );
    expect(await registry.get('w1')).toBeDefined();
  });

  it('fails with NOT_REGISTERED for unknown, expired (not yet reaped), reaped and foreign ids', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 150 }, manager);
    await expect(registry.heartbeat('ghost')).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
    await registry.registerWorker('w1');
    await waitFor(async () => (await registry.get('w1')) === undefined, { description: 'w1 past its TTL' });
    // Past its TTL but nobody cleaned it up: its work may already be elsewhere.
    expect(
      await manager.getConnection().zscore(`${manager.namespace}:workers:{${manager.namespace}}:alive`, 'w1'),
    ).not.toBeNull();
    const error = await registry.heartbeat('w1').catch((e: unknown) => e);
    expect(isWorkerRegistryError(error, 'NOT_REGISTERED')).toBe(true);
    expect((error as Error).message).toMatch(/register it again/);
    await registry.registerWorker('w2');
    await waitFor(async () => (await registry.detectStale()).some(({ id }) => id === 'w2'), {
      description: 'w2 reaped',
    });
    await expect(registry.heartbeat('w2')).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
    await expect(registry.setStatus('w2', 'busy')).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
  });
});

describe('automatic heartbeat', () => {
  it('stops with the returned function and on unregister', async () => {
    const registry = await createRegistry({ heartbeatTtlMs: 300 });
    const registered = await registry.registerWorker('w1');
    const stop = registry.startHeartbeat('w1', { intervalMs: 50 });
    // Kept alive past its TTL by the automatic heartbeat alone.
    await waitFor(async () => ((await registry.get('w1'))?.lastHeartbeat ?? 0) > registered.registeredAt + 300, {
      description: 'w1 alive past its first TTL',
    });
    stop();
    await waitFor(async () => (await registry.get('w1')) === undefined, { description: 'expired after stop' });
    await registry.registerWorker('w2');
    registry.startHeartbeat('w2', { intervalMs: 50 });
    await registry.unregister('w2');
    // Two heartbeats of another worker on the same interval: w2's timer, had it survived, fired too.
    await registry.registerWorker('clock');
    registry.startHeartbeat('clock', { intervalMs: 50 });
    await heartbeats(registry, 'clock', 2);
    expect(await registry.get('w2')).toBeUndefined();
    expect(() => registry.startHeartbeat('unknown', { intervalMs: 50 })).toThrow(/not registered by this registry/);
  });

  it('a stop() from before the worker was registered again does not stop a later automatic heartbeat', async () => {
    const registry = await createRegistry({ heartbeatTtlMs: 300 });
    await registry.registerWorker('w1');
    const stopFirst = registry.startHeartbeat('w1', { intervalMs: 50 });
    const again = await registry.registerWorker('w1', { n: 2 }, { replace: true });
    registry.startHeartbeat('w1', { intervalMs: 50 });
    stopFirst();
    await waitFor(async () => ((await registry.get('w1'))?.lastHeartbeat ?? 0) > again.registeredAt + 300, {
      description: 'w1 kept alive past its TTL by the second automatic heartbeat',
    });
  });
});

describe('status', () => {
  it('is visible to another process at once, with a status event', async () => {
    const manager = await createManager();
    const otherManager = await createManager({ namespace: manager.namespace });
    const worker = await createRegistry({}, manager);
    const supervisor = await createRegistry({}, otherManager);
    const events: RegistryEvent[] = [];
    await supervisor.subscribe((event) => void events.push(event));
    await worker.registerWorker('w1');
    for (const status of ['busy', 'offline', 'idle'] as const) {
      await worker.setStatus('w1', status);
      expect((await supervisor.get('w1'))?.status).toBe(status);
    }
    // A supervisor, which never registered w1, may set its status too.
    await supervisor.setStatus('w1', 'idle');
    await waitFor(() => events.length === 4);
    expect(events.map(({ type, worker: w }) => `${type}:${w.status}`)).toEqual([
      'joined:idle',
      'status:busy',
      'status:offline',
      'status:idle',
    ]);
    await expect(worker.setStatus('w1', 'asleep' as never)).rejects.toMatchObject({ code: 'INVALID_STATUS' });
    await expect(worker.heartbeat('w1', { status: 'offline' as never })).rejects.toMatchObject({
      code: 'INVALID_STATUS',
    });
  });
});

describe('stale detection and cleanup', () => {
  it('reaps workers past the TTL, publishes stale and leaves no key behind', async () => {
    const manager = await createManager();
    // Wide margins: 'young' must still be well inside its TTL on a loaded machine.
    const registry = await createRegistry({ heartbeatTtlMs: 1_000 }, manager);
    const events: RegistryEvent[] = [];
    await registry.subscribe((event) => void events.push(event));
    await registry.registerWorker('old', { x: 1 });
    await registry.registerWorker('young');
    // 'young' heartbeats every 100 ms until 'old' is past its TTL.
    await waitFor(
      async () => {
        await registry.heartbeat('young');
        return (await registry.get('old')) === undefined;
      },
      { intervalMs: 100, description: "'old' past its TTL" },
    );
    const reaped = await registry.detectStale();
    expect(reaped.map(({ id }) => id)).toEqual(['old']);
    expect(reaped[0]?.metadata).toEqual({ x: 1 });
    expect(await registry.detectStale()).toEqual([]);
    await waitFor(() => events.some(({ type }) => type === 'stale'));
    expect(events.find(({ type }) => type === 'stale')?.worker.id).toBe('old');
    await registry.unregister('young');
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('never loses a live worker nor resurrects a reaped one while heartbeats race the cleanup', async () => {
    const manager = await createManager();
    // A TTL far above the heartbeat gap, so only a real race (not a slow machine) could reap 'live'.
    const worker = await createRegistry({ heartbeatTtlMs: 1_000 }, manager);
    const cleaner = await createRegistry(
      { heartbeatTtlMs: 1_000 },
      await createManager({ namespace: manager.namespace }),
    );
    await worker.registerWorker('live');
    await worker.registerWorker('dying');
    const until = Date.now() + 2_000;
    let reapedLive = false;
    const cleaning = (async () => {
      while (Date.now() < until) {
        for (const reaped of await cleaner.detectStale()) if (reaped.id === 'live') reapedLive = true;
      }
    })();
    while (Date.now() < until) {
      await worker.heartbeat('live');
      // Paces the heartbeats (a load, not a wait for a condition): about 30 a second.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await cleaning;
    expect(reapedLive).toBe(false);
    expect(await worker.get('live')).toBeDefined();
    expect(await worker.get('dying')).toBeUndefined();
    await expect(worker.heartbeat('dying')).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
    expect(await worker.get('dying')).toBeUndefined();
  });

  it('cleans up automatically on cleanupIntervalMs', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 100, cleanupIntervalMs: 50 }, manager);
    const events: RegistryEvent[] = [];
    await registry.subscribe((event) => void events.push(event));
    await registry.registerWorker('w1');
    await waitFor(() => events.some(({ type }) => type === 'stale'), { description: 'automatic stale' });
    expect(
      await manager.getConnection().hexists(`${manager.namespace}:workers:{${manager.namespace}}:info`, 'w1'),
    ).toBe(0);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });
});

describe('server time', () => {
  it('agrees on who is alive when the two registries disagree by an hour', async () => {
    const manager = await createManager();
    const local = await createRegistry({ heartbeatTtlMs: 5_000 }, manager);
    const skewed = await createRegistry(
      { heartbeatTtlMs: 5_000 },
      await createManager({ namespace: manager.namespace }),
    );
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000);
      const worker = await skewed.registerWorker('w1');
      expect(Math.abs(worker.registeredAt - (Date.now() - 3_600_000))).toBeLessThan(5_000);
      await skewed.heartbeat('w1');
      expect(await skewed.get('w1')).toBeDefined();
      expect(await skewed.detectStale()).toEqual([]);
      // Now the lister runs an hour ahead of the clock the worker registered with: a client-clock
      // judgement would call the worker an hour dead.
      vi.setSystemTime(Date.now() + 3_600_000);
      expect((await local.listActive()).map(({ id }) => id)).toEqual(['w1']);
      expect(await local.get('w1')).toBeDefined();
      expect(await local.detectStale()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('unregister, namespaces and close', () => {
  it('unregister removes the worker and its keys, publishes left, and is idempotent', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    const events: RegistryEvent[] = [];
    await registry.subscribe((event) => void events.push(event));
    await registry.registerWorker('w1', { a: 1 });
    await registry.unregister('w1');
    await registry.unregister('w1');
    await registry.unregister('never-there');
    expect(await registry.get('w1')).toBeUndefined();
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
    await waitFor(() => events.length === 2);
    expect(events.map(({ type }) => type)).toEqual(['joined', 'left']);
    await expect(registry.heartbeat('w1')).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
  });

  it('keeps two namespaces on one Redis apart', async () => {
    const a = await createRegistry();
    const b = await createRegistry();
    const eventsB: RegistryEvent[] = [];
    await b.subscribe((event) => void eventsB.push(event));
    await a.registerWorker('same-id');
    await b.registerWorker('other');
    expect((await a.listActive()).map(({ id }) => id)).toEqual(['same-id']);
    expect((await b.listActive()).map(({ id }) => id)).toEqual(['other']);
    // 'same-id' was published before 'other': had it reached b, it would have come first.
    await waitFor(() => eventsB.length === 1);
    expect(eventsB.map(({ worker }) => worker.id)).toEqual(['other']);
  });

  it('close() stops automatic heartbeats and event delivery, and is final', async () => {
    const manager = await createManager();
    const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 300 });
    await registry.registerWorker('w1');
    registry.startHeartbeat('w1', { intervalMs: 50 });
    await registry.subscribe(() => {});
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command', 'subscriber']);
    const closing = registry.close();
    expect(registry.close()).toBe(closing);
    await closing;
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
    await expect(registry.heartbeat('w1')).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
    const observer = await createRegistry({ heartbeatTtlMs: 300 }, manager);
    await waitFor(async () => (await observer.get('w1')) === undefined, { description: 'heartbeats stopped' });
  });
});

describe('metadata edge cases', () => {
  it('never turns a __proto__ metadata key into a prototype', async () => {
    const registry = await createRegistry();
    const metadata = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
    await registry.registerWorker('w1', metadata);
    const worker = await registry.get('w1');
    expect(worker?.metadata).toEqual({ ok: 1 });
    expect(Object.getPrototypeOf(worker?.metadata)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(worker?.metadata, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await registry.listActive())[0]?.metadata).toEqual({ ok: 1 });
  });

  it('drops a __proto__ metadata key that another writer stored with \\u escapes', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    await registry.registerWorker('w1', { ok: 1 });
    const { info } = registryKeys(manager.namespace);
    const stored = (await manager.getConnection().hget(info, 'w1'))!;
    const tampered = stored.replace('"metadata":{', '"metadata":{"\\u005f_proto__":{"polluted":true},');
    expect(tampered).not.toBe(stored);
    await manager.getConnection().hset(info, 'w1', tampered);
    const worker = await registry.get('w1');
    expect(Object.hasOwn(worker!.metadata, '__proto__')).toBe(false);
    expect(worker?.metadata).toEqual({ ok: 1 });
  });

  it('removes metadata keys with a heartbeat that sets none', async () => {
    const registry = await createRegistry();
    await registry.registerWorker('w1', { a: 1, b: 2 });
    await registry.heartbeat('w1', { removeMetadataKeys: ['a'] });
    expect((await registry.get('w1'))?.metadata).toEqual({ b: 2 });
    expect(isWorkerRegistryError(new Error('plain'))).toBe(false);
    expect(isWorkerRegistryError(Object.assign(new Error('x'), { name: 'WorkerRegistryError' }))).toBe(false);
  });
});

describe('incarnations and recovery (review follow-ups)', () => {
  it('publishes joined with reason replaced, and a replaced automatic heartbeat stops for good', async () => {
    const manager = await createManager();
    const first = await createRegistry({ heartbeatTtlMs: 400 }, manager);
    const second = await createRegistry({ heartbeatTtlMs: 400 }, await createManager({ namespace: manager.namespace }));
    const events: RegistryEvent[] = [];
    await second.subscribe((event) => void events.push(event));
    const replaced: string[] = [];
    first.on('replaced', (id) => replaced.push(id));
    await first.registerWorker('w1', { owner: 'first' });
    first.startHeartbeat('w1', { intervalMs: 50 });
    await second.registerWorker('w1', { owner: 'second' }, { replace: true });
    await waitFor(() => replaced.length === 1, { description: 'first told it was replaced' });
    expect(replaced).toEqual(['w1']);
    await waitFor(() => events.some(({ type, reason }) => type === 'joined' && reason === 'replaced'));
    // Once the successor expires, the replaced instance must not take the id back: two heartbeats
    // of another worker on the same registry (same interval) show its timers had time to fire.
    await waitFor(async () => (await second.get('w1')) === undefined, { description: 'second expired' });
    await first.registerWorker('clock');
    first.startHeartbeat('clock', { intervalMs: 50 });
    await heartbeats(first, 'clock', 2);
    expect(await second.get('w1')).toBeUndefined();
    expect(events.filter(({ type, worker }) => type === 'joined' && worker.id === 'w1')).toHaveLength(2);
  });

  it('reports an expired registration that a new one overwrites as stale first', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 150 }, manager);
    const events: RegistryEvent[] = [];
    await registry.subscribe((event) => void events.push(event));
    const old = await registry.registerWorker('w1');
    await waitFor(async () => (await registry.get('w1')) === undefined);
    const fresh = await registry.registerWorker('w1');
    await waitFor(() => events.length === 3);
    expect(events.map(({ type, worker }) => `${type}:${worker.incarnation}`)).toEqual([
      `joined:${old.incarnation}`,
      `stale:${old.incarnation}`,
      `joined:${fresh.incarnation}`,
    ]);
  });

  it('brings a busy worker back busy after data loss, and merges concurrent metadata patches', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 2_000 }, manager);
    await registry.registerWorker('w1', { a: 1 });
    await Promise.all([
      registry.heartbeat('w1', { status: 'busy', metadata: { p: 1 } }),
      registry.heartbeat('w1', { metadata: { q: 2 } }),
    ]);
    expect((await registry.get('w1'))?.metadata).toEqual({ a: 1, p: 1, q: 2 });
    const back = new Promise((resolve) => registry.once('reregistered', resolve));
    registry.startHeartbeat('w1', { intervalMs: 50 });
    const base = `${manager.namespace}:workers:{${manager.namespace}}`;
    await manager.getConnection().del(`${base}:alive`, `${base}:info`, `${base}:status`, `${base}:incarnation`);
    await back;
    expect(await registry.get('w1')).toMatchObject({ status: 'busy', metadata: { a: 1, p: 1, q: 2 } });
  });

  it('lists thousands of workers across the script chunks, skipping one whose data was deleted by hand', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 60_000 }, manager);
    const redis = manager.getConnection();
    for (let n = 0; n < 2_503; n += 1) await registry.registerWorker(`w${n}`, { n });
    await redis.hdel(`${manager.namespace}:workers:{${manager.namespace}}:info`, 'w1500');
    const workers = await registry.listActive();
    expect(workers).toHaveLength(2_502);
    expect(workers.find(({ id }) => id === 'w1500')).toBeUndefined();
    expect(workers.find(({ id }) => id === 'w2502')?.metadata).toEqual({ n: 2_502 });
    expect(new Set(workers.map(({ id }) => id)).size).toBe(2_502);
  }, 60_000);

  it('reaps more stale workers than one batch, and a stop() from a replaced timer does nothing', async () => {
    const manager = await createManager();
    const registry = await createRegistry({ heartbeatTtlMs: 1_000 }, manager);
    for (let n = 0; n < 501; n += 1) await registry.registerWorker(`w${n}`);
    await registry.registerWorker('kept');
    const stopFirst = registry.startHeartbeat('kept', { intervalMs: 50 });
    registry.startHeartbeat('kept', { intervalMs: 50 });
    stopFirst();
    await waitFor(async () => (await registry.listActive()).length === 1, {
      intervalMs: 100,
      description: 'all but kept past their TTL',
    });
    const reaped = await registry.detectStale();
    expect(reaped).toHaveLength(501);
    expect((await registry.listActive()).map(({ id }) => id)).toEqual(['kept']);
  });
});
