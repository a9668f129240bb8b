import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { RedisConnectionManager } from '@shim/connection';
import { emitSafely, isConnectionManagerLike, luaScript, runLuaScript } from '@shim/connection/kit';
import type { Redis } from 'ioredis';
import { parseEnvelope, type Envelope, type MessageCodec } from './codec.js';
import { MessageBusError, MessageHandlerError, MessageValidationError, formatIssues } from './errors.js';
import type { InvalidMessageEvent, MessageBusEvents } from './events.js';
import { Inbox, type InboxContext } from './inbox.js';
import { check, checkHandler } from './internal/check.js';
import { describeError } from './internal/describe.js';
import { assertSchema, validate } from './internal/schema.js';
import { assertChannel, assertPattern, assertRecipient, busKeys, type BusKeys } from './keys.js';
import { resolveBusOptions, resolveInboxOptions, type InboxOptions, type MessageBusOptions } from './options.js';
import { TypedChannel } from './typed-channel.js';
import type {
  Handler,
  MessageBusStats,
  MessageMeta,
  PatternHandler,
  PatternMessageMeta,
  SendOptions,
  Unsubscribe,
} from './types.js';
import { ignore } from './internal/ignore.js';

type Kind = 'channel' | 'pattern';

interface Registration {
  readonly handler: (message: unknown, meta: PatternMessageMeta) => void | Promise<void>;
  readonly schema: StandardSchemaV1 | undefined;
}

type Dispatch = { kind: Kind; subscription: string; redisChannel: string; raw: string };
type Delivery = { payload: unknown; meta: PatternMessageMeta; raw: string };
type OutboxEntry = {
  redisChannel: string;
  raw: string;
  resolve: (receivers: number) => void;
  reject: (error: Error) => void;
};

const MAX_TRACKED_PUBLISHERS = 10_000;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Typed Redis Pub/Sub (at-most-once) and durable direct messages on Redis Streams
 * (at-least-once), on the connections of a {@link RedisConnectionManager}.
 *
 * @example
 * ```ts
 * const bus = new MessageBusWrapper(manager, { sender: 'worker-1' });
 * await bus.subscribe('task.progress', (message, meta) => console.log(meta.sender, message));
 * await bus.publish('task.progress', { task: 't1', percent: 50 });
 * ```
 */
export class MessageBusWrapper extends EventEmitter<MessageBusEvents> {
  readonly #manager: RedisConnectionManager;
  readonly #keys: BusKeys;
  readonly #codec: MessageCodec;
  readonly #maxBytes: number;
  readonly #inboxMaxLength: number;
  readonly #sender: string | undefined;
  /** Random id of this bus instance: publishers are told apart by it, not by their (optional) names. */
  readonly #src = randomBytes(9).toString('base64url');
  readonly #seq = new Map<string, number>();
  readonly #registrations: Record<Kind, Map<string, Set<Registration>>> = { channel: new Map(), pattern: new Map() };
  readonly #subscribed: Record<Kind, Set<string>> = { channel: new Set(), pattern: new Set() };
  readonly #ops = new Map<string, Promise<void>>();
  /** Per subscription: last sequence number seen per channel and publisher. */
  readonly #lastSeq = new Map<string, Map<string, number>>();
  readonly #inboxes = new Set<{ close(): Promise<void> }>();
  #outbox: OutboxEntry[] = [];
  #batching = false;
  readonly #stats: MessageBusStats = { published: 0, delivered: 0, invalid: 0, handlerErrors: 0, gaps: 0, missed: 0 };
  #subscriber: Promise<Redis> | undefined;
  #closing: Promise<void> | undefined;

