import { describe, expect, it, vi } from 'vitest';
import { collect, countNamespaceKeys, waitFor } from '@shim/testing';
import { stateKeys, type StateChange } from '../src/index.js';
import { redisNow } from '@shim/testing/scope';
import { createManager, createState } from './helpers.js';

describe('TTL', () => {
  it('a read after the TTL returns absent even while Redis still holds the hash, and reports the expiry', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    const changes = collect<StateChange>(2);
    await state.subscribe('short', (change) => changes.push(change));
    const before = await redisNow(manager.getConnection());
    await state.set('short', 'soon gone', { ttlMs: 1_000 });
    const entry = await state.getEntry('short');
    expect(entry).toMatchObject({ value: 'soon gone' });
    expect(entry!.expiresAt).toBeGreaterThanOrEqual(before + 1_000);
    const keys = stateKeys(manager.namespace, 'default');
    const redis = manager.getConnection();
    await waitFor(async () => (await redisNow(manager.getConnection())) > entry!.expiresAt!);
    // Redis has not dropped it (the hash lives on for a grace period): the read decides by expiresAt.
    expect(await redis.exists(keys.entry('short'))).toBe(1);
    expect(await state.get('short')).toBeUndefined();
    expect(await state.has('short')).toBe(false);
    expect(await state.keys()).toEqual([]);
    const [set, expired] = await changes.done;
    expect(set).toMatchObject({ type: 'set', version: 1 });
    expect(expired).toMatchObject({ key: 'short', type: 'expire', version: 1, value: undefined });
    expect(await countNamespaceKeys(redis, manager.namespace)).toBe(0);
  });

  it('lists skip expired entries before any cleanup', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    await state.set('a', 1, { ttlMs: 50 });
    await state.set('b', 2);
    await waitFor(async () => (await state.keys()).length === 1);
    expect(await state.keys()).toEqual(['b']);
  });

  it('never sends a negative expiry: the hash PEXPIRE is always in the future, also for 1 ms TTLs', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    const redis = manager.getConnection();
    const keys = stateKeys(manager.namespace, 'default');
    await state.set('tiny', 1, { ttlMs: 1 });
    expect(await redis.pttl(keys.entry('tiny'))).toBeGreaterThan(55_000);
    await state.increment('tiny', 1, { ttlMs: 1 });
    expect(await redis.pttl(keys.entry('tiny'))).toBeGreaterThan(55_000);
  });

  it('a write without ttlMs removes a TTL; increment and merge keep it', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    const redis = manager.getConnection();
    const keys = stateKeys(manager.namespace, 'default');
    await state.set('k', 1, { ttlMs: 60_000 });
    await state.increment('k');
    expect((await state.getEntry('k'))?.expiresAt).toBeDefined();
    await state.set('o', {}, { ttlMs: 60_000 });
    await state.merge('o', { a: 1 });
    expect((await state.getEntry('o'))?.expiresAt).toBeDefined();
    await state.set('k', 3);
    expect((await state.getEntry('k'))?.expiresAt).toBeUndefined();
    expect(await redis.pttl(keys.entry('k'))).toBe(-1);
    expect(await redis.zscore(keys.expiries, 'k')).toBeNull();
    await state.increment('n', 1, { ttlMs: 60_000 });
    await state.merge('m', { a: 1 }, { ttlMs: 60_000 });
    expect((await state.getEntry('n'))?.expiresAt).toBeDefined();
    expect((await state.getEntry('m'))?.expiresAt).toBeDefined();
  });

  it('writing over an expired entry reports the expiry first and starts again at version 1', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    const changes = collect<StateChange>(4);
    await state.subscribe('k', (change) => changes.push(change));
    // Long enough that the second write surely lands before the first expires, even on a loaded machine.
    await state.set('k', 'old', { ttlMs: 1_000 });
    await state.set('k', 'old2', { ttlMs: 1_000 });
    const expiresAt = (await state.getEntry('k'))!.expiresAt!;
    await waitFor(async () => (await redisNow(manager.getConnection())) > expiresAt);
    expect(await state.set('k', 'new', { ifVersion: 0 })).toMatchObject({ version: 1 });
    expect((await changes.done).map(({ type, version }) => `${type}:${version}`)).toEqual([
      'set:1',
      'set:2',
      'expire:2',
      'set:1',
    ]);
  });
});

