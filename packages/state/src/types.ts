import type { RedisConnectionManager } from '@shim/connection';
import type { Redis } from 'ioredis';
import type { StateManagerEvents } from './events.js';
import type { StateKeys } from './keys.js';
import type { ResolvedStateOptions } from './options.js';

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

/** What the parts of one `StateManager` (store, change feed, locks) share. Internal. */
export interface StateContext {
  readonly manager: RedisConnectionManager;
  readonly options: ResolvedStateOptions;
  readonly keys: StateKeys;
  /** The manager's command connection; throws once the manager is closed (call it inside async functions). */
  redis(): Redis;
  /** Throws `STATE_CLOSED` once `close()` began. */
  assertOpen(): void;
  /** Emits a local event of the `StateManager`, never throwing. */
  emit<TEvent extends 'resubscribed' | 'lockLost'>(event: TEvent, ...args: StateManagerEvents[TEvent]): void;
  /** Emits a failure no promise can report as `error` (dropped without a listener). */
  reportError(error: unknown): void;
}