  /** Validates `options` at once (throws `MessageBusError` `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, options: MessageBusOptions = {}) {
    super();
    if (!isConnectionManagerLike(connection)) {
      check.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
    }
    const resolved = resolveBusOptions(options);
    this.#manager = connection;
    this.#keys = busKeys(connection.namespace);
    this.#maxBytes = resolved.maxMessageBytes;
    this.#inboxMaxLength = resolved.inboxMaxLength;
    this.#codec = resolved.codec;
    this.#sender = resolved.sender;
  }

  /** Counters since the bus was created. */
  get stats(): Readonly<MessageBusStats> {
    return { ...this.#stats };
  }

  /**
   * Publishes `message` on `channel` (at-most-once: only subscribers connected right now receive it).
   * Resolves with the number of subscriber connections Redis handed it to — a count, not a delivery
   * receipt. Throws before sending anything when the channel name or the message is invalid.
   */
  publish(channel: string, message: unknown): Promise<number> {
    let redisChannel: string;
    let raw: string;
    let redis: Redis;
    try {
      this.#assertOpen();
      const name = assertChannel(channel);
      raw = this.#encode(`c:${name}`, message);
      redisChannel = this.#keys.channel(name);
      redis = this.#manager.getConnection();
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- everything thrown above is an Error
      return Promise.reject(error);
    }
    this.#stats.published += 1;
    if (!this.#batching) {
      // The first PUBLISH of a tick goes out at once (no added latency); the ones after it in the
      // same tick are batched behind it and flushed together at the end of the tick.
      this.#batching = true;
      queueMicrotask(this.#flushOutbox);
      return redis.publish(redisChannel, raw);
    }
    return new Promise<number>((resolve, reject) => {
      this.#outbox.push({ redisChannel, raw, resolve, reject });
    });
  }

  /**
   * Sends the PUBLISHes queued behind the first one of this tick as one pipeline: one socket write
   * instead of one per message (the write dominates the cost of a small PUBLISH). Order is kept; each
   * caller still gets its own reply or error.
   */
  readonly #flushOutbox = (): void => {
    this.#batching = false;
    const batch = this.#outbox;
    if (batch.length === 0) return;
    this.#outbox = [];
    const rejectAll = (error: unknown): void => {
      for (const entry of batch) entry.reject(error as Error);
    };
    let pipeline: ReturnType<Redis['pipeline']>;
    try {
      pipeline = this.#manager.getConnection().pipeline();
    } catch (error) {
      // The manager was disconnected within this tick.
      rejectAll(error);
      return;
    }
    for (const entry of batch) pipeline.publish(entry.redisChannel, entry.raw);
    pipeline.exec().then((results) => {
      batch.forEach((entry, index) => {
        // exec() resolves with one [error, reply] per queued command.
        const [error, receivers] = results![index]!;
        if (error === null) entry.resolve(receivers as number);
        else entry.reject(error);
      });
    }, rejectAll);
  };

  /**
   * Calls `handler(message, meta)` for every message published on `channel` from now on. Resolves once
   * Redis confirmed the subscription, so a publish right after it is received. Handlers of one channel
   * share one Redis subscription.
   */
  async subscribe<TMessage = unknown>(channel: string, handler: Handler<TMessage>): Promise<Unsubscribe> {
    return this.#subscribe('channel', assertChannel(channel), {
      handler: handler as Registration['handler'],
      schema: undefined,
    });
  }

  /** Like {@link MessageBusWrapper.subscribe} for every channel matching a Redis glob (`*`, `?`, `[...]`). */
  async subscribePattern<TMessage = unknown>(pattern: string, handler: PatternHandler<TMessage>): Promise<Unsubscribe> {
    return this.#subscribe('pattern', assertPattern(pattern), {
      handler: handler as Registration['handler'],
      schema: undefined,
    });
  }

  /** Removes `handler` from `channel` (every handler when omitted); unsubscribes in Redis when none is left. */
  async unsubscribe(channel: string, handler?: Handler<never>): Promise<void> {
    return this.#remove('channel', this.#keys.channel(assertChannel(channel)), handler);
  }

  /** Removes `handler` from `pattern` (every handler when omitted). */
  async unsubscribePattern(pattern: string, handler?: PatternHandler<never>): Promise<void> {
    return this.#remove('pattern', this.#keys.pattern(assertPattern(pattern)), handler);
  }

  /**
   * A channel whose messages are checked by a Standard Schema (zod, valibot, arktype …): `publish`
   * validates before sending, subscribers only ever see valid messages.
   */
  channel<S extends StandardSchemaV1>(name: string, schema: S): TypedChannel<S> {
    this.#assertOpen();
    return new TypedChannel({
      name: assertChannel(name),
      schema: assertSchema(schema) as S,
      publish: (data) => this.publish(name, data),
      subscribe: (handler) => this.#subscribe('channel', name, { handler, schema }),
      unsubscribe: (handler) => this.unsubscribe(name, handler),
    });
  }

  /**
   * Appends `message` to `recipientId`'s durable inbox (a Redis Stream) and wakes it if it listens.
   * Resolves with the message's stream id. At-least-once: see {@link MessageBusWrapper.inbox}.
   */
  async send(recipientId: string, message: unknown, options: SendOptions = {}): Promise<string> {
    this.#assertOpen();
    const recipient = assertRecipient(recipientId);
    const { schema } = check.object(options, 'options', 'INVALID_OPTION') as SendOptions;
    if (schema !== undefined) {
      const checked = await validate(assertSchema(schema), message);
      if (!checked.ok) throw new MessageValidationError(`inbox:${recipient}`, checked.issues);
    }
    const raw = this.#encode(`i:${recipient}`, message);
    const keys = this.#keys.inbox(recipient);
    const id = (await runLuaScript(this.#manager.getConnection(), SEND_SCRIPT, {
      keys: [keys.stream, keys.trimmed],
      args: [raw, this.#inboxMaxLength],
    })) as string;
    this.#stats.published += 1;
    return id;
  }

  /** The durable inbox of `recipientId`: read it in order, peek, or consume with acknowledgement. */
  inbox<TMessage = unknown>(
    recipientId: string,
    options: InboxOptions & { schema?: StandardSchemaV1 } = {},
  ): Inbox<TMessage> {
    this.#assertOpen();
    const recipient = assertRecipient(recipientId);
    const resolved = resolveInboxOptions(options);
    const context: InboxContext = {
      manager: this.#manager,
      keys: this.#keys.inbox(recipient),
      recipient,
      assertBusOpen: () => this.#assertOpen(),
      decode: (raw) => this.#decode(raw),
      onError: (error) => {
        this.#emit('error', error);
      },
      onDeadLetter: (event) => {
        this.#emit('dead-letter', event);
      },
      onInvalid: (event) => {
        this.#invalid(event);
      },
      onConsuming: (inbox, consuming) => {
        if (consuming) this.#inboxes.add(inbox);
        else this.#inboxes.delete(inbox);
      },
    };
    return new Inbox<TMessage>(context, resolved);
  }

  /**
   * Stops every inbox consumer, drops every subscription and releases the subscriber connection.
   * Idempotent; afterwards every method throws `BUS_CLOSED`. The manager itself stays connected.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@link MessageBusWrapper.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- encoding

  #encode(sequenceKey: string, message: unknown): string {
    if (message === undefined) {
      throw new MessageBusError('UNSERIALIZABLE_MESSAGE', 'message is undefined: send null or an object instead');
    }
    const seq = (this.#seq.get(sequenceKey) ?? 0) + 1;
    const envelope: Envelope = { v: 1, id: `${this.#src}:${seq}`, ts: Date.now(), src: this.#src, seq, p: message };
    if (this.#sender !== undefined) envelope.s = this.#sender;
    let raw: string;
    try {
      raw = this.#codec.encode(envelope);
    } catch (error) {
      if (error instanceof MessageBusError) throw error;
      throw new MessageBusError(
        'UNSERIALIZABLE_MESSAGE',
        `the codec could not encode the message: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes: only count bytes when the limit is in reach.
    if (raw.length * 3 > this.#maxBytes && Buffer.byteLength(raw) > this.#maxBytes) {
      throw new MessageBusError(
        'MESSAGE_TOO_LARGE',
        `message is ${Buffer.byteLength(raw)} bytes encoded, over the limit of ${this.#maxBytes} (option maxMessageBytes)`,
      );
    }
    this.#seq.set(sequenceKey, seq);
    return raw;
  }

  #decode(raw: string): Envelope | string {
    // A UTF-16 unit is at most 3 UTF-8 bytes: only count bytes when the limit is in reach.
    if (raw.length * 3 > this.#maxBytes && Buffer.byteLength(raw) > this.#maxBytes) {
      return `larger than ${this.#maxBytes} bytes`;
    }
    let value: unknown;
    try {
      value = this.#codec.decode(raw);
    } catch (error) {
      return `cannot be decoded: ${describeError(error)}`;
    }
    return parseEnvelope(value);
  }

  // ---------------------------------------------------------------- subscriptions

  async #subscribe(kind: Kind, name: string, registration: Registration): Promise<Unsubscribe> {
    this.#assertOpen();
    checkHandler(registration.handler);
    const redisName = kind === 'channel' ? this.#keys.channel(name) : this.#keys.pattern(name);
    const map = this.#registrations[kind];
    let set = map.get(redisName);
    if (set === undefined) {
      set = new Set();
      map.set(redisName, set);
    }
    set.add(registration);
    try {
      await this.#reconcile(kind, redisName);
    } catch (error) {
      set.delete(registration);
      await this.#reconcile(kind, redisName).catch(ignore);
      throw error;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      this.#registrations[kind].get(redisName)?.delete(registration);
      await this.#reconcile(kind, redisName);
    };
  }

  async #remove(kind: Kind, redisName: string, handler: ((...args: never[]) => unknown) | undefined): Promise<void> {
    this.#assertOpen();
    const set = this.#registrations[kind].get(redisName);
    if (set === undefined) return;
    for (const registration of set) {
      if (handler === undefined || registration.handler === handler) set.delete(registration);
    }
    await this.#reconcile(kind, redisName);
  }

  /** Brings Redis in line with the handlers of `redisName`, one operation at a time per name. */
  #reconcile(kind: Kind, redisName: string): Promise<void> {
    const key = `${kind}:${redisName}`;
    const next = (this.#ops.get(key) ?? Promise.resolve()).then(async () => {
      // Re-read the wanted state after every await: a subscribe or unsubscribe may have come in meanwhile.
      for (;;) {
        // Once closing, the subscriber connection is being released: only the maps change.
        if (this.#closing !== undefined) return;
        const wanted = (this.#registrations[kind].get(redisName)?.size ?? 0) > 0;
        const subscribed = this.#subscribed[kind].has(redisName);
        if (wanted === subscribed) break;
        const subscriber = await this.#getSubscriber();
        if (wanted) {
          if (kind === 'channel') await subscriber.subscribe(redisName);
          else await subscriber.psubscribe(redisName);
          this.#subscribed[kind].add(redisName);
        } else {
          if (kind === 'channel') await subscriber.unsubscribe(redisName);
          else await subscriber.punsubscribe(redisName);
          this.#subscribed[kind].delete(redisName);
          // Sequence numbers seen before the unsubscribe say nothing about what comes after a new subscribe.
          this.#lastSeq.delete(`${kind}:${redisName}`);
        }
      }
      if (this.#registrations[kind].get(redisName)?.size === 0) this.#registrations[kind].delete(redisName);
    });
    const settled = next.catch(ignore);
    this.#ops.set(key, settled);
    void settled.then(() => {
      if (this.#ops.get(key) === settled) this.#ops.delete(key);
    });
    return next;
  }

  #getSubscriber(): Promise<Redis> {
    this.#subscriber ??= this.#manager.createConnection('subscriber').then((subscriber) => {
      subscriber.on('message', this.#onMessage);
      subscriber.on('pmessage', this.#onPatternMessage);
      return subscriber;
    });
    const pending = this.#subscriber;
    // A failed creation is not cached: the next subscribe tries again.
    pending.catch(() => {
      if (this.#subscriber === pending) this.#subscriber = undefined;
    });
    return pending;
  }

  readonly #onMessage = (redisChannel: string, raw: string): void => {
    this.#dispatch({ kind: 'channel', subscription: redisChannel, redisChannel, raw });
  };

  readonly #onPatternMessage = (pattern: string, redisChannel: string, raw: string): void => {
    this.#dispatch({ kind: 'pattern', subscription: pattern, redisChannel, raw });
  };

  #dispatch({ kind, subscription, redisChannel, raw }: Dispatch): void {
    const registrations = this.#registrations[kind].get(subscription);
    if (registrations === undefined || registrations.size === 0) return;
    const channel = this.#keys.userChannel(redisChannel);
    const pattern = kind === 'pattern' ? this.#keys.userChannel(subscription) : undefined;
    const envelope = this.#decode(raw);
    if (typeof envelope === 'string') {
      this.#invalid({ channel, ...(pattern === undefined ? {} : { pattern }), reason: envelope, raw });
      return;
    }
    this.#trackGap(`${kind}:${subscription}`, channel, envelope);
    const meta: PatternMessageMeta = {
      channel,
      id: envelope.id,
      sentAt: envelope.ts,
      seq: envelope.seq,
    } as PatternMessageMeta;
    if (envelope.s !== undefined) meta.sender = envelope.s;
    if (pattern !== undefined) meta.pattern = pattern;
    for (const registration of registrations) this.#deliver(registration, { payload: envelope.p, meta, raw });
  }

  #deliver(registration: Registration, { payload, meta, raw }: Delivery): void {
    const { schema } = registration;
    if (schema === undefined) {
      this.#call(registration, payload, meta);
      return;
    }
    const onResult = (result: StandardSchemaV1.Result<unknown>): void => {
      if (result.issues === undefined) this.#call(registration, result.value, meta);
      else this.#invalid({ channel: meta.channel, reason: `schema: ${formatIssues(result.issues)}`, raw });
    };
    const onThrow = (error: unknown): void => {
      this.#invalid({ channel: meta.channel, reason: `schema validator threw: ${describeError(error)}`, raw });
    };
    try {
      const result = schema['~standard'].validate(payload);
      // Sync validators (most) keep delivery in arrival order without a microtask hop.
      if (isPromiseLike(result)) result.then(onResult, onThrow);
      else onResult(result);
    } catch (error) {
      onThrow(error);
    }
  }

  #call(registration: Registration, payload: unknown, meta: PatternMessageMeta): void {
    this.#stats.delivered += 1;
    try {
      const result = registration.handler(payload, meta);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.#handlerFailed(meta, error));
    } catch (error) {
      this.#handlerFailed(meta, error);
    }
  }

  #handlerFailed(meta: MessageMeta, error: unknown): void {
    this.#stats.handlerErrors += 1;
    this.#emit('error', new MessageHandlerError(meta.channel, meta.id, error));
  }

  #trackGap(subscription: string, channel: string, envelope: Envelope): void {
    // Publishers number their messages per channel: a pattern subscription tracks each matched channel apart.
    let seen = this.#lastSeq.get(subscription);
    if (seen === undefined) {
      seen = new Map();
      this.#lastSeq.set(subscription, seen);
    }
    const key = `${channel}\u0000${envelope.src}`;
    const last = seen.get(key);
    if (last !== undefined && envelope.seq <= last) return;
    if (last !== undefined && envelope.seq > last + 1) {
      const missed = envelope.seq - last - 1;
      this.#stats.gaps += 1;
      this.#stats.missed += missed;
      this.#emit('gap', { channel, sender: envelope.s ?? envelope.src, missed });
    }
    seen.set(key, envelope.seq);
    // Bounded memory: past the cap, forget the publisher (and channel) seen first; its next message starts afresh.
    if (seen.size > MAX_TRACKED_PUBLISHERS) seen.delete(seen.keys().next().value as string);
  }

  #invalid(event: InvalidMessageEvent): void {
    this.#stats.invalid += 1;
    this.#emit('invalid-message', { ...event, raw: event.raw.slice(0, 200) });
  }

  // ---------------------------------------------------------------- lifecycle

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new MessageBusError('BUS_CLOSED', 'the message bus was closed');
  }

  async #shutdown(): Promise<void> {
    await Promise.all([...this.#inboxes].map((inbox) => inbox.close().catch(ignore)));
    this.#registrations.channel.clear();
    this.#registrations.pattern.clear();
    await Promise.allSettled(this.#ops.values());
    const pending = this.#subscriber;
    this.#subscriber = undefined;
    if (pending === undefined) return;
    const subscriber = await pending.catch(ignore);
    if (subscriber === undefined) return;
    subscriber.off('message', this.#onMessage);
    subscriber.off('pmessage', this.#onPatternMessage);
    this.#subscribed.channel.clear();
    this.#subscribed.pattern.clear();
    // Closing the connection ends every subscription in Redis.
    await this.#manager.releaseConnection(subscriber);
  }

  /** Emits without ever throwing: an `error` with no listener is dropped; a throwing listener is routed to `error`. */
  #emit<K extends keyof MessageBusEvents>(event: K, ...args: MessageBusEvents[K]): void {
    emitSafely(this, event, ...args);
  }
}

/**
 * Appends to the inbox stream, trims it to ARGV[2] entries and counts what was trimmed, atomically.
 * KEYS: stream, trimmed counter (same hash tag). ARGV: encoded message, max length.
 */
const SEND_SCRIPT = luaScript(`
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[1])
local trimmed = redis.call('XTRIM', KEYS[1], 'MAXLEN', tonumber(ARGV[2]))
if trimmed > 0 then redis.call('INCRBY', KEYS[2], trimmed) end
return id
`);
