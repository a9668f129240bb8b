import { EventEmitter } from 'node:events';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { RedisConnectionManager } from '@shim/connection';
import { emitSafely, isConnectionManagerLike } from '@shim/connection/kit';
import { Envelopes } from './envelopes.js';
import { MessageBusError, MessageValidationError } from './errors.js';
import type { MessageBusEvents } from './events.js';
import { Inbox } from './inbox.js';
import { appendToInbox } from './inbox-stream.js';
import { check, checkHandler } from './internal/check.js';
import { ignore } from './internal/ignore.js';
import { assertSchema, validate } from './internal/schema.js';
import { assertChannel, assertPattern, assertRecipient, busKeys } from './keys.js';
import { resolveBusOptions, resolveInboxOptions, type InboxOptions, type MessageBusOptions } from './options.js';
import { Outbox } from './outbox.js';
import { Subscriptions, type Kind, type Registration } from './subscriptions.js';
import { TypedChannel } from './typed-channel.js';
import type { BusContext, Handler, MessageBusStats, PatternHandler, SendOptions, Unsubscribe } from './types.js';

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
  readonly #bus: BusContext;
  readonly #envelopes: Envelopes;
  readonly #subscriptions: Subscriptions;
  readonly #outbox: Outbox;
  readonly #inboxes = new Set<{ close(): Promise<void> }>();
  readonly #stats: MessageBusStats = { published: 0, delivered: 0, invalid: 0, handlerErrors: 0, gaps: 0, missed: 0 };
  #closing: Promise<void> | undefined;

  /** Validates `options` at once (throws `MessageBusError` `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, options: MessageBusOptions = {}) {
    super();
    if (!isConnectionManagerLike(connection)) {
      check.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
    }
    const resolved = resolveBusOptions(options);
    const envelopes = new Envelopes(resolved);
    this.#envelopes = envelopes;
    const stats = this.#stats;
    // What the subscriptions, inboxes and their consumers share of this bus.
    this.#bus = {
      manager: connection,
      keys: busKeys(connection.namespace),
      stats,
      inboxMaxLength: resolved.inboxMaxLength,
      decode: (raw) => envelopes.decode(raw),
      receive: (raw, channel, pattern) => {
        const envelope = envelopes.decode(raw);
        if (typeof envelope !== 'string') return envelope;
        this.#bus.invalid({ channel, ...(pattern === undefined ? {} : { pattern }), reason: envelope, raw });
        return undefined;
      },
      emit: (event, ...args) => emitSafely(this, event, ...args),
      invalid: (event) => {
        stats.invalid += 1;
        emitSafely(this, 'invalid-message', { ...event, raw: event.raw.slice(0, 200) });
      },
      assertOpen: () => {
        if (this.#closing !== undefined) throw new MessageBusError('BUS_CLOSED', 'the message bus was closed');
      },
      onConsuming: (inbox, consuming) => {
        if (consuming) this.#inboxes.add(inbox);
        else this.#inboxes.delete(inbox);
      },
    };
    this.#subscriptions = new Subscriptions(this.#bus);
    this.#outbox = new Outbox(() => connection.getConnection());
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
    try {
      this.#bus.assertOpen();
      const name = assertChannel(channel);
      raw = this.#envelopes.encode(`c:${name}`, message);
      redisChannel = this.#bus.keys.channel(name);
      this.#bus.manager.getConnection();
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- everything thrown above is an Error
      return Promise.reject(error);
    }
    this.#stats.published += 1;
    return this.#outbox.publish(redisChannel, raw);
  }

  /**
   * Calls `handler(message, meta)` for every message published on `channel` from now on. Resolves once
   * Redis confirmed the subscription, so a publish right after it is received. Handlers of one channel
   * share one Redis subscription.
   */
  async subscribe<TMessage = unknown>(channel: string, handler: Handler<TMessage>): Promise<Unsubscribe> {
    return this.#subscribe('channel', assertChannel(channel), { handler });
  }

  /** Like {@link MessageBusWrapper.subscribe} for every channel matching a Redis glob (`*`, `?`, `[...]`). */
  async subscribePattern<TMessage = unknown>(pattern: string, handler: PatternHandler<TMessage>): Promise<Unsubscribe> {
    return this.#subscribe('pattern', assertPattern(pattern), { handler });
  }

  /** Removes `handler` from `channel` (every handler when omitted); unsubscribes in Redis when none is left. */
  async unsubscribe(channel: string, handler?: Handler<never>): Promise<void> {
    const name = assertChannel(channel);
    this.#bus.assertOpen();
    return this.#subscriptions.remove('channel', name, handler);
  }

  /** Removes `handler` from `pattern` (every handler when omitted). */
  async unsubscribePattern(pattern: string, handler?: PatternHandler<never>): Promise<void> {
    const name = assertPattern(pattern);
    this.#bus.assertOpen();
    return this.#subscriptions.remove('pattern', name, handler);
  }

  /**
   * A channel whose messages are checked by a Standard Schema (zod, valibot, arktype …): `publish`
   * validates before sending, subscribers only ever see valid messages.
   */
  channel<S extends StandardSchemaV1>(name: string, schema: S): TypedChannel<S> {
    this.#bus.assertOpen();
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
    this.#bus.assertOpen();
    const recipient = assertRecipient(recipientId);
    const { schema } = check.object(options, 'options', 'INVALID_OPTION') as SendOptions;
    if (schema !== undefined) {
      const checked = await validate(assertSchema(schema), message);
      if (!checked.ok) throw new MessageValidationError(`inbox:${recipient}`, checked.issues);
    }
    const raw = this.#envelopes.encode(`i:${recipient}`, message);
    const keys = this.#bus.keys.inbox(recipient);
    const maxLength = this.#bus.inboxMaxLength;
    const id = (await appendToInbox(this.#bus.manager.getConnection(), keys, { raw, maxLength }))!;
    this.#stats.published += 1;
    return id;
  }

  /** The durable inbox of `recipientId`: read it in order, peek, consume with acknowledgement, handle its dead letters. */
  inbox<TMessage = unknown>(
    recipientId: string,
    options: InboxOptions & { schema?: StandardSchemaV1 } = {},
  ): Inbox<TMessage> {
    this.#bus.assertOpen();
    const recipient = assertRecipient(recipientId);
    const keys = this.#bus.keys.inbox(recipient);
    return new Inbox<TMessage>(this.#bus, { recipient, keys, options: resolveInboxOptions(options) });
  }

  /**
   * Stops every inbox consumer and drops every subscription of this bus (the manager's subscriber
   * connection is released once nobody else uses it). Idempotent; afterwards every method throws
   * `BUS_CLOSED`. The manager itself stays connected.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Every handler is dropped at once; the unsubscribes and the inbox consumers end meanwhile.
      const unsubscribed = this.#subscriptions.close();
      await Promise.all([...this.#inboxes].map((inbox) => inbox.close().catch(ignore)));
      await unsubscribed;
    })();
    return this.#closing;
  }

  /** Same as {@link MessageBusWrapper.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #subscribe(
    kind: Kind,
    name: string,
    given: { handler: unknown; schema?: StandardSchemaV1 },
  ): Promise<Unsubscribe> {
    this.#bus.assertOpen();
    const handler = checkHandler(given.handler) as Registration['handler'];
    return this.#subscriptions.add(kind, name, { handler, schema: given.schema });
  }
}
