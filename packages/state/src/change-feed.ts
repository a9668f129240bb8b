import { subscriptionHub, type HubUnsubscribe } from '@shim/connection/kit';
import { StateError } from './errors.js';
import type { ChangeHandler, ChangeType, StateChange, Unsubscribe } from './events.js';
import { parseJson, v } from './internal/validate.js';
import type { StateContext, StateEntry } from './types.js';

const CHANGE_TYPES: ReadonlySet<string> = new Set(['set', 'delete', 'expire']);

/** This manager's handlers of one channel or pattern: one listener on the subscription hub. */
interface Feed {
  /** The key of a channel feed; undefined for a prefix (pattern) feed. */
  readonly key: string | undefined;
  readonly handlers: Set<ChangeHandler>;
  /** Resolves once Redis confirmed the subscription. */
  readonly ready: Promise<HubUnsubscribe>;
}

/**
 * The change subscriptions of one `StateManager`, on the manager's subscription hub (one
 * subscriber connection per manager, shared with every other package). A feed per channel or
 * pattern is one hub listener shared by this manager's handlers of it, so a change is parsed (and a
 * malformed one reported) once. After a reconnect it emits `resubscribed` and resyncs key handlers.
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

  /** Calls `handler` for each change on the full Redis channel `name` (or pattern, when `pattern`), once Redis confirmed. */
  async add(name: string, pattern: boolean, handler: ChangeHandler): Promise<Unsubscribe> {
    if (typeof handler !== 'function') {
      v.fail('INVALID_ARGUMENT', 'handler', `handler must be a function, got ${typeof handler}`);
    }
    const id = `${pattern ? 'p' : 'c'}:${name}`;
    const feed = this.#feeds.get(id) ?? this.#open(id, name, pattern);
    feed.handlers.add(handler);
    let unsubscribed: Promise<void> | undefined;
    const unsubscribe = (): Promise<void> => {
      unsubscribed ??= (async () => {
        if (!feed.handlers.delete(handler) || feed.handlers.size > 0) return;
        this.#drop(id, feed);
        await (
          await feed.ready
        )();
      })();
      return unsubscribed;
    };
    try {
      await feed.ready;
    } catch (error) {
      feed.handlers.delete(handler);
      throw error;
    }
    try {
      // close() may have begun while Redis confirmed: nothing may stay subscribed.
      this.#ctx.assertOpen();
    } catch (error) {
      await unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /** Drops every subscription (the hub closes its connection when nobody else uses it). */
  async close(): Promise<void> {
    const feeds = [...this.#feeds.entries()];
    for (const [id, feed] of feeds) this.#drop(id, feed);
    // Best effort: a manager already disconnected has nothing left to unsubscribe.
    await Promise.all(feeds.map(async ([, feed]) => (await feed.ready)().catch(() => undefined)));
  }

  #open(id: string, name: string, pattern: boolean): Feed {
    const handlers = new Set<ChangeHandler>();
    const listener = (raw: string, channel: string): void => {
      this.#dispatch(handlers, channel, raw);
    };
    const hub = subscriptionHub(this.#ctx.manager);
    const feed: Feed = {
      key: pattern ? undefined : name.slice(this.#ctx.keys.channelPrefix.length),
      handlers,
      ready: pattern ? hub.psubscribe(name, listener) : hub.subscribe(name, listener),
    };
    this.#feeds.set(id, feed);
    this.#offResubscribed ??= hub.onResubscribed(this.#onResubscribed);
    feed.ready.catch(() => {
      this.#drop(id, feed);
    });
    return feed;
  }

  #drop(id: string, feed: Feed): void {
    if (this.#feeds.get(id) !== feed) return;
    this.#feeds.delete(id);
    if (this.#feeds.size === 0) {
      this.#offResubscribed?.();
      this.#offResubscribed = undefined;
    }
  }

  // The hub calls this once the subscriber connection is back and every subscription active again.
  readonly #onResubscribed = (): void => {
    this.#ctx.emit('resubscribed');
    if (!this.#ctx.options.resyncOnReconnect) return;
    for (const { key, handlers } of this.#feeds.values()) {
      if (key === undefined) continue;
      this.#read(key).then(
        (entry) => {
          const change: StateChange =
            entry === undefined
              ? { key, type: 'delete', value: undefined, version: 0, updatedAt: Date.now(), resync: true }
              : { key, type: 'set', ...entry, resync: true };
          this.#call(handlers, change);
        },
        (error: unknown) => this.#ctx.reportError(error),
      );
    }
  };

  #dispatch(handlers: Set<ChangeHandler>, channel: string, raw: string): void {
    // A message can still arrive for a feed whose last handler has just unsubscribed.
    if (handlers.size === 0) return;
    const key = channel.slice(this.#ctx.keys.channelPrefix.length);
    let change: StateChange;
    try {
      const { type, version, updatedAt, writer, value } = parseJson<Record<string, unknown>>(raw, key);
      if (typeof type !== 'string' || !CHANGE_TYPES.has(type) || typeof version !== 'number') {
        throw new Error('not a change message');
      }
      change = { key, type: type as ChangeType, value, version, updatedAt: Number(updatedAt) };
      if (typeof writer === 'string') change.writer = writer;
    } catch (error) {
      const message = `malformed change message on '${key}': ${raw.slice(0, 200)}`;
      this.#ctx.reportError(new StateError('MALFORMED_DATA', message, { key, cause: error }));
      return;
    }
    this.#call(handlers, change);
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
