import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RedisConnectionManager } from '@shim/connection';
import {
  emitSafely,
  isConnectionManagerLike,
  runLuaScript,
  subscriptionHub,
  toError,
  type HubUnsubscribe,
  type LuaScript,
} from '@shim/connection/kit';
import type { Redis } from 'ioredis';
import { LockError, StateConflictError, StateError } from './errors.js';
import type { ChangeHandler, ChangeType, StateChange, StateManagerEvents, Unsubscribe } from './events.js';
import { ignore } from './internal/ignore.js';
import { encodeValue, parseJson, v } from './internal/validate.js';
import { ACQUIRE, DELETE, DUE, EXPIRE, GET, INCREMENT, MERGE, RELEASE, RENEW, SET } from './internal/scripts.js';
import { assertKey, assertPrefix, escapeGlob, stateKeys, type StateKeys } from './keys.js';
import {
  integerOption,
  resolveStateOptions,
  writerOption,
  type ResolvedStateOptions,
  type StateManagerOptions,
} from './options.js';

/** An entry as stored: its value and what the store knows about it. Times are Redis' clock, in ms since epoch. */
export interface StateEntry<TValue = unknown> {
  value: TValue;
  /** Increases with every write; 1 for a new entry (also after a delete or expiry). */
  version: number;
  /** Time of the last write. */
  updatedAt: number;
  /** Who wrote last, when that write named a writer. */
  writer?: string | undefined;
  /** When the entry expires, when it has a TTL. */
  expiresAt?: number | undefined;
}

/** An entry with its key, as {@link StateManager.entries} lists it. */
export interface KeyedStateEntry<TValue = unknown> extends StateEntry<TValue> {
  key: string;
}

/** Options of {@link StateManager.set}. */
export interface SetOptions {
  /** The entry expires this long after the write (by Redis' clock). Without it, a previous TTL is removed. Unit: ms. */
  ttlMs?: number | undefined;
  /** Write only if the entry is at this version (0: only if absent); else a `StateConflictError` and nothing changes. */
  ifVersion?: number | undefined;
  /**
   * The write's own time (e.g. a change replayed after an offline period): it is skipped
   * (`applied: false`) when the entry carries a newer one. Without it the write always applies,
   * in Redis' arrival order. Unit: ms since epoch.
   */
  timestamp?: number | undefined;
  /** Stored as the entry's writer for this write. @defaultValue the manager's `writer` option */
  writer?: string | undefined;
}

/** Result of {@link StateManager.set}. */
export interface SetResult {
  /** The entry's version after the call (the current one when not applied). */
  version: number;
  /** False when a newer `timestamp` kept the entry as it was. */
  applied: boolean;
  /** Time of the write by Redis' clock (of the current entry when not applied). Unit: ms since epoch. */
  updatedAt: number;
}

/** Options of {@link StateManager.atomicUpdate}. */
export interface AtomicUpdateOptions {
  /** Give the entry this TTL. Without it an existing TTL is kept. Unit: ms. */
  ttlMs?: number | undefined;
  /** Attempts before a `StateConflictError`. @defaultValue the manager's `maxAttempts` */
  maxAttempts?: number | undefined;
  /** @defaultValue the manager's `writer` option */
  writer?: string | undefined;
}

/** Options of {@link StateManager.increment} and {@link StateManager.merge}. */
export interface ServerUpdateOptions {
  /** Give the entry this TTL. Without it an existing TTL is kept. Unit: ms. */
  ttlMs?: number | undefined;
  /** @defaultValue the manager's `writer` option */
  writer?: string | undefined;
}

/** Options of {@link StateManager.increment}. */
export interface IncrementOptions extends ServerUpdateOptions {
  /** Increment this top-level field of an object value (created at 0) instead of a number value. */
  field?: string | undefined;
}

/** Options of {@link StateManager.delete}. */
export interface DeleteOptions {
  /** Like {@link SetOptions.timestamp}: the delete is skipped when the entry carries a newer one. Unit: ms since epoch. */
  timestamp?: number | undefined;
}

/** Options of {@link StateManager.cleanup}. */
export interface CleanupOptions {
  /** Also remove entries not updated for longer than this. Unit: ms. @defaultValue the manager's `maxIdleMs` (off) */
  maxIdleMs?: number | undefined;
}

/** Options of {@link StateManager.lock} and {@link StateManager.withLock}. */
export interface LockOptions {
  /** The lock expires this long after its last renewal; the holder renews it every third of it. Unit: ms. @defaultValue the manager's `lockTtlMs` (30_000) */
  ttlMs?: number | undefined;
  /** Wait this long for a held lock, then fail with `LOCK_TIMEOUT`; 0 tries once. Unit: ms. @defaultValue the manager's `lockWaitMs` (10_000) */
  waitMs?: number | undefined;
}

