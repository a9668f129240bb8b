/** Kinds of change: written (`set`, `atomicUpdate`, `increment`, `merge`), deleted, or removed because time passed. */
export type ChangeType = 'set' | 'delete' | 'expire';

/**
 * One change of one entry, as every subscribed process receives it. Published by the same Lua
 * script that makes the change, so a change is never reported that did not happen.
 */
export interface StateChange<TValue = unknown> {
  /** The entry's key (as given to `set`, without namespace or scope). */
  key: string;
  type: ChangeType;
  /** The new value; `undefined` when deleted or expired. */
  value: TValue | undefined;
  /**
   * For `set`: the entry's new version. For `delete`/`expire`: the version the removed entry had
   * (0 when Redis had already dropped it, see the README).
   */
  version: number;
  /** When the change happened, by Redis' clock. Unit: ms since epoch. */
  updatedAt: number;
  /** Who wrote it, when the write named a writer. */
  writer?: string | undefined;
  /**
   * True when this is not a change but the current state, read after the subscriber connection
   * reconnected (changes made while it was down were not delivered). `type` is then `set` with
   * the current value, or `delete` when the key is absent.
   */
  resync?: true | undefined;
}

/** Handler of {@link StateManager.subscribe}. A throw or rejection goes to the manager's `error` event. */
export type ChangeHandler<TValue = unknown> = (change: StateChange<TValue>) => void | Promise<void>;

/** Ends a subscription; resolves once Redis stopped sending its changes. Idempotent. */
export type Unsubscribe = () => Promise<void>;

/** Local events of a {@link StateManager} instance. */
export interface StateManagerEvents {
  /**
   * The subscriber connection reconnected and every subscription is active again. Changes
   * published while it was down were not delivered: re-read what you need (key subscriptions
   * already got a `resync` change, unless `resyncOnReconnect` is false).
   */
  resubscribed: [];
  /** A lock held by this manager was lost before it was released (renewal refused, or failing for longer than its TTL). */
  lockLost: [{ name: string; fencingToken: number }];
  /**
   * A failure no promise could report: a handler that threw, a malformed change message, a failed
   * automatic cleanup, renewal or resync. Without a listener it is dropped, never thrown.
   */
  error: [Error];
}
