import { describe, expect, it, vi } from 'vitest';
import { countNamespaceKeys, deleteNamespace, waitFor } from '@shim/testing';
import { redisNow } from '@shim/testing/scope';
import { registryKeys, type WorkerInfo, type WorkerRegistry } from '../src/index.js';
import { createManager, createRegistry } from './helpers.js';

// listActive() keeps a copy of what changes rarely (incarnation, registeredAt, status, metadata)
// and reads only the workers changed since its previous call. These tests hold it to the same
// answers as a registry that has no copy, across connections.

type Manager = Awaited<ReturnType<typeof createManager>>;

/** Two processes' worth of registries on one namespace: each on its own connection. */
async function twoProcesses(ttlMs = 60_000): Promise<{
  manager: Manager;
  writer: WorkerRegistry;
  reader: WorkerRegistry;
  /** Round trips (EVALSHA/EVAL) the reader has made so far. */
  readerCalls: () => number;
  /** A list from a registry created just now (no copy): the answer every cached list must give. */
  truth: () => Promise<WorkerInfo[]>;
}> {
  const manager = await createManager();
  const writer = await createRegistry({ heartbeatTtlMs: ttlMs }, manager);
  const readerManager = await createManager({ namespace: manager.namespace });
  const reader = await createRegistry({ heartbeatTtlMs: ttlMs }, readerManager);
  const connection = readerManager.getConnection();
  const evalsha = vi.spyOn(connection, 'evalsha');
  const evalScript = vi.spyOn(connection, 'eval');
  const readerCalls = (): number => evalsha.mock.calls.length + evalScript.mock.calls.length;
  const truth = async (): Promise<WorkerInfo[]> => {
    const freshManager = await createManager({ namespace: manager.namespace });
    return (await createRegistry({ heartbeatTtlMs: ttlMs }, freshManager)).listActive();
  };
  return { manager, writer, reader, readerCalls, truth };
}

