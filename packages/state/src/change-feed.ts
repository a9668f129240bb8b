import { subscriptionHub, type HubUnsubscribe } from '@shim/connection/kit';
import { StateError } from './errors.js';
import type { ChangeHandler, ChangeType, StateChange, Unsubscribe } from './events.js';
import { parseJson, v } from './internal/validate.js';
import type { StateContext, StateEntry } from './types.js';

const CHANGE_TYPES: ReadonlySet<string> = new Set(['set', 'delete', 'expire']);

interface Subscription {
  /** The key of a key subscription (resynced after a reconnect); undefined for a prefix. */
  readonly key: string | undefined;
  readonly handler: ChangeHandler;
  readonly stop: Unsubscribe;
}

/**
 * The change subscriptions of one `StateManager`, each a listener on the manager's subscription
 * hub (one subscriber connection per manager, shared with every other package; the hub counts
 * who needs a channel). After a reconnect it emits `resubscribed` and resyncs key handlers.
 */
export class ChangeFeed {
  readonly #ctx: StateContext;
  readonly #read: (key: string) => Promise<StateEntry | undefined>;
  readonly #subscriptions = new Set<Subscription>();
  readonly #pending = new Set<Promise<unknown>>();
  #offResubscribed: (() => void) | undefined;

  /** `read` gives a key's current entry, for the resync after a reconnect. */
  constructor(context: StateContext, read: (key: string) => Promise<StateEntry | undefined>) {
    this.#ctx = context;
    this.#read = read;
  }

  /** Calls `handler` for the changes of `key`, or of every key under `prefix`, once Redis confirmed. */
  async add(target: { key: string } | { prefix: string }, handler: ChangeHandler): Promise<Unsubscribe> {
    if (typeof handler !== 'function') {
      v.fail('INVALID_ARGUMENT', 'handler', `handler must be a function, got ${typeof handler}`);
    }
    const adding = this.#add(target, handler);
    this.#pending.add(adding);
    try {
      return await adding;
    } finally {
      this.#pending.delete(adding);
    }
  }

  /** Ends every subscription (the hub closes its connection when nobody else uses it). */
  async close(): Promise<void> {
    // Subscriptions still waiting for Redis end themselves when they find the manager closed.
    await Promise.allSettled([...this.#pending]);
    // Best effort: a manager already disconnected has nothing left to unsubscribe.
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop().catch(() => undefined)));
  }

  async #add(target: { key: string } | { prefix: string }, handler: ChangeHandler): Promise<Unsubscribe> {
    const hub = subscriptionHub(this.#ctx.manager);
    const { keys } = this.#ctx;
    const listener = (raw: string, channel: string): void => {
      const change = this.#parse(channel, raw);
      if (change !== undefined) this.#call(handler, change);
    };
    let unsubscribe: HubUnsubscribe;
    let key: string | undefined;
    if ('key' in target) {
      key = target.key;
      unsubscribe = await hub.subscribe(keys.channel(key), listener);
    } else {
      unsubscribe = await hub.psubscribe(keys.pattern(target.prefix), listener);
    }
    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      key,
      handler,
      stop: () => {
        stopped ??= this.#remove(subscription, unsubscribe);
        return stopped;
      },
    };
    this.#subscriptions.add(subscription);
    this.#offResubscribed ??= hub.onResubscribed(this.#onResubscribed);
    try {
      // close() may have begun while Redis confirmed: nothing may stay subscribed.
      this.#ctx.assertOpen();
    } catch (error) {
      await subscription.stop();
      throw error;
    }
    return subscription.stop;
  }

  async #remove(subscription: Subscription, unsubscribe: HubUnsubscribe): Promise<void> {
    this.#subscriptions.delete(subscription);
    if (this.#subscriptions.size === 0) {
      this.#offResubscribed?.();
      this.#offResubscribed = undefined;
    }
    await unsubscribe();
  }

  // The hub calls this once the subscriber connection is back and every subscription active again.
  readonly #onResubscribed = (): void => {
    this.#ctx.emit('resubscribed');
    if (!this.#ctx.options.resyncOnReconnect) return;
    for (const { key, handler } of this.#subscriptions) {
      if (key === undefined) continue;
      this.#read(key).then(
        (entry) => {
          this.#call(
            handler,
            entry === undefined
              ? { key, type: 'delete', value: undefined, version: 0, updatedAt: Date.now(), resync: true }
              : { key, type: 'set', ...entry, resync: true },
          );
        },
        (error: unknown) => this.#ctx.reportError(error),
      );
    }
  };

  /** The change a message reports, or undefined (reported as `MALFORMED_DATA`) when it is not one. */
  #parse(channel: string, raw: string): StateChange | undefined {
    const key = channel.slice(this.#ctx.keys.channelPrefix.length);
    try {
      const { type, version, updatedAt, writer, value } = parseJson<Record<string, unknown>>(raw, key);
      if (typeof type !== 'string' || !CHANGE_TYPES.has(type) || typeof version !== 'number') {
        throw new Error('not a change message');
      }
      const change: StateChange = { key, type: type as ChangeType, value, version, updatedAt: Number(updatedAt) };
      if (typeof writer === 'string') change.writer = writer;
      return change;
    } catch (error) {
      const message = `malformed change message on '${key}': ${raw.slice(0, 200)}`;
      this.#ctx.reportError(new StateError('MALFORMED_DATA', message, { key, cause: error }));
      return undefined;
    }
  }

  #call(handler: ChangeHandler, change: StateChange): void {
    try {
      const result = handler(change);
      if (result instanceof Promise) result.catch((error: unknown) => this.#ctx.reportError(error));
    } catch (error) {
      this.#ctx.reportError(error);
    }
  }
}
