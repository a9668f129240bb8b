import type { DeadLetterStore } from '@shim/connection';
import { MessageBusError } from './errors.js';
import { InboxConsumer } from './inbox-consumer.js';
import { InboxDeadLetters } from './inbox-dead-letters.js';
import { field, inboxMeta } from './inbox-stream.js';
import { checkCount, checkHandler } from './internal/check.js';
import type { BusContext, DeadLetter, InboxEntry, InboxHandler, InboxScope } from './types.js';

/**
 * The durable inbox of one recipient: a Redis Stream read through a consumer group. Delivery is
 * at-least-once: a message is acknowledged (and deleted) only after its handler returned; one read
 * but not acknowledged within `redeliverAfterMs` is delivered again — never while its handler still
 * runs, because the consumer keeps claiming it until the handler ends — and one that fails
 * `maxDeliveries` times goes to a dead-letter stream ({@link Inbox.dead}).
 */
export class Inbox<TMessage = unknown> {
  /**
   * The dead letters of this inbox (its dead-letter stream): list, read, retry (back into the
   * inbox, in one step) and purge them, in the record shape SHIM uses for failed queue jobs too.
   */
  readonly dead: DeadLetterStore<TMessage>;
  readonly #bus: BusContext;
  readonly #scope: InboxScope;
  readonly #deadLetters: InboxDeadLetters<TMessage>;
  #consumer: InboxConsumer | undefined;
  #closing: Promise<void> | undefined;

  /** @internal Made by `MessageBusWrapper.inbox()`. */
  constructor(bus: BusContext, scope: Omit<InboxScope, 'assertOpen'>) {
    this.#bus = bus;
    this.#scope = { ...scope, assertOpen: () => this.#assertOpen() };
    this.#deadLetters = new InboxDeadLetters<TMessage>(bus, this.#scope);
    this.dead = this.#deadLetters;
  }

  /** The recipient this inbox belongs to. */
  get recipient(): string {
    return this.#scope.recipient;
  }

  /**
   * Starts delivering messages to `handler`, oldest first, and resolves once consuming has started
   * with a function that stops it (after the handler in progress, if any, has finished).
   */
  async consume(handler: InboxHandler<TMessage>): Promise<() => Promise<void>> {
    this.#assertOpen();
    checkHandler(handler);
    if (this.#consumer !== undefined) {
      throw new MessageBusError('INVALID_OPTION', 'this inbox is already being consumed');
    }
    const consumer = new InboxConsumer(this.#bus, this.#scope, handler as InboxHandler);
    this.#consumer = consumer;
    // Known to the bus from now on, so its close() can stop a consume() that is still getting ready.
    this.#bus.onConsuming(this, true);
    try {
      await consumer.start();
    } catch (error) {
      this.#forget(consumer);
      throw error;
    }
    let stopped: Promise<void> | undefined;
    return () => (stopped ??= consumer.stop().then(() => this.#forget(consumer)));
  }

  /** Up to `count` waiting messages, oldest first, without consuming them. */
  async peek(count = 10): Promise<Array<InboxEntry<TMessage>>> {
    this.#assertOpen();
    const { keys, recipient } = this.#scope;
    const limit = checkCount(count);
    const entries = await this.#bus.manager.getConnection().xrange(keys.stream, '-', '+', 'COUNT', limit);
    const result: Array<InboxEntry<TMessage>> = [];
    for (const [id, fields] of entries) {
      const envelope = this.#bus.receive(field(fields, 'm'), `inbox:${recipient}`);
      if (envelope === undefined) continue;
      const meta = inboxMeta(recipient, { id, envelope, deliveries: 0 });
      result.push({ id, message: envelope.p as TMessage, meta });
    }
    return result;
  }

  /** Up to `count` dead letters, oldest first, as they are stored ({@link Inbox.dead} gives decoded records). */
  deadLetters(count = 10): Promise<DeadLetter[]> {
    return this.#deadLetters.stored(count);
  }

  /** How many messages were trimmed from this inbox because it reached `inboxMaxLength`. */
  async trimmedCount(): Promise<number> {
    this.#assertOpen();
    // Number(null) is 0: nothing trimmed yet.
    return Number(await this.#bus.manager.getConnection().get(this.#scope.keys.trimmed));
  }

  /** Stops consuming (if it was) and forgets the inbox. Idempotent. Messages stay in Redis. */
  close(): Promise<void> {
    const consumer = this.#consumer;
    this.#closing ??= consumer === undefined ? Promise.resolve() : consumer.stop().then(() => this.#forget(consumer));
    return this.#closing;
  }

  #forget(consumer: InboxConsumer): void {
    if (this.#consumer !== consumer) return;
    this.#consumer = undefined;
    this.#bus.onConsuming(this, false);
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new MessageBusError('BUS_CLOSED', `the inbox of '${this.recipient}' was closed`);
    }
    this.#bus.assertOpen();
  }
}