describe('cleanup', () => {
  it('the automatic cleanup removes expired entries within one interval and reports them, without keyspace events', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 100 }, manager);
    const watcher = await createState({ cleanupIntervalMs: 0 }, manager);
    const expired = collect<StateChange>(3);
    await watcher.subscribePrefix('job/', (change) => {
      if (change.type === 'expire') expired.push(change);
    });
    const started = Date.now();
    for (const key of ['job/a', 'job/b', 'job/c']) await state.set(key, key, { ttlMs: 200 });
    await state.set('job/keep', 'kept');
    const changes = await expired.done;
    expect(changes.map((change) => change.key).sort()).toEqual(['job/a', 'job/b', 'job/c']);
    expect(changes.every((change) => change.version === 1 && change.value === undefined)).toBe(true);
    // TTL + one interval, with room for a busy machine.
    expect(Date.now() - started).toBeLessThan(200 + 100 + 1_500);
    await waitFor(async () => (await countNamespaceKeys(manager.getConnection(), manager.namespace)) === 2);
    expect(await state.keys()).toEqual(['job/keep']);
  });

  it('cleanup({ maxIdleMs }) removes entries not updated for that long, keeps fresh ones, leaves no key', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    await state.set('old-1', 1);
    await state.set('old-2', 2, { ttlMs: 600_000 });
    const cutoff = await redisNow(manager.getConnection());
    await waitFor(async () => (await redisNow(manager.getConnection())) >= cutoff + 600);
    await state.set('fresh', 3);
    expect((await state.cleanup({ maxIdleMs: 500 })).sort()).toEqual(['old-1', 'old-2']);
    expect(await state.keys()).toEqual(['fresh']);
    expect(await state.cleanup({ maxIdleMs: 500 })).toEqual([]);
    await state.delete('fresh');
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('the automatic cleanup applies maxIdleMs', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 50, maxIdleMs: 100 }, manager);
    await state.set('idle', 1);
    await waitFor(
      async () => !(await manager.getConnection().exists(stateKeys(manager.namespace, 'default').entry('idle'))),
    );
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('forgets index members whose hash Redis already dropped, reporting the expiry once with version 0', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    const redis = manager.getConnection();
    const keys = stateKeys(manager.namespace, 'default');
    const changes = collect<StateChange>(2);
    await state.subscribe('dropped', (change) => changes.push(change));
    await state.set('dropped', 1, { ttlMs: 20 });
    await redis.del(keys.entry('dropped'));
    await waitFor(async () => (await state.cleanup()).length === 1);
    expect((await changes.done)[1]).toMatchObject({ type: 'expire', version: 0 });
    expect(await countNamespaceKeys(redis, manager.namespace)).toBe(0);
    // A member that lost its hash while not expired is forgotten by the idle sweep.
    await state.set('orphan', 1);
    await redis.del(keys.entry('orphan'));
    expect(await state.keys()).toEqual([]);
    await waitFor(async () => (await state.cleanup({ maxIdleMs: 1 })).length === 1);
    expect(await countNamespaceKeys(redis, manager.namespace)).toBe(0);
  });

  it('keeps an entry whose TTL was extended after it was found due', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 0 }, manager);
    const redis = manager.getConnection();
    const keys = stateKeys(manager.namespace, 'default');
    await state.set('k', 1, { ttlMs: 60_000 });
    // As if a cleanup had listed it: an expiries score in the past, the entry itself not expired.
    await redis.zadd(keys.expiries, 1, 'k');
    expect(await state.cleanup()).toEqual([]);
    expect(await state.get('k')).toBe(1);
    // An expiries member for an entry without TTL is dropped.
    await state.set('k', 2);
    await redis.zadd(keys.expiries, 1, 'k');
    expect(await state.cleanup()).toEqual([]);
    expect(await redis.zscore(keys.expiries, 'k')).toBeNull();
  });

  it('cleans hundreds of expired entries in batches, one cleanup at a time, and skips while disconnected', async () => {
    const manager = await createManager();
    const redis = manager.getConnection();
    const keys = stateKeys(manager.namespace, 'default');
    const pipeline = redis.pipeline();
    // Written by hand for speed, in the layout the scripts use, already expired.
    for (let n = 0; n < 1_100; n += 1) {
      const key = `old:${n}`;
      pipeline.hset(
        keys.entry(key),
        'value',
        '1',
        'version',
        '1',
        'updatedAt',
        '1',
        'timestamp',
        '1',
        'expiresAt',
        '2',
      );
      pipeline.zadd(keys.index, 1, key);
      pipeline.zadd(keys.expiries, 2, key);
    }
    await pipeline.exec();
    const state = await createState({ cleanupIntervalMs: 1 }, manager);
    const errors: Error[] = [];
    state.on('error', (error) => errors.push(error));
    await waitFor(async () => (await countNamespaceKeys(redis, manager.namespace)) === 0, { timeoutMs: 15_000 });
    const other = await createManager();
    await manager.disconnect();
    // Each tick of the 1 ms cleanup timer reads the manager's state first: wait for a few of them.
    const ticks = vi.spyOn(manager, 'state', 'get');
    await waitFor(() => ticks.mock.calls.length >= 5);
    expect(errors).toEqual([]);
    expect(await countNamespaceKeys(other.getConnection(), manager.namespace)).toBe(0);
  });

  it('reports a failing automatic cleanup on error', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 20 }, manager);
    const errors = collect<Error>(1);
    state.on('error', (error) => errors.push(error));
    const redis = manager.getConnection();
    const keys = stateKeys(manager.namespace, 'default');
    // A wrong type under the expiries key makes the sweep fail.
    await redis.set(keys.expiries, 'not a zset');
    expect((await errors.done)[0]!.message).toMatch(/WRONGTYPE/);
    await redis.del(keys.expiries);
  });
});
