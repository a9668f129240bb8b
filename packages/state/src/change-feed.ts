import { subscriptionHub, type HubUnsubscribe } from '@shim/connection/kit';
import { StateError } from './errors.js';
import type { ChangeHandler, ChangeType, StateChange, Unsubscribe } from './events.js';
import { parseJson, v } from './internal/validate.js';
import type { StateContext, StateEntry } from './types.js';

const CHANGE_TYPES: ReadonlySet<string> = new Set(['set', 'delete', 'expire']);

/** This manager's handlers of one channel (key) or pattern (prefix): one listener on the subscription hub. */
interface Feed {
  /** The key of a key feed (resynced after a reconnect); undefined for a prefix. */
  readonly key: string | undefined;
  readonly handlers: Set<ChangeHandler>;
  /** `ready` resolves once Redis confirmed the subscription, `ended` once the hub listener is removed. */
  readonly ready: Promise<HubUnsubscribe>;
  ended?: Promise<void>;
}

/**
 * The change subscriptions of one `StateManager`, on the manager's subscription hub (one
 * subscriber connection per manager, shared with every other package). The handlers of one
 * channel or pattern share one hub listener, so a message is parsed (and a malformed one reported)
 * once. After a reconnect it emits `resubscribed` and resyncs each subscribed key with one read.
 */
export class ChangeFeed {
  readonly #ctx: StateContext;
  readonly #read: (key: string) => Promise<StateEntry | undefined>;
  readonly #feeds = new Map<string, Feed>();
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
    // Channel and pattern names may coincide ('a*' is both): the id says which.
    const id = 'key' in target ? `k:${target.key}` : `p:${target.prefix}`;
    const feed = this.#feeds.get(id) ?? this.#open(id, target);
    // One entry per call, so the same function subscribed twice is two independent subscriptions.
    const own: ChangeHandler = (change) => handler(change);
    feed.handlers.add(own);
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopped ??= this.#leave(id, feed, own));
    try {
      await feed.ready;
      // close() may have begun while Redis confirmed: nothing may stay subscribed.
      this.#ctx.assertOpen();
    } catch (error) {
      await stop();
      throw error;
    }
    return stop;
  }

  /** Ends every subscription (the hub closes its connection when nobody else uses it); never rejects. */
  async close(): Promise<void> {
    await Promise.all([...this.#feeds].map(([id, feed]) => this.#end(id, feed)));
  }

  #open(id: string, target: { key: string } | { prefix: string }): Feed {
    const hub = subscriptionHub(this.#ctx.manager);
    const handlers = new Set<ChangeHandler>();
    const listener = (raw: string, channel: string): void => {
      if (handlers.size === 0) return; // a message may still come just after the last handler left
      const change = this.#parse(channel, raw);
      if (change !== undefined) this.#call(handlers, change);
    };
    const feed: Feed =
      'key' in target
        ? { key: target.key, handlers, ready: hub.subscribe(this.#ctx.keys.channel(target.key), listener) }
        : { key: undefined, handlers, ready: hub.psubscribe(this.#ctx.keys.pattern(target.prefix), listener) };
    this.#feeds.set(id, feed);
    this.#offResubscribed ??= hub.onResubscribed(this.#onResubscribed);
    return feed;
  }

  /** Removes one handler; the last one of a feed ends it. Settles with the end (of close(), say) it is part of. */
  async #leave(id: string, feed: Feed, handler: ChangeHandler): Promise<void> {
    await (feed.handlers.delete(handler) && feed.handlers.size === 0 ? this.#end(id, feed) : feed.ended);
  }

  /** Drops a feed and removes its hub listener (none when Redis never confirmed it; the hub never rejects). */
  #end(id: string, feed: Feed): Promise<void> {
    feed.handlers.clear();
    // Only the last handler's leave or close() ends a feed, and it ends once: it is still in #feeds.
    if (this.#feeds.delete(id) && this.#feeds.size === 0) {
      this.#offResubscribed?.();
      this.#offResubscribed = undefined;
    }
    return (feed.ended ??= feed.ready.then((stop) => stop()).catch(() => undefined));
  }

  // The hub calls this once the subscriber connection is back and every subscription active again.
  readonly #onResubscribed = (): void => {
    this.#ctx.emit('resubscribed');
    if (!this.#ctx.options.resyncOnReconnect) return;
    for (const { key, handlers } of this.#feeds.values()) {
      if (key === undefined) continue;
      this.#read(key).then(
        (entry) => {
          this.#call(
            handlers,
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

  #call(handlers: Set<ChangeHandler>, change: StateChange): void {
    for (const handler of handlers) {
      try {
        const result = handler(change);
        if (result instanceof Promise) result.catch((error: unknown) => this.#ctx.reportError(error));
      } catch (error) {
        this.#ctx.reportError(error);
      }
    }
  }
}
