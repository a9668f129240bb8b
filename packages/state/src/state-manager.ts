import { EventEmitter } from 'node:events';
import type { RedisConnectionManager } from '@shim/connection';
import { emitSafely, isConnectionManagerLike, toError } from '@shim/connection/kit';
import { ChangeFeed } from './change-feed.js';
import { StateError } from './errors.js';
import type { ChangeHandler, StateManagerEvents, Unsubscribe } from './events.js';
import { v } from './internal/validate.js';
import { assertKey, assertPrefix, stateKeys } from './keys.js';
import { Locks } from './locks.js';
import { resolveStateOptions, type StateManagerOptions } from './options.js';
import { Store } from './store.js';
import type {
  AtomicUpdateOptions,
  CleanupOptions,
  DeleteOptions,
  IncrementOptions,
  KeyedStateEntry,
  Lock,
  LockContext,
  LockOptions,
  ServerUpdateOptions,
  SetOptions,
  SetResult,
  StateContext,
  StateEntry,
} from './types.js';

/**
 * Shared state in Redis: JSON values with versions, atomic updates without lost writes, change
 * subscriptions across processes, TTLs, and distributed locks with fencing tokens. Every write is
 * one Lua script that checks, writes and PUBLISHes its change atomically, on Redis' clock.
 *
 * @example
 * ```ts
 * const state = new StateManager(manager, { scope: 'job-42', writer: 'worker-1' });
 * await state.set('plan', { steps: ['read', 'edit', 'test'] });
 * await state.atomicUpdate<number>('done', (n) => (n ?? 0) + 1);
 * await state.withLock('src/app.ts', async ({ fencingToken }) => edit(fencingToken));
 * ```
 */
export class StateManager extends EventEmitter<StateManagerEvents> {
  readonly #context: StateContext;
  readonly #store: Store;
  readonly #feed: ChangeFeed;
  readonly #locks: Locks;
  #closing: Promise<void> | undefined;

  /** Validates `options` at once (throws `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, options: StateManagerOptions = {}) {
    super();
    if (!isConnectionManagerLike(connection)) {
      v.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
    }
    const resolved = resolveStateOptions(options);
    this.#context = {
      manager: connection,
      options: resolved,
      keys: stateKeys(connection.namespace, resolved.scope),
      redis: () => connection.getConnection(),
      assertOpen: () => {
        if (this.#closing !== undefined) throw new StateError('STATE_CLOSED', 'the state manager was closed');
      },
      emit: (event, ...args) => {
        emitSafely(this, event, ...args);
      },
      reportError: (error) => {
        emitSafely(this, 'error', toError(error));
      },
    };
    this.#store = new Store(this.#context);
    this.#feed = new ChangeFeed(this.#context, (key) => this.#store.getEntry(key));
    this.#locks = new Locks(this.#context);
  }

  /** The scope this manager reads and writes. */
  get scope(): string {
    return this.#context.options.scope;
  }

  /** The value of `key`, or `undefined` when absent or expired. `null` is a value like any other. */
  get<TValue = unknown>(key: string): Promise<TValue | undefined> {
    return this.#store.get<TValue>(key);
  }

  /** True when `key` has a value (not expired). */
  async has(key: string): Promise<boolean> {
    return (await this.#store.getEntry(key)) !== undefined;
  }

  /**
   * The entry of `key` with its version, time of write and writer, or `undefined` when absent or
   * expired. One HMGET; entries with a TTL take a second round trip (a script that compares the
   * expiry with Redis' clock and reports an expired entry).
   */
  getEntry<TValue = unknown>(key: string): Promise<StateEntry<TValue> | undefined> {
    return this.#store.getEntry<TValue>(key);
  }

  /**
   * Stores `value` (plain JSON data, `null` included) as the next version of `key` and publishes
   * the change. See {@link SetOptions} for TTL, compare-and-set and timestamps.
   * @throws StateConflictError when `ifVersion` does not match; nothing was written.
   */
  set(key: string, value: unknown, options: SetOptions = {}): Promise<SetResult> {
    return this.#store.set(key, value, options);
  }

  /**
   * Removes `key` and publishes a `delete` change. Resolves true when there was a value to remove
   * (false when absent, expired, or kept because it carries a newer `timestamp`).
   */
  delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    return this.#store.delete(key, options);
  }

  /**
   * Reads `key`, calls `updater(current)` (`undefined` when absent) and writes its result only if
   * nobody wrote in between (a version check inside a Lua script: safe on a shared connection).
   * On a conflict it retries with the fresh value after a jittered backoff, up to `maxAttempts`,
   * then throws a `StateConflictError`. An updater that throws writes nothing and its error is
   * thrown as it is. The updater may run several times: keep it free of side effects.
   */
  atomicUpdate<TValue>(
    key: string,
    updater: (current: TValue | undefined) => TValue | Promise<TValue>,
    options: AtomicUpdateOptions = {},
  ): Promise<{ value: TValue; version: number }> {
    return this.#store.atomicUpdate(key, updater, options);
  }

