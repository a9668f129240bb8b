import { describe, expect, it } from 'vitest';
import { collect, uniqueNamespace, waitFor, waitForEvent } from '@shim/testing';
import { RedisConnectionManager } from '@shim/connection';
import { isStateError, LockError, StateManager, stateKeys } from '../src/index.js';
import { onCleanup, privateServer, sharedRedisUrl } from '@shim/testing/scope';
import { createClients, createManager, createState, fixture } from './helpers.js';

/** Tries to take `name` every 50 ms for `forMs` (Date.now()); resolves with how many tries did not find it held. */
async function pollsFindingItFree(state: StateManager, name: string, forMs: number): Promise<number> {
  const until = Date.now() + forMs;
  let free = 0;
  await waitFor(
    async () => {
      try {
        await (await state.lock(name, { waitMs: 0 })).release();
        free += 1;
      } catch (error) {
        if (!isStateError(error, 'LOCK_TIMEOUT')) free += 1;
      }
      return Date.now() >= until;
    },
    { intervalMs: 50, timeoutMs: forMs + 10_000 },
  );
  return free;
}

describe('withLock', () => {
  it('10 contenders on separate connections: never two inside at once, fencing tokens strictly increase', async () => {
    const clients = await createClients(10, uniqueNamespace());
    let inside = 0;
    let maxInside = 0;
    const tokens: number[] = [];
    const results = await Promise.all(
      clients.map((client, index) =>
        client.withLock(
          'file.ts',
          async ({ fencingToken }) => {
            inside += 1;
            maxInside = Math.max(maxInside, inside);
            tokens.push(fencingToken);
            // Work that takes Redis round trips, so the other contenders' attempts run meanwhile.
            for (let n = 0; n < 3; n += 1) await client.has('work');
            inside -= 1;
            return index;
          },
          { ttlMs: 5_000, waitMs: 15_000 },
        ),
      ),
    );
    expect(maxInside).toBe(1);
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(tokens).toHaveLength(10);
    for (let n = 1; n < tokens.length; n += 1) expect(tokens[n]).toBeGreaterThan(tokens[n - 1]!);
  });

  it('releases when fn throws, and rethrows its error', async () => {
    const state = await createState();
    const failure = new Error('fn failed');
    await expect(
      state.withLock('x', () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await state.withLock('x', () => 'free again', { waitMs: 0 })).toBe('free again');
  });

  it('times out with LOCK_TIMEOUT while someone else holds the lock, without calling fn', async () => {
    const manager = await createManager();
    const holder = await createState({}, manager);
    const waiter = await createState({}, manager);
    const lock = await holder.lock('busy', { ttlMs: 10_000 });
    let called = false;
    const started = Date.now();
    const error: unknown = await waiter
      .withLock(
        'busy',
        () => {
          called = true;
        },
        { waitMs: 200 },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockError);
    expect(isStateError(error, 'LOCK_TIMEOUT')).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(called).toBe(false);
    await expect(waiter.lock('busy', { waitMs: 0 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', key: 'busy' });
    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(true);
    // A lock key without expiry (written by hand): waiters still give up at their deadline.
    await waiter.close();
    const keys = stateKeys(manager.namespace, 'default');
    await manager.getConnection().set(keys.lock('forever'), 'someone');
    await expect(holder.lock('forever', { waitMs: 50 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
  });

  it('renews the lock while fn works past its TTL', async () => {
    const manager = await createManager();
    const holder = await createState({}, manager);
    const other = await createState({}, manager);
    const result = await holder.withLock(
      'long',
      async ({ signal }) => {
        // Three TTLs of work: without renewal the lock would have expired twice.
        expect(await pollsFindingItFree(other, 'long', 1_800)).toBe(0);
        return signal.aborted;
      },
      { ttlMs: 600 },
    );
    expect(result).toBe(false);
  });

  it('a lost lock aborts the signal, emits lockLost and makes withLock fail with LOCK_LOST', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const lost = waitForEvent<[{ name: string; fencingToken: number }]>(state, 'lockLost');
    const error: unknown = await state
      .withLock(
        'stolen',
        async ({ signal, fencingToken }) => {
          // Someone deletes the lock behind the holder's back: the next renewal finds it gone.
          await manager.getConnection().del(stateKeys(manager.namespace, 'default').lock('stolen'));
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          expect(signal.reason).toMatchObject({ code: 'LOCK_LOST' });
          return fencingToken;
        },
        { ttlMs: 60 },
      )
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'LockError', code: 'LOCK_LOST', key: 'stolen' });
    expect((await lost)[0]).toMatchObject({ name: 'stolen', fencingToken: 1 });
  });

  it('a release that fails (Redis gone) leaves the lock to its TTL: withLock returns what fn returned and reports the failure', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const errors = collect<Error>(1);
    state.on('error', (error) => errors.push(error));
    const result = await state.withLock('gone', async () => {
      await manager.disconnect();
      return 'done';
    });
    expect(result).toBe('done');
    expect((await errors.done)[0]).toMatchObject({ code: 'MANAGER_CLOSED' });
  });

  it('refuses a fn that is not a function', async () => {
    const state = await createState();
    await expect(state.withLock('x', 'nope' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('lock', () => {
  it('expires after its holder process is killed; the next holder gets a larger fencing token', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const holder = fixture('lock-holder', {
      url: sharedRedisUrl(),
      namespace: manager.namespace,
      name: 'crashy',
      ttlMs: 500,
    });
    await waitFor(() => holder.lines.find((line) => line.startsWith('locked ')), { timeoutMs: 15_000 });
    const token = Number(holder.lines[0]!.split(' ')[1]);
    // Alive and renewing: held well past its TTL.
    expect(await pollsFindingItFree(state, 'crashy', 700)).toBe(0);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const killedAt = Date.now();
    const lock = await state.lock('crashy', { waitMs: 5_000 });
    expect(Date.now() - killedAt).toBeLessThan(500 + 1_000);
    expect(lock.fencingToken).toBeGreaterThan(token);
    expect(await lock.release()).toBe(true);
  });

  it('a stale holder cannot release (or renew) a lock it lost to someone else', async () => {
    const manager = await createManager();
    const first = await createState({}, manager);
    const second = await createState({}, manager);
    const stale = await first.lock('shared', { ttlMs: 100 });
    // The holder stalls (its renewals never reach Redis): simulated by removing the lock by hand
    // (an expiry of 1 ms could still be renewed by a renewal already queued behind it).
    await manager.getConnection().del(stateKeys(manager.namespace, 'default').lock('shared'));
    const fresh = await second.lock('shared', { ttlMs: 10_000, waitMs: 2_000 });
    expect(fresh.fencingToken).toBe(stale.fencingToken + 1);
    expect(await stale.release()).toBe(false);
    // The new holder still holds it.
    await expect(first.lock('shared', { waitMs: 0 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    expect(await fresh.release()).toBe(true);
  });

  it('renewal errors (Redis gone) lose the lock once a whole TTL passed without renewal', async () => {
    const server = await privateServer();
    // Renewals wait longer than their interval while offline: they must not stack up.
    const manager = new RedisConnectionManager({ url: server.url, namespace: 'locks', offlineCommandTimeoutMs: 400 });
    onCleanup(() => manager.disconnect());
    await manager.connect();
    const state = new StateManager(manager, { cleanupIntervalMs: 0 });
    onCleanup(() => state.close());
    const errors: Error[] = [];
    state.on('error', (error) => errors.push(error));
    const lock = await state.lock('fragile', { ttlMs: 150 });
    let lostEvents = 0;
    state.on('lockLost', () => (lostEvents += 1));
    const lost = waitForEvent(state, 'lockLost');
    const killedAt = Date.now();
    await server.kill();
    await lost;
    expect(lostEvents).toBe(1);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(100);
    expect(lock.signal.aborted).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a lock acquired while the manager closes is released at once', async () => {
    const manager = await createManager();
    const state = new StateManager(manager);
    const other = await createState({}, manager);
    const acquiring = state.lock('late');
    const closing = state.close();
    await expect(acquiring).rejects.toMatchObject({ code: 'STATE_CLOSED' });
    await closing;
    await (await other.lock('late', { waitMs: 0 })).release();
  });

  it('renewal after the connection manager was disconnected reports errors, never crashes, and loses the lock', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const errors: Error[] = [];
    state.on('error', (error) => errors.push(error));
    const lock = await state.lock('orphan', { ttlMs: 90 });
    const lost = waitForEvent(state, 'lockLost');
    await manager.disconnect();
    await lost;
    expect(lock.signal.aborted).toBe(true);
    expect(errors[0]).toMatchObject({ code: 'MANAGER_CLOSED' });
  });

  it('close() releases held locks', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const other = await createState({}, manager);
    const lock = await state.lock('held');
    await state.close();
    const next = await other.lock('held', { waitMs: 0 });
    expect(next.fencingToken).toBe(lock.fencingToken + 1);
    await next.release();
  });

  it('keeps one fences hash per scope and no lock key after release', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const lock = await state.lock('a');
    await lock.release();
    const keys = stateKeys(manager.namespace, 'default');
    expect(await manager.getConnection().exists(keys.lock('a'))).toBe(0);
    expect(await manager.getConnection().hget(keys.fences, 'a')).toBe('1');
  });
});