describe('listActive() copy of the slow-changing data', () => {
  it('sees every change made through another connection in its next call', async () => {
    const { writer, reader, truth } = await twoProcesses();
    await writer.registerWorker('a', { capabilities: ['ts'], n: 1 });
    await writer.registerWorker('b', { capabilities: ['go'] });
    expect(await reader.listActive()).toEqual(await truth());

    const steps: Array<[string, () => Promise<unknown>]> = [
      ['register', () => writer.registerWorker('c', { capabilities: ['ts'] })],
      ['heartbeat with a status', () => writer.heartbeat('a', { status: 'busy' })],
      ['heartbeat with a metadata patch', () => writer.heartbeat('b', { metadata: { capabilities: ['go', 'ts'] } })],
      ['heartbeat removing a key', () => writer.heartbeat('a', { removeMetadataKeys: ['n'] })],
      ['setStatus', () => writer.setStatus('c', 'offline')],
      ['plain heartbeat', () => writer.heartbeat('b')],
      ['unregister', () => writer.unregister('a')],
      ['register again under the same id', () => writer.registerWorker('a', { capabilities: ['rust'] })],
      ['replace a live registration', () => writer.registerWorker('b', { replaced: true }, { replace: true })],
    ];
    for (const [step, change] of steps) {
      await change();
      const expected = await truth();
      expect(await reader.listActive(), step).toEqual(expected);
      expect(await reader.listActive({ capability: 'ts' }), step).toEqual(
        expected.filter(({ metadata }) => (metadata['capabilities'] as string[] | undefined)?.includes('ts')),
      );
      expect(await reader.listActive({ status: 'idle' }), step).toEqual(
        expected.filter(({ status }) => status === 'idle'),
      );
    }
    expect((await reader.listActive()).map(({ id, status, metadata }) => ({ id, status, metadata }))).toEqual([
      { id: 'c', status: 'offline', metadata: { capabilities: ['ts'] } },
      { id: 'a', status: 'idle', metadata: { capabilities: ['rust'] } },
      { id: 'b', status: 'idle', metadata: { replaced: true } },
    ]);
  });

  it('leaves out a worker past its TTL at once, and shows one registered again after reaping', async () => {
    const { writer, reader, truth } = await twoProcesses(1_000);
    await writer.registerWorker('a', { v: 1 });
    await writer.registerWorker('b', { v: 1 });
    const ids = async (): Promise<string[]> => (await reader.listActive()).map(({ id }) => id);
    expect(await ids()).toEqual(['a', 'b']);
    // b heartbeats every 100 ms, a does not: a goes past its TTL (nobody reaps it) while b stays.
    // No change was numbered, only time passed; the reader's next call must leave a out.
    await waitFor(
      async () => {
        await writer.heartbeat('b');
        return (await writer.get('a')) === undefined;
      },
      { intervalMs: 100, description: 'a past its TTL' },
    );
    expect(await ids()).toEqual(['b']);
    await waitFor(async () => (await ids()).length === 0, { intervalMs: 100, description: 'b past its TTL too' });
    expect(await writer.detectStale()).toHaveLength(2);
    expect(await reader.listActive()).toEqual([]);
    await writer.registerWorker('a', { v: 2 });
    expect(await reader.listActive()).toEqual(await truth());
    expect((await reader.listActive())[0]?.metadata).toEqual({ v: 2 });
  });

  it('reads only the workers changed since its previous call; plain heartbeats change nothing but the time', async () => {
    const { manager, writer, reader, readerCalls } = await twoProcesses();
    const keys = registryKeys(manager.namespace);
    const redis = manager.getConnection();
    await writer.registerWorker('a', { v: 1 });
    await writer.registerWorker('b', { v: 1 });
    const first = await reader.listActive();
    const version = await redis.hgetall(keys.version);
    expect(version['seq']).toBe('2');
    expect(await redis.zrange(keys.changes, '0', '-1', 'WITHSCORES')).toEqual(['a', '1', 'b', '2']);

    await waitFor(async () => (await redisNow(redis)) > (first[0]?.lastHeartbeat ?? Infinity));
    await writer.heartbeat('a');
    expect(await redis.hgetall(keys.version)).toEqual(version);
    const afterBeat = await reader.listActive();
    expect(afterBeat.find(({ id }) => id === 'a')?.lastHeartbeat).toBeGreaterThan(first[0]?.lastHeartbeat ?? Infinity);

    // Change b's stored info behind the registry's back, without a sequence number: the reader
    // keeps its copy (it did not read b again), which is how we know it reads only what changed.
    const storedB = (await redis.hget(keys.info, 'b')) ?? '';
    await redis.hset(keys.info, 'b', storedB.replace('"v":1', '"v":99'));
    expect((await reader.listActive()).find(({ id }) => id === 'b')?.metadata).toEqual({ v: 1 });
    // A numbered change to a reads a, and only a.
    await writer.setStatus('a', 'busy');
    const listed = await reader.listActive();
    expect(listed.find(({ id }) => id === 'a')?.status).toBe('busy');
    expect(listed.find(({ id }) => id === 'b')?.metadata).toEqual({ v: 1 });
    // Any numbered change to b brings it in whole.
    await writer.heartbeat('b', { status: 'busy' });
    expect((await reader.listActive()).find(({ id }) => id === 'b')).toMatchObject({
      status: 'busy',
      metadata: { v: 99 },
    });
    // One round trip per call.
    expect(readerCalls()).toBe(5);
  });

  it('hands out a fresh copy each call: changing a result changes no later one', async () => {
    const registry = await createRegistry();
    await registry.registerWorker('a', { capabilities: ['ts'], nested: { k: [1] } });
    const [first] = await registry.listActive();
    (first?.metadata['nested'] as { k: number[] }).k.push(2);
    (first?.metadata['capabilities'] as string[]).length = 0;
    if (first !== undefined) first.status = 'busy';
    const [second] = await registry.listActive({ capability: 'ts' });
    expect(second).toMatchObject({ status: 'idle', metadata: { capabilities: ['ts'], nested: { k: [1] } } });
  });

  it('never takes a copy for current after data loss, even once the numbers have caught up again', async () => {
    const { manager, writer, reader, truth } = await twoProcesses();
    await writer.registerWorker('a', { before: true });
    await writer.setStatus('a', 'busy');
    expect((await reader.listActive())[0]).toMatchObject({ status: 'busy', metadata: { before: true } });
    // Everything gone (as after FLUSHALL), then as many changes as before: seq is 2 again.
    await deleteNamespace(manager.getConnection(), manager.namespace);
    const fresh = await createRegistry({ heartbeatTtlMs: 60_000 }, manager);
    await fresh.registerWorker('a', { after: true });
    await fresh.heartbeat('a', { metadata: { after: 'yes' } });
    expect(await reader.listActive()).toEqual(await truth());
    expect((await reader.listActive())[0]).toMatchObject({ status: 'idle', metadata: { after: 'yes' } });
  });

  it('reads everything again when an alive id is missing from its copy (a writer that does not number its changes)', async () => {
    const { manager, writer, reader, truth } = await twoProcesses();
    const keys = registryKeys(manager.namespace);
    const redis = manager.getConnection();
    await writer.registerWorker('a', { v: 1 });
    expect(await reader.listActive()).toHaveLength(1);
    // What a registry of an earlier version would write: no sequence number, no entry in changes.
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const info = JSON.stringify({ id: 'old', incarnation: 'i-old', metadata: { v: 'old' }, registeredAt: now });
    await redis
      .multi()
      .hset(keys.info, 'old', info)
      .hset(keys.status, 'old', 'busy')
      .hset(keys.incarnation, 'old', 'i-old')
      .zadd(keys.alive, now, 'old')
      .exec();
    expect(await reader.listActive()).toEqual(await truth());
    expect((await reader.listActive()).map(({ id }) => id)).toEqual(['a', 'old']);
  });

  it('keeps no copy of data written without an epoch, and reads it whole each time', async () => {
    const manager = await createManager();
    const keys = registryKeys(manager.namespace);
    const redis = manager.getConnection();
    const reader = await createRegistry({ heartbeatTtlMs: 60_000 }, manager);
    const [seconds] = await redis.time();
    const now = Number(seconds) * 1000;
    const info = JSON.stringify({ id: 'old', incarnation: 'i-old', metadata: { v: 1 }, registeredAt: now });
    await redis
      .multi()
      .hset(keys.info, 'old', info)
      .hset(keys.status, 'old', 'idle')
      .zadd(keys.alive, now, 'old')
      .exec();
    expect((await reader.listActive())[0]).toMatchObject({ id: 'old', status: 'idle', metadata: { v: 1 } });
    await redis.hset(keys.status, 'old', 'busy');
    expect((await reader.listActive())[0]).toMatchObject({ id: 'old', status: 'busy' });
  });

  it('agrees with a registry without a copy while many workers change, concurrent calls included', async () => {
    const { manager, writer, reader, readerCalls, truth } = await twoProcesses();
    for (let n = 0; n < 50; n += 1) await writer.registerWorker(`w${n}`, { n, capabilities: [n % 2 ? 'odd' : 'even'] });
    expect(await reader.listActive()).toEqual(await truth());
    for (let round = 0; round < 5; round += 1) {
      const changes: Array<Promise<unknown>> = [];
      for (let n = round; n < 50; n += 7) {
        changes.push(
          n % 3 === 0 ? writer.unregister(`w${n}`) : writer.heartbeat(`w${n}`, { status: 'busy', metadata: { round } }),
        );
      }
      const lists = Promise.all([reader.listActive(), reader.listActive({ capability: 'odd' })]);
      await Promise.all(changes);
      await lists;
      expect(await reader.listActive(), `round ${round}`).toEqual(await truth());
    }
    // Most workers gone (w49 stays, so the epoch does): the copy forgets them, and one coming back
    // is read again.
    for (let n = 0; n < 49; n += 1) await writer.unregister(`w${n}`);
    await writer.registerWorker('w1', { back: true });
    const before = readerCalls();
    expect(await reader.listActive()).toEqual(await truth());
    // One round trip, and the copy still holds w1 (it forgot only the workers gone): a change
    // behind its back stays unseen.
    const keys = registryKeys(manager.namespace);
    const stored = (await manager.getConnection().hget(keys.info, 'w1')) ?? '';
    await manager.getConnection().hset(keys.info, 'w1', stored.replace('"back":true', '"back":false'));
    expect((await reader.listActive()).find(({ id }) => id === 'w1')?.metadata).toEqual({ back: true });
    expect(readerCalls() - before).toBe(2);
    await writer.heartbeat('w1', { metadata: { back: 'again' } });
    expect(await reader.listActive()).toEqual(await truth());
    await writer.registerWorker('w2', { back: true });
    expect(await reader.listActive()).toEqual(await truth());
    await writer.unregister('w1');
    await writer.unregister('w2');
    await writer.unregister('w49');
    expect(await reader.listActive()).toEqual([]);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });
});