/** What the holder of a lock gets. */
export interface LockContext {
  /** Larger than every token handed out before for this lock name in this scope: pass it to the resource you protect. */
  fencingToken: number;
  /** Aborted when the lock is lost (renewal refused or failing for longer than the TTL): stop working. */
  signal: AbortSignal;
}

/** A held lock ({@link StateManager.lock}). It renews itself until released. */
export interface Lock extends LockContext {
  readonly name: string;
  /** Releases the lock if this holder still owns it: true; false when it had already been lost. Idempotent. */
  release(): Promise<boolean>;
}

/** This manager's handlers of one channel or pattern: one listener on the subscription hub. */
interface Feed {
  /** The key of a channel feed; undefined for a prefix (pattern) feed. */
  readonly key: string | undefined;
  readonly handlers: Set<ChangeHandler>;
  /** Resolves once Redis confirmed the subscription. */
  readonly ready: Promise<HubUnsubscribe>;
}

interface HeldLock {
  readonly name: string;
  readonly key: string;
  readonly owner: string;
  readonly ttlMs: number;
  readonly fencingToken: number;
  readonly controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  renewing: boolean;
  lastRenewedAt: number;
  releasing: Promise<boolean> | undefined;
}

const CHANGE_TYPES: ReadonlySet<string> = new Set(['set', 'delete', 'expire']);
const CLEANUP_BATCH = 500;
const CLEANUP_MAX_BATCHES = 20;
const LIST_BATCH = 500;
const LOCK_MAX_DELAY_MS = 100;

