import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { RedisConnectionManager } from '@shim/connection';
import { luaScript, runLuaScript } from '@shim/connection/kit';
import type { Redis } from 'ioredis';
import type { Envelope } from './codec.js';
import { MessageBusError, MessageHandlerError, formatIssues } from './errors.js';
import type { DeadLetterEvent, InvalidMessageEvent } from './events.js';
import { validate } from './internal/schema.js';
import type { ResolvedInboxOptions } from './options.js';
import { checkCount, checkHandler } from './internal/check.js';
import { describeError } from './internal/describe.js';
import { ignore } from './internal/ignore.js';
import type { DeadLetter, InboxEntry, InboxHandler, InboxMessageMeta } from './types.js';

/** @internal What an {@link Inbox} needs from its bus. */
export interface InboxContext {
  manager: RedisConnectionManager;
  keys: { stream: string; dead: string; trimmed: string };
  recipient: string;
  /** Throws `BUS_CLOSED` once the bus that made this inbox was closed. */
  assertBusOpen(): void;
  decode(raw: string): Envelope | string;
  onError(error: Error): void;
  onDeadLetter(event: DeadLetterEvent): void;
  onInvalid(event: InvalidMessageEvent): void;
  /** Called when consuming starts (true) and stops (false): the bus stops consuming inboxes on close(). */
  onConsuming(inbox: { close(): Promise<void> }, consuming: boolean): void;
}

/** Consumer group every inbox uses: instances of one recipient share (and split) its messages. */
const GROUP = 'shim-inbox';
const DEAD_LETTER_MAX_LENGTH = 10_000;

/** KEYS: inbox stream, dead-letter stream. ARGV: id, raw, reason, deliveries, max length. */
const DEAD_LETTER_SCRIPT = luaScript(`
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'm', ARGV[2], 'reason', ARGV[3], 'deliveries', ARGV[4], 'id', ARGV[1])
redis.call('XACK', KEYS[1], '${GROUP}', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
`);

/** An entry as XRANGE/XREADGROUP return it; XAUTOCLAIM on Redis 6.2 gives `null` fields for deleted entries. */
type StreamEntry = [id: string, fields: string[] | null];

/** The value of `name` in a flat `[field, value, …]` list, or '' when it is absent. */
function field(fields: readonly string[], name: string): string {
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === name) return fields[index + 1] ?? '';
  return '';
}

/**
 * The durable inbox of one recipient: a Redis Stream read through a consumer group. Delivery is
 * at-least-once: a message is acknowledged (and deleted) only after its handler returned; one read
 * but not acknowledged within `redeliverAfterMs` is delivered again — never while its handler still
 * runs, because the consumer keeps claiming it until the handler ends — and one that fails
 * `maxDeliveries` times goes to a dead-letter stream.
 */
export class Inbox<TMessage = unknown> {
  readonly #context: InboxContext;
  readonly #redeliverAfterMs: number;
  readonly #maxDeliveries: number;
  readonly #batchSize: number;
  readonly #blockMs: number;
  readonly #schema: StandardSchemaV1 | undefined;
  readonly #consumer = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  #loop: Promise<void> | undefined;
  #blocking: Redis | undefined;
  #blockingId: string | undefined;
  #stopping = false;
  #starting: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  /** Ids read (or claimed) but not finished yet: all of them are kept ours while we work through them. */
  readonly #held = new Set<string>();
  #keepAlive: NodeJS.Timeout | undefined;
  /** Where the next XAUTOCLAIM scan starts (it walks the pending list in steps). */
  #claimCursor = '0-0';

  /** @internal Made by `MessageBusWrapper.inbox()`. */
  constructor(context: InboxContext, options: ResolvedInboxOptions) {
    this.#context = context;
    this.#redeliverAfterMs = options.redeliverAfterMs;
    this.#maxDeliveries = options.maxDeliveries;
    this.#batchSize = options.batchSize;
    // Idle reads wake up this often to redeliver what others left unacknowledged.
    this.#blockMs = Math.min(5_000, this.#redeliverAfterMs);
    this.#schema = options.schema;
  }

  /** The recipient this inbox belongs to. */
  get recipient(): string {
    return this.#context.recipient;
  }

