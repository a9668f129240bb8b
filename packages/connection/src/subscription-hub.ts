import type { Redis } from 'ioredis';
import { toError } from './emit.js';
import type { RedisConnectionManager } from './redis-connection-manager.js';

/** Called with each message of a channel subscription. */
export type ChannelListener = (message: string, channel: string) => void;

/** Called with each message of a pattern subscription: the channel it came on and the pattern that matched. */
export type PatternListener = (message: string, channel: string, pattern: string) => void;

/** Options of {@link SubscriptionHub.subscribe} and {@link SubscriptionHub.psubscribe}. */
export interface HubSubscribeOptions {
  /**
   * Where a throw of this subscription's listener goes (the other listeners are called anyway).
   * @defaultValue the throw is dropped
   */
  onError?: ((error: unknown) => void) | undefined;
}

/** Ends one subscription; unsubscribes in Redis when it was the last one on its channel or pattern. Idempotent. */
export type HubUnsubscribe = () => Promise<void>;

type Kind = 'channel' | 'pattern';

interface Entry {
  readonly listener: (message: string, channel: string, pattern: string) => void;
  readonly onError: ((error: unknown) => void) | undefined;
}

const KINDS: readonly Kind[] = ['channel', 'pattern'];
const HUB = Symbol.for('@shim/connection.subscription-hub');

/**
 * The one Pub/Sub subscriber of a {@link RedisConnectionManager}, shared by every SHIM package of
 * a process: one subscriber connection per manager, opened at the first subscription and released
 * after the last; channels and patterns reference-counted (Redis hears one SUBSCRIBE however many
 * listeners share it); listeners isolated from each other's throws. Changes to Redis' subscriptions
 * run one batch at a time, so a subscribe racing an unsubscribe of the same name never ends with
 * the name wanted but not subscribed. ioredis resubscribes after a reconnect
 * (`autoResubscribe`); {@link SubscriptionHub.onResubscribed} tells when that is done.
 *
 * Get it with {@link subscriptionHub}; do not construct one per package.
 */
export class SubscriptionHub {
  readonly #manager: RedisConnectionManager;
  readonly #wanted: Record<Kind, Map<string, Set<Entry>>> = { channel: new Map(), pattern: new Map() };
  readonly #subscribed: Record<Kind, Set<string>> = { channel: new Set(), pattern: new Set() };
  readonly #resubscribed = new Set<() => void>();
  #connection: Redis | undefined;
  #running: Promise<void> | undefined;
  /** Why a name could not be subscribed, by `<kind>:<name>`, until its caller read it. */
  readonly #failures = new Map<string, Error>();
  #queued: Promise<void> | undefined;

  /** @internal Use {@link subscriptionHub}: one hub per manager. */
  constructor(manager: RedisConnectionManager) {
    this.#manager = manager;
  }

  /** The subscriber connection, while one is open. */
  get connection(): Redis | undefined {
    return this.#connection;
  }

  /** Channels and patterns subscribed in Redis right now. */
  get subscriptions(): { channels: string[]; patterns: string[] } {
    return { channels: [...this.#subscribed.channel], patterns: [...this.#subscribed.pattern] };
  }

  /** Calls `listener` for every message on `channel` (a full Redis channel name) from the moment the promise resolves. */
  subscribe(channel: string, listener: ChannelListener, options: HubSubscribeOptions = {}): Promise<HubUnsubscribe> {
    return this.#add('channel', channel, { listener, onError: options.onError });
  }

  /** Calls `listener` for every message on a channel matching the Redis glob `pattern` (with the namespace already in it). */
  psubscribe(pattern: string, listener: PatternListener, options: HubSubscribeOptions = {}): Promise<HubUnsubscribe> {
    return this.#add('pattern', pattern, { listener, onError: options.onError });
  }

  /**
   * Calls `listener` each time the subscriber connection came back after a drop and every
   * subscription is active again in Redis. Messages published while it was down were not
   * delivered: re-read what matters. Returns a function that removes the listener.
   */
  onResubscribed(listener: () => void): () => void {
    this.#resubscribed.add(listener);
    return () => {
      this.#resubscribed.delete(listener);
    };
  }

  async #add(kind: Kind, name: string, entry: Entry): Promise<HubUnsubscribe> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError(`${kind} must be a non-empty string`);
    if (typeof entry.listener !== 'function') throw new TypeError('listener must be a function');
    let entries = this.#wanted[kind].get(name);
    if (entries === undefined) {
      entries = new Set();
      this.#wanted[kind].set(name, entries);
    }
    entries.add(entry);
    // A name subscribed in Redis, with no sync under way that could take it away, needs no round trip.
    const settled = this.#running === undefined && this.#queued === undefined && this.#live();
    if (!settled || !this.#subscribed[kind].has(name)) {
      await this.#sync();
      if (!this.#subscribed[kind].has(name)) {
        this.#drop(kind, name, entry);
        // Bring Redis back in line (releasing a connection opened for nothing).
        const error = this.#failures.get(`${kind}:${name}`) ?? new Error(`the ${kind} ${name} could not be subscribed`);
        this.#failures.delete(`${kind}:${name}`);
        await this.#sync();
        throw error;
      }
    }
    let removed: Promise<void> | undefined;
    return () => {
      removed ??= (async () => {
        this.#drop(kind, name, entry);
        await this.#sync();
      })();
      return removed;
    };
  }

  #drop(kind: Kind, name: string, entry: Entry): void {
    const entries = this.#wanted[kind].get(name);
    if (entries === undefined) return;
    entries.delete(entry);
    if (entries.size === 0) this.#wanted[kind].delete(name);
  }