/** The value of one pipeline reply, or its error thrown. */
function replyOf<T>(reply: [Error | null, unknown] | undefined): T {
  const [error, value] = reply as [Error | null, unknown];
  if (error !== null) throw error;
  return value as T;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

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
  readonly #manager: RedisConnectionManager;
  readonly #options: ResolvedStateOptions;
  readonly #keys: StateKeys;
  readonly #writerJson: string;
  readonly #feeds = new Map<string, Feed>();
  readonly #locks = new Set<HeldLock>();
  #offResubscribed: (() => void) | undefined;
  #cleanupTimer: NodeJS.Timeout | undefined;
  #cleaning = false;
  #closing: Promise<void> | undefined;

  /** Validates `options` at once (throws `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, options: StateManagerOptions = {}) {
    super();
    if (!isConnectionManagerLike(connection)) {
      v.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
    }
    this.#manager = connection;
    this.#options = resolveStateOptions(options);
    this.#keys = stateKeys(connection.namespace, this.#options.scope);
    this.#writerJson = this.#options.writer === undefined ? '' : JSON.stringify(this.#options.writer);
    if (this.#options.cleanupIntervalMs > 0) {
      this.#cleanupTimer = setInterval(() => {
        this.#autoCleanup();
      }, this.#options.cleanupIntervalMs);
      this.#cleanupTimer.unref();
    }
  }

  /** The scope this manager reads and writes. */
  get scope(): string {
    return this.#options.scope;
  }

  /** The value of `key`, or `undefined` when absent or expired. `null` is a value like any other. */
  async get<TValue = unknown>(key: string): Promise<TValue | undefined> {
    this.#assertOpen();
    const checked = assertKey(key);
    // The hot path: two fields, no script, unless the entry has a TTL.
    const [value, expiresAt] = (await this.#redis().hmget(this.#keys.entry(checked), 'value', 'expiresAt')) as [
      string | null,
      string | null,
    ];
    if (value === null) return undefined;
    if (expiresAt === null) return parseJson<TValue>(value, checked);
    const live = (await this.#entryScript(GET, checked, [])) as string[] | null;
    return live === null ? undefined : parseJson<TValue>(live[0] as string, checked);
  }

  /** True when `key` has a value (not expired). */
  async has(key: string): Promise<boolean> {
    return (await this.getEntry(key)) !== undefined;
  }

  /**
   * The entry of `key` with its version, time of write and writer, or `undefined` when absent or
   * expired. One HMGET; entries with a TTL take a second round trip (a script that compares the
   * expiry with Redis' clock and reports an expired entry).
   */
  async getEntry<TValue = unknown>(key: string): Promise<StateEntry<TValue> | undefined> {
    this.#assertOpen();
    const checked = assertKey(key);
    const entryKey = this.#keys.entry(checked);
    let fields = await this.#redis().hmget(entryKey, 'value', 'version', 'updatedAt', 'writer', 'expiresAt');
    if (fields[0] === null) return undefined;
    if (fields[4] !== null) {
      const live = (await this.#entryScript(GET, checked, [])) as string[] | null;
      if (live === null) return undefined;
      fields = live.map((field) => (field === '' ? null : field));
    }
    return this.#entry<TValue>(checked, fields);
  }

  /**
   * Stores `value` (plain JSON data, `null` included) as the next version of `key` and publishes
   * the change. See {@link SetOptions} for TTL, compare-and-set and timestamps.
   * @throws StateConflictError when `ifVersion` does not match; nothing was written.
   */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<SetResult> {
    this.#assertOpen();
    const checked = assertKey(key);
    assertOptions(options);
    const json = encodeValue(value, this.#options.maxValueBytes);
    const ttl = this.#ttl(options.ttlMs);
    const ifVersion =
      options.ifVersion === undefined
        ? ''
        : integerOption('ifVersion', options.ifVersion, { min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'versions' });
    const timestamp = this.#timestamp(options.timestamp);
    const writer = this.#writer(options.writer);
    // A plain set sends two arguments: the script reads the absent options as ''.
    const args: Array<string | number> =
      ifVersion === '' && ttl === '' && timestamp === '' && writer === ''
        ? [json]
        : [json, ifVersion, ttl, timestamp, writer];
    const reply = (await this.#entryScript(SET, checked, args)) as string | [string, number, string | number];
    if (typeof reply === 'string') {
      const written = splitWritten(reply);
      return { version: written.version, applied: true, updatedAt: Number(written.rest) };
    }
    if (reply[0] === 'CONFLICT') {
      throw new StateConflictError(checked, {
        expectedVersion: Number(ifVersion),
        actualVersion: reply[1],
        attempts: 1,
      });
    }
    // STALE: the entry carries a newer timestamp than the write.
    return { version: reply[1], applied: false, updatedAt: Number(reply[2]) };
  }

  /**
   * Removes `key` and publishes a `delete` change. Resolves true when there was a value to remove
   * (false when absent, expired, or kept because it carries a newer `timestamp`).
   */
  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    this.#assertOpen();
    const checked = assertKey(key);
    assertOptions(options);
    const timestamp = this.#timestamp(options.timestamp);
    const removed = (await this.#entryScript(DELETE, checked, [timestamp])) as number;
    return removed === 1;
  }

  /**
   * Reads `key`, calls `updater(current)` (`undefined` when absent) and writes its result only if
   * nobody wrote in between (a version check inside a Lua script: safe on a shared connection).
   * On a conflict it retries with the fresh value after a jittered backoff, up to `maxAttempts`,
   * then throws a `StateConflictError`. An updater that throws writes nothing and its error is
   * thrown as it is. The updater may run several times: keep it free of side effects.
   */
  async atomicUpdate<TValue>(
    key: string,
    updater: (current: TValue | undefined) => TValue | Promise<TValue>,
    options: AtomicUpdateOptions = {},
  ): Promise<{ value: TValue; version: number }> {
    this.#assertOpen();
    const checked = assertKey(key);
    assertOptions(options);
    if (typeof updater !== 'function') {
      throw new StateError('INVALID_ARGUMENT', `updater must be a function, got ${typeof updater}`, { key: checked });
    }
    const ttl = this.#ttl(options.ttlMs);
    const maxAttempts =
      options.maxAttempts === undefined
        ? this.#options.maxAttempts
        : integerOption('maxAttempts', options.maxAttempts, { unit: 'attempts', max: 1e6 });
    const writer = this.#writer(options.writer);
    const entry = await this.getEntry(checked);
    let version = entry?.version ?? 0;
    let current: unknown = entry?.value;
    for (let attempt = 1; ; attempt += 1) {
      const next = await updater(current as TValue | undefined);
      const json = encodeValue(next, this.#options.maxValueBytes, 'the updater result');
      this.#assertOpen();
      const reply = (await this.#entryScript(SET, checked, [json, version, ttl, '', writer, '1'])) as
        string | [string, number, string | undefined];
      if (typeof reply === 'string') return { value: next, version: splitWritten(reply).version };
      if (attempt >= maxAttempts) {
        throw new StateConflictError(checked, { expectedVersion: version, actualVersion: reply[1], attempts: attempt });
      }
      const bound = Math.min(this.#options.retryMaxDelayMs, this.#options.retryBaseDelayMs * 2 ** (attempt - 1));
      const delay = Math.floor(Math.random() * (bound + 1));
      if (delay === 0) {
        // The conflict reply carries the current entry: an immediate retry needs no read.
        version = reply[1];
        current = reply[2] === undefined ? undefined : parseJson(reply[2], checked);
      } else {
        // After a wait that entry is likely stale again: read afresh.
        await sleep(delay);
        const fresh = await this.getEntry(checked);
        version = fresh?.version ?? 0;
        current = fresh?.value;
      }
    }
  }

  /**
   * Adds `by` (a safe integer, default 1) to an integer value, or with `field` to an integer
   * field of an object value, entirely inside Redis (one round trip, no retries). An absent
   * entry or field counts as 0. Resolves with the new number and the entry's version.
   * @throws StateError `TYPE_MISMATCH` when the value (or field) is not an integer, or the result would not be a safe integer.
   */
  async increment(key: string, by = 1, options: IncrementOptions = {}): Promise<{ value: number; version: number }> {
    this.#assertOpen();
    const checked = assertKey(key);
    assertOptions(options);
    if (typeof by !== 'number' || !Number.isSafeInteger(by)) {
      throw new StateError('INVALID_ARGUMENT', `increment must be a safe integer, got ${String(by)}`, {
        key: checked,
      });
    }
    let field = '';
    if (options.field !== undefined) {
      const name = assertKey(options.field, 'field');
      if (name === '__proto__') throw new StateError('INVALID_KEY', "field must not be '__proto__'", { key: checked });
      field = JSON.stringify(name);
    }
    const { version, text } = await this.#serverUpdate(checked, options, { script: INCREMENT, args: [by, field] });
    const result = parseJson<unknown>(text, checked);
    const value = options.field === undefined ? result : (result as Record<string, unknown>)[options.field];
    return { value: value as number, version };
  }

  /**
   * Sets the top-level keys of `patch` in an object value (created as `{}` when absent), entirely
   * inside Redis: concurrent merges of different keys all land. A key set to `undefined` is
   * removed. Other keys keep their exact JSON. Resolves with the merged object and its version.
   * @throws StateError `TYPE_MISMATCH` when the value is not an object.
   */
  async merge<TValue extends object = Record<string, unknown>>(
    key: string,
    patch: Record<string, unknown>,
    options: ServerUpdateOptions = {},
  ): Promise<{ value: TValue; version: number }> {
    this.#assertOpen();
    const checked = assertKey(key);
    assertOptions(options);
    const proto = typeof patch === 'object' && patch !== null ? (Object.getPrototypeOf(patch) as unknown) : undefined;
    if (proto !== Object.prototype && proto !== null) {
      throw new StateError('INVALID_VALUE', 'patch must be a plain object', { key: checked });
    }
    const entries = Object.entries(patch);
    // Validates the patch (and its size) the way a set would; undefined members mean "remove".
    encodeValue(
      Object.fromEntries(entries.filter(([, value]) => value !== undefined)),
      this.#options.maxValueBytes,
      'patch',
    );
    const pairs: string[] = [];
    for (const [name, value] of entries) {
      pairs.push(JSON.stringify(name), value === undefined ? '' : JSON.stringify(value));
    }
    const { version, text } = await this.#serverUpdate(checked, options, { script: MERGE, args: pairs });
    return { value: parseJson<TValue>(text, checked), version };
  }

  /**
   * Every key under `prefix` (all keys for `''`) that has a live value, sorted. Uses the scope's
   * index with ZSCAN (never KEYS), so it stays safe on a big Redis.
   */
  async keys(prefix = ''): Promise<string[]> {
    return (await this.#list(prefix, false)).map((entry) => entry.key);
  }

  /** Every live entry under `prefix` (all for `''`), sorted by key. See {@link StateManager.keys}. */
  async entries<TValue = unknown>(prefix = ''): Promise<Array<KeyedStateEntry<TValue>>> {
    return (await this.#list(prefix, true)) as Array<KeyedStateEntry<TValue>>;
  }

  /**
   * Removes every entry past its TTL and, with `maxIdleMs`, every entry not updated for longer
   * than that (by Redis' clock), each with an `expire` change; each removal is rechecked inside a
   * script, so a write that got in first keeps its entry. Runs by itself every `cleanupIntervalMs`.
   * Resolves with the removed keys.
   */
  async cleanup(options: CleanupOptions = {}): Promise<string[]> {
    this.#assertOpen();
    assertOptions(options);
    const maxIdleMs =
      options.maxIdleMs === undefined
        ? this.#options.maxIdleMs
        : integerOption('maxIdleMs', options.maxIdleMs, { max: Number.MAX_SAFE_INTEGER });
    const removed = await this.#sweep(this.#keys.expiries, 0, '');
    if (maxIdleMs !== undefined) removed.push(...(await this.#sweep(this.#keys.index, maxIdleMs, maxIdleMs)));
    return removed;
  }

  /**
   * Calls `handler(change)` for every change of `key` (set, update, delete, expiry) made by any
   * process, from the moment the returned promise resolves. Returns the unsubscribe function.
   * Changes are Pub/Sub messages: at-most-once (see the README); after a reconnect the handler
   * gets the current state as a `resync` change.
   */
  async subscribe<TValue = unknown>(key: string, handler: ChangeHandler<TValue>): Promise<Unsubscribe> {
    this.#assertOpen();
    const checked = assertKey(key);
    return this.#addSubscription(this.#keys.channel(checked), false, handler as ChangeHandler);
  }

  /** Like {@link StateManager.subscribe}, for every key that starts with `prefix` (`''`: every key of the scope). No resync. */
  async subscribePrefix<TValue = unknown>(prefix: string, handler: ChangeHandler<TValue>): Promise<Unsubscribe> {
    this.#assertOpen();
    const checked = assertPrefix(prefix);
    return this.#addSubscription(this.#keys.pattern(checked), true, handler as ChangeHandler);
  }

  /**
   * Waits for the lock `name` (up to `waitMs`), then holds it, renewing it every third of its
   * TTL until `release()`. A holder whose process dies loses it after `ttlMs`.
   * @throws LockError `LOCK_TIMEOUT` when it stays held by someone else for `waitMs`.
   */
  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    this.#assertOpen();
    const checked = assertKey(name, 'lock name');
    assertOptions(options);
    const ttlMs =
      options.ttlMs === undefined ? this.#options.lockTtlMs : integerOption('ttlMs', options.ttlMs, { min: 3 });
    const waitMs =
      options.waitMs === undefined ? this.#options.lockWaitMs : integerOption('waitMs', options.waitMs, { min: 0 });
    const key = this.#keys.lock(checked);
    const owner = randomBytes(16).toString('hex');
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt += 1) {
      this.#assertOpen();
      const [acquired, detail] = (await this.#run(ACQUIRE, [key, this.#keys.fences], [owner, ttlMs, checked])) as [
        number,
        number,
      ];
      if (acquired === 1) {
        const lock = this.#hold({ name: checked, key, owner, ttlMs, fencingToken: detail });
        if (this.#closing === undefined) return lock;
        // Closed while acquiring: nobody would release it.
        await lock.release();
        this.#assertOpen();
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new LockError('LOCK_TIMEOUT', `lock '${checked}' is still held by someone else after ${waitMs} ms`, {
          key: checked,
        });
      }
      // Jittered, growing, never past the holder's expiry or our deadline.
      const bound = Math.min(LOCK_MAX_DELAY_MS, 5 * 2 ** Math.min(attempt, 5));
      const holderLeft = detail > 0 ? detail : bound;
      await sleep(Math.max(1, Math.min(remaining, holderLeft, Math.ceil(Math.random() * bound))));
    }
  }

  /**
   * Runs `fn({ fencingToken, signal })` holding the lock `name` (waiting up to `waitMs` for it),
   * releases it when `fn` settles and returns what `fn` returned.
   * @throws LockError `LOCK_TIMEOUT` when not acquired in time (fn is not called); `LOCK_LOST`
   *   when the lock was lost while `fn` ran (its `signal` was aborted) — `fn`'s own error wins.
   */
  async withLock<TResult>(
    name: string,
    fn: (lock: LockContext) => TResult | Promise<TResult>,
    options: LockOptions = {},
  ): Promise<TResult> {
    if (typeof fn !== 'function') v.fail('INVALID_ARGUMENT', 'fn', `fn must be a function, got ${typeof fn}`);
    const lock = await this.lock(name, options);
    let outcome: { ok: true; value: TResult } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn({ fencingToken: lock.fencingToken, signal: lock.signal }) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    // A release that fails (Redis down) leaves the lock to its TTL: not a reason to fail the work.
    const released = await lock.release().catch((error: unknown) => {
      this.#emitError(error);
      return true;
    });
    if (!outcome.ok) throw outcome.error;
    if (!released || lock.signal.aborted) throw this.#lost(lock.name);
    return outcome.value;
  }

  /**
   * Stops the cleanup timer, releases the locks this manager holds (best effort), drops every
   * subscription (the manager's subscriber connection closes when nothing else uses it). Entries
   * stay; the manager stays connected. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#cleanupTimer);
      const held = [...this.#locks];
      await Promise.all(held.map((lock) => this.#release(lock).catch(ignore)));
      const feeds = [...this.#feeds.entries()];
      for (const [id, feed] of feeds) this.#dropFeed(id, feed);
      await Promise.all(feeds.map(async ([, feed]) => (await feed.ready)().catch(ignore)));
    })();
    return this.#closing;
  }

  /** Same as {@link StateManager.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- internals

  #redis(): Redis {
    return this.#manager.getConnection();
  }

  // Async so that a closed manager (getConnection() throws) rejects instead of throwing in a timer callback.
  async #run(target: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    return runLuaScript(this.#redis(), target, { keys, args });
  }

  /** Runs an entry script: KEYS entry, index, expiries; ARGV key, then `args`. */
  #entryScript(target: LuaScript, key: string, args: Array<string | number>): Promise<unknown> {
    // Called from async methods only (a throwing getConnection() rejects their promise): no extra async frame.
    args.unshift(key);
    return runLuaScript(this.#redis(), target, {
      keys: [this.#keys.entry(key), this.#keys.index, this.#keys.expiries],
      args,
    });
  }

  async #serverUpdate(
    key: string,
    options: ServerUpdateOptions,
    operation: { script: LuaScript; args: Array<string | number> },
  ): Promise<{ version: number; text: string }> {
    const target = operation.script;
    const ttl = this.#ttl(options.ttlMs);
    const writer = this.#writer(options.writer);
    const maxBytes = this.#options.maxValueBytes;
    let args: Array<string | number>;
    if (target === INCREMENT) {
      // ARGV: key, by, field, maxBytes, then ttl and writer only when given.
      args = ttl === '' && writer === '' ? [...operation.args, maxBytes] : [...operation.args, maxBytes, ttl, writer];
    } else {
      args = [ttl, writer, maxBytes, ...operation.args];
    }
    const reply = (await this.#entryScript(target, key, args)) as string | [string, number | string];
    if (typeof reply === 'string') {
      const written = splitWritten(reply);
      return { version: written.version, text: written.rest };
    }
    if (reply[0] === 'TYPE_MISMATCH') {
      throw new StateError(
        'TYPE_MISMATCH',
        `cannot ${target === INCREMENT ? 'incr' : 'merge'} '${key}': ${String(reply[1])}; nothing was written`,
        {
          key,
        },
      );
    }
    // TOO_LARGE, the only other reply.
    throw new StateError(
      'VALUE_TOO_LARGE',
      `the merged value of '${key}' would be ${String(reply[1])} bytes, over the limit of ${this.#options.maxValueBytes} (option maxValueBytes); nothing was written`,
      { key },
    );
  }

  /** Builds an entry from HMGET fields: value, version, updatedAt, writer, expiresAt. */
  #entry<TValue>(key: string, fields: Array<string | null>): StateEntry<TValue> {
    const [value, version, updatedAt, writer, expiresAt] = fields;
    const entry: StateEntry<TValue> = {
      value: parseJson<TValue>(value as string, key),
      version: Number(version),
      updatedAt: Number(updatedAt),
    };
    if (writer !== null && writer !== undefined) entry.writer = parseJson<string>(writer, key);
    if (expiresAt !== null && expiresAt !== undefined) entry.expiresAt = Number(expiresAt);
    return entry;
  }

  async #list(prefix: string, withValues: boolean): Promise<Array<KeyedStateEntry>> {
    this.#assertOpen();
    const checked = assertPrefix(prefix);
    const redis = this.#redis();
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, items] = await redis.zscan(
        this.#keys.index,
        cursor,
        'MATCH',
        `${escapeGlob(checked)}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      // ZSCAN replies member, score, member, score…
      for (let index = 0; index < items.length; index += 2) found.add(items[index] as string);
    } while (cursor !== '0');
    const keys = [...found].sort();
    const entries: KeyedStateEntry[] = [];
    for (let start = 0; start < keys.length; start += LIST_BATCH) {
      const batch = keys.slice(start, start + LIST_BATCH);
      const pipeline = redis.pipeline();
      for (const key of batch) {
        if (withValues) pipeline.hmget(this.#keys.entry(key), 'value', 'version', 'updatedAt', 'writer', 'expiresAt');
        else pipeline.hmget(this.#keys.entry(key), 'version', 'version', 'version', 'version', 'expiresAt');
      }
      pipeline.time();
      const replies = (await pipeline.exec()) as Array<[Error | null, unknown]>;
      const [seconds, micros] = replyOf<[string, string]>(replies[batch.length]);
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      for (const [index, key] of batch.entries()) {
        const row = replyOf<Array<string | null>>(replies[index]);
        // Absent (removed since the scan) or past its expiry: not listed.
        if (row[1] === null || (row[4] !== null && Number(row[4]) <= now)) continue;
        entries.push(withValues ? { key, ...this.#entry(key, row) } : ({ key } as KeyedStateEntry));
      }
    }
    return entries;
  }

  /** Removes due members of `zset` (see the EXPIRE script), in batches; returns their keys. */
  async #sweep(zset: string, age: number, maxIdle: number | ''): Promise<string[]> {
    const removed: string[] = [];
    for (let batch = 0; batch < CLEANUP_MAX_BATCHES; batch += 1) {
      const due = (await this.#run(DUE, [zset], [age, CLEANUP_BATCH])) as string[];
      const results = await Promise.all(due.map((key) => this.#entryScript(EXPIRE, key, [maxIdle])));
      for (const [index, result] of results.entries()) if (result === 1) removed.push(due[index] as string);
      if (due.length < CLEANUP_BATCH) break;
    }
    return removed;
  }

  #autoCleanup(): void {
    // A slow Redis must not stack cleanups up; a manager not connected (yet, or any more) has nothing to clean.
    if (this.#cleaning || this.#manager.state !== 'connected') return;
    this.#cleaning = true;
    this.cleanup()
      .catch((error: unknown) => {
        this.#emitError(error);
      })
      .finally(() => {
        this.#cleaning = false;
      });
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Adds `handler` to the feed of `name` (a channel, or a pattern when `pattern`). A feed is one
   * listener on the manager's subscription hub, shared by this manager's handlers of that name, so
   * a change is parsed (and a malformed one reported) once.
   */
  async #addSubscription(name: string, pattern: boolean, handler: ChangeHandler): Promise<Unsubscribe> {
    if (typeof handler !== 'function') {
      v.fail('INVALID_ARGUMENT', 'handler', `handler must be a function, got ${typeof handler}`);
    }
    const id = `${pattern ? 'p' : 'c'}:${name}`;
    let feed = this.#feeds.get(id);
    if (feed === undefined) {
      const handlers = new Set<ChangeHandler>();
      const listener = (raw: string, channel: string): void => {
        this.#dispatch(handlers, channel, raw);
      };
      const hub = subscriptionHub(this.#manager);
      const created: Feed = {
        key: pattern ? undefined : name.slice(this.#keys.channelPrefix.length),
        handlers,
        ready: pattern ? hub.psubscribe(name, listener) : hub.subscribe(name, listener),
      };
      feed = created;
      this.#feeds.set(id, created);
      this.#offResubscribed ??= hub.onResubscribed(this.#onResubscribed);
      created.ready.catch(() => {
        this.#dropFeed(id, created);
      });
    }
    feed.handlers.add(handler);
    const current = feed;
    let unsubscribed: Promise<void> | undefined;
    const unsubscribe = (): Promise<void> => {
      unsubscribed ??= (async () => {
        if (!current.handlers.delete(handler) || current.handlers.size > 0) return;
        this.#dropFeed(id, current);
        await (
          await current.ready
        )();
      })();
      return unsubscribed;
    };
    try {
      await current.ready;
    } catch (error) {
      current.handlers.delete(handler);
      throw error;
    }
    // close() began while Redis confirmed: nothing may stay subscribed.
    if (this.#closing !== undefined) {
      await unsubscribe();
      this.#assertOpen();
    }
    return unsubscribe;
  }

  #dropFeed(id: string, feed: Feed): void {
    if (this.#feeds.get(id) !== feed) return;
    this.#feeds.delete(id);
    if (this.#feeds.size === 0) {
      this.#offResubscribed?.();
      this.#offResubscribed = undefined;
    }
  }

  // The hub calls this once the subscriber connection is back and every subscription active again.
  readonly #onResubscribed = (): void => {
    this.#safeEmit('resubscribed');
    if (!this.#options.resyncOnReconnect) return;
    for (const feed of this.#feeds.values()) {
      const { key, handlers } = feed;
      if (key === undefined) continue;
      this.getEntry(key).then(
        (entry) => {
          const change: StateChange =
            entry === undefined
              ? { key, type: 'delete', value: undefined, version: 0, updatedAt: Date.now(), resync: true }
              : { key, type: 'set', ...entry, resync: true };
          this.#call(handlers, change);
        },
        (error: unknown) => this.#emitError(error),
      );
    }
  };

  #dispatch(handlers: Set<ChangeHandler>, channel: string, raw: string): void {
    // A message can still arrive for a feed whose last handler has just unsubscribed.
    if (handlers.size === 0) return;
    const key = channel.slice(this.#keys.channelPrefix.length);
    let change: StateChange;
    try {
      const message = parseJson<Record<string, unknown>>(raw, key);
      const { type, version, updatedAt, writer, value } = message;
      if (typeof type !== 'string' || !CHANGE_TYPES.has(type) || typeof version !== 'number') {
        throw new Error('not a change message');
      }
      change = { key, type: type as ChangeType, value, version, updatedAt: Number(updatedAt) };
      if (typeof writer === 'string') change.writer = writer;
    } catch (error) {
      this.#emitError(
        new StateError('MALFORMED_DATA', `malformed change message on '${key}': ${raw.slice(0, 200)}`, {
          key,
          cause: error,
        }),
      );
      return;
    }
    this.#call(handlers, change);
  }

  #call(handlers: Set<ChangeHandler>, change: StateChange): void {
    for (const handler of handlers) {
      try {
        const result = handler(change);
        if (result instanceof Promise) result.catch((error: unknown) => this.#emitError(error));
      } catch (error) {
        this.#emitError(error);
      }
    }
  }

  // ---------------------------------------------------------------- locks

  #hold(grant: { name: string; key: string; owner: string; ttlMs: number; fencingToken: number }): Lock {
    const held: HeldLock = {
      ...grant,
      controller: new AbortController(),
      timer: undefined,
      renewing: false,
      lastRenewedAt: Date.now(),
      releasing: undefined,
    };
    held.timer = setInterval(
      () => {
        this.#renew(held);
      },
      Math.max(1, Math.floor(held.ttlMs / 3)),
    );
    held.timer.unref();
    this.#locks.add(held);
    return {
      name: held.name,
      fencingToken: held.fencingToken,
      signal: held.controller.signal,
      release: () => this.#release(held),
    };
  }

  #renew(held: HeldLock): void {
    if (held.renewing) return;
    held.renewing = true;
    const startedAt = Date.now();
    this.#run(RENEW, [held.key], [held.owner, held.ttlMs])
      .then(
        (renewed) => {
          if (renewed === 1) held.lastRenewedAt = startedAt;
          else this.#loseLock(held);
        },
        (error: unknown) => {
          this.#emitError(error);
          // Without a renewal for a whole TTL, Redis has let the lock go: stop believing in it.
          if (Date.now() - held.lastRenewedAt >= held.ttlMs) this.#loseLock(held);
        },
      )
      .finally(() => {
        held.renewing = false;
      });
  }

  #loseLock(held: HeldLock): void {
    if (held.releasing !== undefined || held.controller.signal.aborted) return;
    clearInterval(held.timer);
    this.#locks.delete(held);
    held.controller.abort(this.#lost(held.name));
    this.#safeEmit('lockLost', { name: held.name, fencingToken: held.fencingToken });
  }

  #release(held: HeldLock): Promise<boolean> {
    held.releasing ??= (async () => {
      clearInterval(held.timer);
      this.#locks.delete(held);
      return (await this.#run(RELEASE, [held.key], [held.owner])) === 1;
    })();
    return held.releasing;
  }

  #lost(name: string): LockError {
    return new LockError('LOCK_LOST', `lock '${name}' was lost (expired or taken over) before it was released`, {
      key: name,
    });
  }

  // ---------------------------------------------------------------- input

  #ttl(ttlMs: number | undefined): number | '' {
    return ttlMs === undefined ? '' : integerOption('ttlMs', ttlMs, { max: Number.MAX_SAFE_INTEGER / 4 });
  }

  #timestamp(timestamp: number | undefined): number | '' {
    return timestamp === undefined
      ? ''
      : integerOption('timestamp', timestamp, { min: 0, max: Number.MAX_SAFE_INTEGER / 4, unit: 'ms since epoch' });
  }

  #writer(writer: string | undefined): string {
    return writer === undefined ? this.#writerJson : JSON.stringify(writerOption(writer));
  }

  #safeEmit<TEvent extends 'resubscribed' | 'lockLost'>(event: TEvent, ...args: StateManagerEvents[TEvent]): void {
    emitSafely(this, event, ...args);
  }

  #emitError(error: unknown): void {
    emitSafely(this, 'error', toError(error));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new StateError('STATE_CLOSED', 'the state manager was closed');
  }
}

/** An options argument must be an object: `null` would otherwise surface as a bare TypeError. */
function assertOptions(options: unknown): void {
  v.object(options, 'options', 'INVALID_OPTION');
}

/** Splits a write script's success reply 'version:rest' (rest: the time of the write, or the new value's JSON). */
function splitWritten(reply: string): { version: number; rest: string } {
  const colon = reply.indexOf(':');
  return { version: Number(reply.slice(0, colon)), rest: reply.slice(colon + 1) };
}