  /**
   * Adds `by` (a safe integer, default 1) to an integer value, or with `field` to an integer
   * field of an object value, entirely inside Redis (one round trip, no retries). An absent
   * entry or field counts as 0. Resolves with the new number and the entry's version.
   * @throws StateError `TYPE_MISMATCH` when the value (or field) is not an integer, or the result would not be a safe integer.
   */
  increment(key: string, by = 1, options: IncrementOptions = {}): Promise<{ value: number; version: number }> {
    return this.#store.increment(key, by, options);
  }

  /**
   * Sets the top-level keys of `patch` in an object value (created as `{}` when absent), entirely
   * inside Redis: concurrent merges of different keys all land. A key set to `undefined` is
   * removed. Other keys keep their exact JSON. Resolves with the merged object and its version.
   * @throws StateError `TYPE_MISMATCH` when the value is not an object.
   */
  merge<TValue extends object = Record<string, unknown>>(
    key: string,
    patch: Record<string, unknown>,
    options: ServerUpdateOptions = {},
  ): Promise<{ value: TValue; version: number }> {
    return this.#store.merge<TValue>(key, patch, options);
  }

  /**
   * Every key under `prefix` (all keys for `''`) that has a live value, sorted. Uses the scope's
   * index with ZSCAN (never KEYS), so it stays safe on a big Redis.
   */
  async keys(prefix = ''): Promise<string[]> {
    return (await this.#store.list(prefix, false)).map((entry) => entry.key);
  }

  /** Every live entry under `prefix` (all for `''`), sorted by key. See {@link StateManager.keys}. */
  async entries<TValue = unknown>(prefix = ''): Promise<Array<KeyedStateEntry<TValue>>> {
    return (await this.#store.list(prefix, true)) as Array<KeyedStateEntry<TValue>>;
  }

  /**
   * Removes every entry past its TTL and, with `maxIdleMs`, every entry not updated for longer
   * than that (by Redis' clock), each with an `expire` change; each removal is rechecked inside a
   * script, so a write that got in first keeps its entry. Runs by itself every `cleanupIntervalMs`.
   * Resolves with the removed keys.
   */
  cleanup(options: CleanupOptions = {}): Promise<string[]> {
    return this.#store.cleanup(options);
  }

  /**
   * Calls `handler(change)` for every change of `key` (set, update, delete, expiry) made by any
   * process, from the moment the returned promise resolves. Returns the unsubscribe function.
   * Changes are Pub/Sub messages: at-most-once (see the README); after a reconnect the handler
   * gets the current state as a `resync` change.
   */
  async subscribe<TValue = unknown>(key: string, handler: ChangeHandler<TValue>): Promise<Unsubscribe> {
    this.#context.assertOpen();
    return this.#feed.add({ key: assertKey(key) }, handler as ChangeHandler);
  }

  /** Like {@link StateManager.subscribe}, for every key that starts with `prefix` (`''`: every key of the scope). No resync. */
  async subscribePrefix<TValue = unknown>(prefix: string, handler: ChangeHandler<TValue>): Promise<Unsubscribe> {
    this.#context.assertOpen();
    return this.#feed.add({ prefix: assertPrefix(prefix) }, handler as ChangeHandler);
  }

  /**
   * Waits for the lock `name` (up to `waitMs`), then holds it, renewing it every third of its
   * TTL until `release()`. A holder whose process dies loses it after `ttlMs`.
   * @throws LockError `LOCK_TIMEOUT` when it stays held by someone else for `waitMs`.
   */
  lock(name: string, options: LockOptions = {}): Promise<Lock> {
    return this.#locks.lock(name, options);
  }

  /**
   * Runs `fn({ fencingToken, signal })` holding the lock `name` (waiting up to `waitMs` for it),
   * releases it when `fn` settles and returns what `fn` returned.
   * @throws LockError `LOCK_TIMEOUT` when not acquired in time (fn is not called); `LOCK_LOST`
   *   when the lock was lost while `fn` ran (its `signal` was aborted) — `fn`'s own error wins.
   */
  withLock<TResult>(
    name: string,
    fn: (lock: LockContext) => TResult | Promise<TResult>,
    options: LockOptions = {},
  ): Promise<TResult> {
    return this.#locks.withLock(name, fn, options);
  }

  /**
   * Stops the cleanup timer, releases the locks this manager holds (best effort), drops every
   * subscription (the manager's subscriber connection closes when nothing else uses it). Entries
   * stay; the manager stays connected. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#store.close();
      await this.#locks.close();
      await this.#feed.close();
    })();
    return this.#closing;
  }

  /** Same as {@link StateManager.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
