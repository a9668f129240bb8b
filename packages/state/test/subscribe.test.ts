import { describe, expect, it } from 'vitest';
import { collect, waitFor, waitForEvent } from '@shim/testing';
import { RedisConnectionManager } from '@shim/connection';
import { StateManager, stateKeys, type StateChange } from '../src/index.js';
import { onCleanup, privateServer, sharedRedisUrl } from '@shim/testing/scope';
import { createManager, createState, fixture } from './helpers.js';

const summary = (change: StateChange): string =>
  `${change.key} ${change.type} v${change.version} ${JSON.stringify(change.value) ?? 'undefined'}`;

describe('subscribe', () => {
  it('reports every set, update, delete and expiry of a key with value and version, from other processes', async () => {
    const manager = await createManager();
    const state = await createState({ cleanupIntervalMs: 50 }, manager);
    const changes = collect<StateChange>(7);
    await state.subscribe('count', (change) => changes.push(change));
    const writer = fixture('writer', {
      url: sharedRedisUrl(),
      namespace: manager.namespace,
      ops: [
        { op: 'set', key: 'count', value: 1 },
        { op: 'update', key: 'count' },
        { op: 'increment', key: 'count' },
        { op: 'set', key: 'other', value: 'not watched' },
        { op: 'delete', key: 'count' },
        { op: 'merge', key: 'count', value: { a: 1 } },
        { op: 'set', key: 'count', value: null, ttlMs: 100 },
      ],
    });
    expect(await writer.exited).toBe(0);
    expect((await changes.done).map(summary)).toEqual([
      'count set v1 1',
      'count set v2 2',
      'count set v3 3',
      'count delete v3 undefined',
      'count set v1 {"a":1}',
      'count set v2 null',
      'count expire v2 undefined',
    ]);
    expect(changes.values[0]!.writer).toBe(`pid-${writer.child.pid}`);
    expect(changes.values[0]!.updatedAt).toBeGreaterThan(0);
  });

  it('a prefix subscription gets every key under the prefix (glob characters are literal), and only those', async () => {
    const state = await createState();
    const changes = collect<StateChange>(3);
    await state.subscribePrefix('files/*', (change) => changes.push(change));
    await state.set('files/x', 0);
    await state.set('files/*a', 1);
    await state.set('other', 2);
    await state.set('files/*b', 3);
    await state.delete('files/*a');
    expect((await changes.done).map(summary)).toEqual([
      'files/*a set v1 1',
      'files/*b set v1 3',
      'files/*a delete v1 undefined',
    ]);
  });

  it('stops after unsubscribe; two handlers on one key are independent; unsubscribe is idempotent', async () => {
    const state = await createState();
    const first: StateChange[] = [];
    const second = collect<StateChange>(2);
    const stopFirst = await state.subscribe('k', (change) => {
      first.push(change);
    });
    const stopSecond = await state.subscribe('k', (change) => second.push(change));
    await state.set('k', 1);
    await waitFor(() => first.length === 1);
    await stopFirst();
    await stopFirst();
    await state.set('k', 2);
    await second.done;
    expect(first.map(summary)).toEqual(['k set v1 1']);
    await stopSecond();
    const last = collect<StateChange>(1);
    await state.subscribe('k', (change) => last.push(change));
    await state.set('k', 3);
    expect((await last.done).map(summary)).toEqual(['k set v3 3']);
    const stopPrefix = await state.subscribePrefix('', () => {});
    await stopPrefix();
    await stopPrefix();
  });

  it('a handler that throws or rejects goes to error; other handlers still run', async () => {
    const state = await createState();
    const errors = collect<Error>(3);
    state.on('error', (error) => errors.push(error));
    const delivered = collect<StateChange>(1);
    await state.subscribe('k', () => {
      throw new Error('sync failure');
    });
    await state.subscribe('k', () => Promise.reject(new Error('async failure')));
    await state.subscribe('k', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a careless handler may do
      throw 'a string';
    });
    await state.subscribe('k', (change) => delivered.push(change));
    await state.set('k', 1);
    await delivered.done;
    await waitFor(() => errors.values.length === 3);
    expect(errors.values.map((error) => error.message).sort()).toEqual(['a string', 'async failure', 'sync failure']);
  });

  it('a malformed change message goes to error; without an error listener nothing crashes', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const handled: StateChange[] = [];
    await state.subscribe('k', (change) => {
      handled.push(change);
    });
    const channel = stateKeys(manager.namespace, 'default').channel('k');
    // No error listener: dropped without a crash. Messages on one channel arrive in order, so once
    // the valid change that follows it has arrived, the malformed one was handled.
    await manager.getConnection().publish(channel, 'no json');
    await state.set('k', 1);
    await waitFor(() => handled.length === 1);
    const errors = collect<Error>(2);
    state.on('error', (error) => errors.push(error));
    await manager.getConnection().publish(channel, 'no json');
    await manager.getConnection().publish(channel, '{"type":"weird","version":1}');
    expect((await errors.done).map((error) => (error as { code?: string }).code)).toEqual([
      'MALFORMED_DATA',
      'MALFORMED_DATA',
    ]);
    expect(handled.map((change) => change.value)).toEqual([1]);
    // A throwing error listener is contained too.
    state.removeAllListeners('error');
    state.on('error', () => {
      throw new Error('listener failure');
    });
    await manager.getConnection().publish(channel, 'no json');
    await state.set('k', 2);
    await waitFor(() => handled.length === 2);
    expect(handled[1]?.value).toBe(2);
  });

  it('a change arriving just after the last handler unsubscribed is dropped', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const calls: StateChange[] = [];
    const stop = await state.subscribe('k', (change) => {
      calls.push(change);
    });
    const stopping = stop();
    // Sent before the UNSUBSCRIBE: Redis delivers it, but no handler is left.
    await manager
      .getConnection()
      .publish(stateKeys(manager.namespace, 'default').channel('k'), '{"type":"set","version":1}');
    await stopping;
    await state.set('k', 1);
    expect(await state.get('k')).toBe(1);
    expect(calls).toEqual([]);
  });

  it('concurrent subscribe and unsubscribe of one key never leave a handler deaf', async () => {
    const state = await createState();
    for (let round = 0; round < 20; round += 1) {
      const stop = await state.subscribe('race', () => {});
      const got = collect<StateChange>(1);
      const [, stopSecond] = await Promise.all([stop(), state.subscribe('race', (change) => got.push(change))]);
      await state.set('race', round);
      await got.done;
      await stopSecond();
    }
  });

  it('after the subscriber reconnects, key handlers get the current state (resync) and resubscribed fires', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({
      url: server.url,
      namespace: 'resync',
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    onCleanup(() => manager.disconnect());
    await manager.connect();
    const state = new StateManager(manager, { cleanupIntervalMs: 0 });
    onCleanup(() => state.close());
    const changes: StateChange[] = [];
    await state.subscribe('plan', (change) => {
      changes.push(change);
    });
    await state.subscribe('absent', (change) => {
      changes.push(change);
    });
    const admin = server.client();
    onCleanup(async () => admin.quit());
    const resubscribed = waitForEvent(state, 'resubscribed');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await state.set('plan', 'written while the subscriber was away');
    await resubscribed;
    await waitFor(() => changes.filter((change) => change.resync).length === 2);
    const resynced = changes.filter((change) => change.resync);
    expect(resynced.map(summary).sort()).toEqual([
      'absent delete v0 undefined',
      'plan set v1 "written while the subscriber was away"',
    ]);
    // And live changes flow again.
    await state.set('plan', 'after');
    await waitFor(() => changes.some((change) => change.value === 'after' && !change.resync));
  });

  it('with resyncOnReconnect false only resubscribed fires', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({
      url: server.url,
      namespace: 'resync',
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    onCleanup(() => manager.disconnect());
    await manager.connect();
    const state = new StateManager(manager, { cleanupIntervalMs: 0, resyncOnReconnect: false });
    onCleanup(() => state.close());
    const changes: StateChange[] = [];
    await state.subscribe('plan', (change) => {
      changes.push(change);
    });
    const admin = server.client();
    onCleanup(async () => admin.quit());
    const resubscribed = waitForEvent(state, 'resubscribed');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await resubscribed;
    await state.set('plan', 1);
    await waitFor(() => changes.length === 1);
    expect(changes[0]!.resync).toBeUndefined();
  });

  it('close() releases the subscriber connection; later calls fail with STATE_CLOSED', async () => {
    const manager = await createManager();
    const state = new StateManager(manager);
    await state.subscribe('k', () => {});
    expect(manager.listConnections().map((ref) => ref.role)).toContain('subscriber');
    await state.close();
    await state.close();
    expect(manager.listConnections().map((ref) => ref.role)).toEqual(['command']);
    await expect(state.subscribe('k', () => {})).rejects.toMatchObject({ code: 'STATE_CLOSED' });
    await expect(state.get('k')).rejects.toMatchObject({ code: 'STATE_CLOSED' });
  });

  it('await using closes the manager', async () => {
    const manager = await createManager();
    {
      await using state = new StateManager(manager);
      await state.subscribe('k', () => {});
    }
    expect(manager.listConnections().map((ref) => ref.role)).toEqual(['command']);
  });
});