  /**
   * Starts delivering messages to `handler`, oldest first, and resolves once consuming has started
   * with a function that stops it (after the handler in progress, if any, has finished).
   */
  async consume(handler: InboxHandler<TMessage>): Promise<() => Promise<void>> {
    this.#assertOpen();
    checkHandler(handler);
    if (this.#loop !== undefined || this.#starting !== undefined) {
      throw new MessageBusError('INVALID_OPTION', 'this inbox is already being consumed');
    }
    this.#stopping = false;
    // Known to the bus from now on, so its close() can stop a consume() that is still getting ready.
    this.#context.onConsuming(this, true);
    const starting = this.#start(handler as InboxHandler);
    this.#starting = starting.catch(ignore);
    try {
      await starting;
    } catch (error) {
      this.#context.onConsuming(this, false);
      throw error;
    } finally {
      this.#starting = undefined;
    }
    let stopped: Promise<void> | undefined;
    return () => (stopped ??= this.#stop());
  }

  async #start(handler: InboxHandler): Promise<void> {
    const { manager } = this.#context;
    await this.#ensureGroup(manager.getConnection());
    const blocking = await manager.createConnection('blocking');
    try {
      this.#blockingId = String(await blocking.client('ID'));
      // close() may have been called while we were getting ready.
      if (this.#stopping) throw new MessageBusError('BUS_CLOSED', `the inbox of '${this.recipient}' was closed`);
    } catch (error) {
      await manager.releaseConnection(blocking);
      throw error;
    }
    this.#blocking = blocking;
    blocking.on('ready', this.#refreshBlockingId);
    this.#keepAlive = setInterval(this.#claimHeld, Math.max(20, Math.floor(this.#redeliverAfterMs / 3)));
    this.#keepAlive.unref();
    this.#loop = this.#run(handler, blocking);
  }

  /**
   * Resets the idle time of every message we hold (the one whose handler runs and the rest of its
   * batch), so no consumer — us included — redelivers them while we still work through them.
   */
  readonly #claimHeld = (): void => {
    if (this.#held.size === 0) return;
    try {
      this.#context.manager
        .getConnection()
        .xclaim(this.#context.keys.stream, GROUP, this.#consumer, 0, ...this.#held, 'JUSTID')
        .catch(ignore);
    } catch {
      // The manager is closing: the loop is ending too.
    }
  };

  /** Up to `count` waiting messages, oldest first, without consuming them. */
  async peek(count = 10): Promise<InboxEntry<TMessage>[]> {
    this.#assertOpen();
    const limit = checkCount(count);
    const entries = await this.#context.manager
      .getConnection()
      .xrange(this.#context.keys.stream, '-', '+', 'COUNT', limit);
    const result: InboxEntry<TMessage>[] = [];
    for (const [id, fields] of entries) {
      const envelope = this.#decode(field(fields, 'm'));
      if (envelope === undefined) continue;
      result.push({ id, message: envelope.p as TMessage, meta: this.#meta(id, envelope, 0) });
    }
    return result;
  }

  /** Up to `count` dead letters, oldest first. */
  async deadLetters(count = 10): Promise<DeadLetter[]> {
    this.#assertOpen();
    const limit = checkCount(count);
    const entries = await this.#context.manager
      .getConnection()
      .xrange(this.#context.keys.dead, '-', '+', 'COUNT', limit);
    return entries.map(([id, fields]) => ({
      id,
      originalId: field(fields, 'id'),
      reason: field(fields, 'reason'),
      deliveryCount: Number(field(fields, 'deliveries')),
      raw: field(fields, 'm'),
    }));
  }

  /** How many messages were trimmed from this inbox because it reached `inboxMaxLength`. */
  async trimmedCount(): Promise<number> {
    this.#assertOpen();
    // Number(null) is 0: nothing trimmed yet.
    return Number(await this.#context.manager.getConnection().get(this.#context.keys.trimmed));
  }

  /** Stops consuming (if it was) and forgets the inbox. Idempotent. Messages stay in Redis. */
  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  // ---------------------------------------------------------------- consuming

  readonly #refreshBlockingId = (): void => {
    // A reconnect gives the blocking connection a new client id; CLIENT UNBLOCK needs the current one.
    void this.#blocking
      ?.client('ID')
      .then((id) => {
        this.#blockingId = String(id);
      })
      .catch(ignore);
  };

  async #ensureGroup(command: Redis): Promise<void> {
    try {
      // From '0': messages sent before the recipient ever ran are delivered too.
      await command.xgroup('CREATE', this.#context.keys.stream, GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
    }
  }

  async #run(handler: InboxHandler, blocking: Redis): Promise<void> {
    const { stream } = this.#context.keys;
    let failures = 0;
    while (!this.#stopping) {
      try {
        const command = this.#context.manager.getConnection();
        await this.#reclaim(handler, command);
        if (this.#stopping) break;
        const reply = await blocking.xreadgroup(
          'GROUP',
          GROUP,
          this.#consumer,
          'COUNT',
          this.#batchSize,
          'BLOCK',
          this.#blockMs,
          'STREAMS',
          stream,
          '>',
        );
        await this.#processAll(
          handler,
          (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields, deliveries: 1 })),
        );
        failures = 0;
      } catch (error) {
        // A closed manager (or a released connection) ends the loop instead of retrying forever.
        if (this.#stopping || blocking.status === 'end' || (error as { code?: unknown }).code === 'MANAGER_CLOSED')
          break;
        failures += 1;
        if (error instanceof Error && error.message.startsWith('NOGROUP')) {
          // The stream or its group is gone (Redis restarted without persistence, or someone deleted it).
          await this.#ensureGroup(this.#context.manager.getConnection()).catch(ignore);
          if (failures === 1) continue;
        } else {
          this.#context.onError(error instanceof Error ? error : new Error(describeError(error)));
        }
        await this.#sleep(Math.min(5_000, 50 * 2 ** failures));
      }
    }
  }

  /** Processes `entries` in order, holding all of them; on stop, hands back the ones not started. */
  async #processAll(
    handler: InboxHandler,
    entries: Array<{ id: string; fields: string[] | null; deliveries: number }>,
  ): Promise<void> {
    for (const { id } of entries) this.#held.add(id);
    for (const entry of entries) {
      if (this.#stopping) break;
      try {
        await this.#process(handler, entry);
      } finally {
        this.#held.delete(entry.id);
      }
    }
    if (this.#held.size === 0) return;
    // Stopped mid-batch: make the rest claimable at once by another consumer instead of after redeliverAfterMs.
    const rest = [...this.#held];
    this.#held.clear();
    await this.#context.manager
      .getConnection()
      .xclaim(this.#context.keys.stream, GROUP, this.#consumer, 0, ...rest, 'IDLE', this.#redeliverAfterMs, 'JUSTID');
  }

  /** Claims and processes what other consumers (or an earlier run) left unacknowledged for `redeliverAfterMs`. */
  async #reclaim(handler: InboxHandler, command: Redis): Promise<void> {
    const { stream } = this.#context.keys;
    const [next, entries] = (await command.xautoclaim(
      stream,
      GROUP,
      this.#consumer,
      this.#redeliverAfterMs,
      this.#claimCursor,
      'COUNT',
      this.#batchSize,
    )) as [string, StreamEntry[], string[]];
    this.#claimCursor = next;
    if (entries.length === 0) return;
    // The delivery count of each claimed id, looked up one by one (a range query could return other ids).
    const pipeline = command.pipeline();
    for (const [id] of entries) pipeline.xpending(stream, GROUP, id, id, 1);
    const replies = (await pipeline.exec())!;
    const deliveries = replies.map(([, reply]) => (reply as Array<[string, string, number, number]>)[0]?.[3] ?? 1);
    await this.#processAll(
      handler,
      entries.map(([id, fields], index) => ({ id, fields, deliveries: deliveries[index] ?? 1 })),
    );
  }

  async #process(
    handler: InboxHandler,
    entry: { id: string; fields: string[] | null; deliveries: number },
  ): Promise<void> {
    const { id, deliveries } = entry;
    if (entry.fields === null) {
      // Trimmed while pending: nothing left to deliver.
      await this.#ack(id);
      return;
    }
    const raw = field(entry.fields, 'm');
    if (raw === '') {
      // Written by someone else, without our field: it can never be delivered.
      const reason = 'no message field';
      this.#context.onInvalid({ channel: `inbox:${this.recipient}`, reason, raw: JSON.stringify(entry.fields) });
      await this.#deadLetter({ id, raw: '', reason, deliveries });
      return;
    }
    if (deliveries > this.#maxDeliveries) {
      await this.#deadLetter({
        id,
        raw,
        reason: `not acknowledged after ${deliveries - 1} deliveries`,
        deliveries: deliveries - 1,
      });
      return;
    }
    const envelope = this.#decode(raw);
    if (envelope === undefined) {
      await this.#deadLetter({ id, raw, reason: 'invalid message', deliveries });
      return;
    }
    let payload = envelope.p;
    if (this.#schema !== undefined) {
      const checked = await validate(this.#schema, payload);
      if (!checked.ok) {
        const reason = `schema: ${formatIssues(checked.issues)}`;
        this.#context.onInvalid({ channel: `inbox:${this.recipient}`, reason, raw });
        await this.#deadLetter({ id, raw, reason, deliveries });
        return;
      }
      payload = checked.value;
    }
    try {
      await handler(payload, this.#meta(id, envelope, deliveries));
    } catch (error) {
      this.#context.onError(new MessageHandlerError(`inbox:${this.recipient}`, id, error));
      if (deliveries >= this.#maxDeliveries) {
        const reason = `handler failed ${deliveries} times: ${describeError(error)}`;
        await this.#deadLetter({ id, raw, reason, deliveries });
      }
      return;
    }
    await this.#ack(id);
  }

  #decode(raw: string): Envelope | undefined {
    const envelope = this.#context.decode(raw);
    if (typeof envelope !== 'string') return envelope;
    this.#context.onInvalid({ channel: `inbox:${this.recipient}`, reason: envelope, raw });
    return undefined;
  }

  #meta(id: string, envelope: Envelope, deliveryCount: number): InboxMessageMeta {
    const meta: InboxMessageMeta = {
      channel: `inbox:${this.recipient}`,
      recipient: this.recipient,
      id,
      messageId: envelope.id,
      sentAt: envelope.ts,
      deliveryCount,
    };
    if (envelope.s !== undefined) meta.sender = envelope.s;
    return meta;
  }

  async #ack(id: string): Promise<void> {
    const { stream } = this.#context.keys;
    // Acknowledged messages leave the stream, so it only holds what still waits (peek shows exactly that).
    const results = (await this.#context.manager
      .getConnection()
      .multi()
      .xack(stream, GROUP, id)
      .xdel(stream, id)
      .exec())!;
    for (const [error] of results) if (error !== null) throw error;
  }

  async #deadLetter(letter: { id: string; raw: string; reason: string; deliveries: number }): Promise<void> {
    const { stream, dead } = this.#context.keys;
    // One script: the message leaves the inbox only if it reached the dead-letter stream.
    await runLuaScript(this.#context.manager.getConnection(), DEAD_LETTER_SCRIPT, {
      keys: [stream, dead],
      args: [letter.id, letter.raw, letter.reason, letter.deliveries, DEAD_LETTER_MAX_LENGTH],
    });
    this.#context.onDeadLetter({
      recipient: this.recipient,
      id: letter.id,
      deliveryCount: letter.deliveries,
      reason: letter.reason,
    });
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    await this.#starting;
    const loop = this.#loop;
    if (loop === undefined) return;
    this.#wake?.();
    clearInterval(this.#keepAlive);
    // Wake the blocked XREADGROUP now rather than after blockMs; again now and then, in case it was not blocked yet.
    let done = false;
    void loop.finally(() => {
      done = true;
    });
    while (!done) {
      this.#unblock();
      await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 250))]);
    }
    const blocking = this.#blocking;
    blocking?.off('ready', this.#refreshBlockingId);
    this.#blocking = undefined;
    this.#blockingId = undefined;
    this.#loop = undefined;
    this.#context.onConsuming(this, false);
    // Best effort: after manager.disconnect() there is nothing left to release or forget.
    if (blocking !== undefined) await this.#context.manager.releaseConnection(blocking).catch(ignore);
    await this.#forgetConsumer().catch(ignore);
  }

  #unblock(): void {
    if (this.#blockingId === undefined) return;
    try {
      void this.#context.manager.getConnection().client('UNBLOCK', this.#blockingId).catch(ignore);
    } catch {
      // The manager is closed: the blocking connection is gone, and the loop with it.
    }
  }

  /** Removes this consumer from the group when it holds nothing, so consumers do not pile up. */
  async #forgetConsumer(): Promise<void> {
    const command = this.#context.manager.getConnection();
    const { stream } = this.#context.keys;
    const pending = await command.xpending(stream, GROUP, '-', '+', 1, this.#consumer);
    if (pending.length === 0) await command.xgroup('DELCONSUMER', stream, GROUP, this.#consumer);
  }

  #assertOpen(): void {
    if (this.#closing !== undefined)
      throw new MessageBusError('BUS_CLOSED', `the inbox of '${this.recipient}' was closed`);
    this.#context.assertBusOpen();
  }
}