  /**
   * Brings Redis in line with the wanted subscriptions; never rejects (a name that could not be
   * subscribed is left out of `#subscribed`, with its error in `#failures`). Calls made while a sync
   * runs share the next one, so a burst of subscriptions costs one SUBSCRIBE, and each caller's
   * change is in the sync it waits for.
   */
  #sync(): Promise<void> {
    this.#queued ??= (this.#running ?? Promise.resolve()).then(() => {
      this.#queued = undefined;
      this.#running = this.#syncOnce().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    });
    return this.#queued;
  }

  async #syncOnce(): Promise<void> {
    this.#live();
    for (const kind of KINDS) {
      const add = [...this.#wanted[kind].keys()].filter((name) => !this.#subscribed[kind].has(name));
      const remove = [...this.#subscribed[kind]].filter((name) => !this.#wanted[kind].has(name));
      if (remove.length > 0) await this.#unsubscribe(kind, remove);
      if (add.length > 0) await this.#subscribeAll(kind, add);
    }
    if (this.#wanted.channel.size === 0 && this.#wanted.pattern.size === 0) await this.#release();
  }

  /** SUBSCRIBEs `names` in one command; when that fails, one by one, so one refused name (an ACL, say) fails only its own callers. */
  async #subscribeAll(kind: Kind, names: string[]): Promise<void> {
    let connection: Redis;
    try {
      connection = await this.#open();
    } catch (error) {
      for (const name of names) this.#failures.set(`${kind}:${name}`, toError(error));
      return;
    }
    const send = (batch: string[]): Promise<unknown> =>
      kind === 'channel' ? connection.subscribe(...batch) : connection.psubscribe(...batch);
    const batches = await send(names).then(
      () => [],
      () => names.map((name) => [name]),
    );
    if (batches.length === 0) for (const name of names) this.#subscribed[kind].add(name);
    for (const [name] of batches as Array<[string]>) {
      try {
        await send([name]);
        this.#subscribed[kind].add(name);
        this.#failures.delete(`${kind}:${name}`);
      } catch (error) {
        this.#failures.set(`${kind}:${name}`, toError(error));
      }
    }
  }

  async #unsubscribe(kind: Kind, names: string[]): Promise<void> {
    const connection = this.#connection as Redis;
    for (const name of names) this.#subscribed[kind].delete(name);
    const sent = kind === 'channel' ? connection.unsubscribe(...names) : connection.punsubscribe(...names);
    // While the connection is down, do not hold every later (un)subscribe behind the offline window:
    // the messages of a name nobody wants are dropped anyway, and releasing the connection ends it.
    if (connection.status === 'ready') await sent.catch(() => undefined);
    else sent.catch(() => undefined);
  }

  /** False (and the connection forgotten, with every subscription it held) once it has ended for good or the manager closed. */
  #live(): boolean {
    const connection = this.#connection;
    if (connection === undefined) return false;
    if (connection.status !== 'end' && this.#manager.state !== 'closed') return true;
    this.#detach(connection);
    this.#subscribed.channel.clear();
    this.#subscribed.pattern.clear();
    return false;
  }

  async #open(): Promise<Redis> {
    if (this.#connection !== undefined) return this.#connection;
    const connection = await this.#manager.createConnection('subscriber');
    connection.on('message', this.#onMessage);
    connection.on('pmessage', this.#onPatternMessage);
    connection.on('ready', this.#onReady);
    this.#connection = connection;
    return connection;
  }

  async #release(): Promise<void> {
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#detach(connection);
    this.#subscribed.channel.clear();
    this.#subscribed.pattern.clear();
    await this.#manager.releaseConnection(connection);
  }

  #detach(connection: Redis): void {
    this.#connection = undefined;
    connection.off('message', this.#onMessage);
    connection.off('pmessage', this.#onPatternMessage);
    connection.off('ready', this.#onReady);
  }

  readonly #onMessage = (channel: string, message: string): void => {
    this.#deliver(this.#wanted.channel.get(channel), [message, channel, '']);
  };

  readonly #onPatternMessage = (pattern: string, channel: string, message: string): void => {
    this.#deliver(this.#wanted.pattern.get(pattern), [message, channel, pattern]);
  };

  #deliver(entries: Set<Entry> | undefined, args: [message: string, channel: string, pattern: string]): void {
    // A message can still arrive for a name whose last listener has just gone.
    if (entries === undefined) return;
    for (const entry of entries) {
      try {
        entry.listener(...args);
      } catch (error) {
        try {
          entry.onError?.(error);
        } catch {
          // An error handler that throws has nowhere left to report to.
        }
      }
    }
  }

  // ioredis emits 'ready' after it sent the resubscribe commands of a reconnect (and at the first connect).
  readonly #onReady = (): void => {
    const connection = this.#connection;
    if (connection === undefined || this.#resubscribed.size === 0) return;
    // The PING's reply comes after those of the resubscribe commands: from then on, messages arrive.
    connection.ping().then(
      () => {
        if (this.#connection !== connection) return;
        for (const listener of [...this.#resubscribed]) {
          try {
            listener();
          } catch {
            // Listeners report their own failures; one must not keep the others from hearing.
          }
        }
      },
      () => undefined,
    );
  };
}

/**
 * The {@link SubscriptionHub} of `manager`, made on first use. Kept on the manager itself, so
 * every package (and an ESM and a CJS copy of this one) shares the same hub and connection.
 */
export function subscriptionHub(manager: RedisConnectionManager): SubscriptionHub {
  const holder = manager as unknown as { [HUB]?: SubscriptionHub };
  holder[HUB] ??= new SubscriptionHub(manager);
  return holder[HUB];
}
