import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { toError } from '@shim/connection/kit';
import type { Redis } from 'ioredis';
import { MessageBusError, MessageHandlerError, formatIssues } from './errors.js';
import { GROUP, field, inboxMeta, moveToDeadLetters, type StreamEntry } from './inbox-stream.js';
import { describeError } from './internal/describe.js';
import { ignore } from './internal/ignore.js';
import { validate } from './internal/schema.js';
import type { BusContext, InboxHandler, InboxScope } from './types.js';

type Delivery = { id: string; fields: string[] | null; deliveries: number };

/**
 * One run of `inbox.consume(handler)`: reads the inbox stream through the consumer group on its
 * own blocking connection, redelivers what others left unacknowledged, acknowledges what the
 * handler finished and dead-letters what keeps failing.
 */
export class InboxConsumer {
  readonly #bus: BusContext;
  readonly #inbox: InboxScope;
  readonly #handler: InboxHandler;
  readonly #name = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Idle reads wake up this often to redeliver what others left unacknowledged. */
  readonly #blockMs: number;
  /** Ends a backoff sleep early when stopping. */
  readonly #abort = new AbortController();
  /** Ids read (or claimed) but not finished yet: all of them are kept ours while we work through them. */
  readonly #held = new Set<string>();
  #starting: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #blocking: Redis | undefined;
  #blockingId: string | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  /** Where the next XAUTOCLAIM scan starts (it walks the pending list in steps). */
  #claimCursor = '0-0';

  constructor(bus: BusContext, inbox: InboxScope, handler: InboxHandler) {
    this.#bus = bus;
    this.#inbox = inbox;
    this.#handler = handler;
    this.#blockMs = Math.min(5_000, inbox.options.redeliverAfterMs);
  }

  get #stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Resolves once consuming has started (the group exists and the blocking connection is open). */
  start(): Promise<void> {
    this.#starting = this.#start();
    return this.#starting;
  }

  /** Stops after the handler in progress (if any) and hands the rest of its batch back. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #start(): Promise<void> {
    const { manager } = this.#bus;
    await this.#ensureGroup();
    const blocking = await manager.createConnection('blocking');
    try {
      this.#blockingId = String(await blocking.client('ID'));
      // stop() may have been called while we were getting ready.
      if (this.#stopping) throw new MessageBusError('BUS_CLOSED', `the inbox of '${this.#inbox.recipient}' was closed`);
    } catch (error) {
      await manager.releaseConnection(blocking);
      throw error;
    }
    this.#blocking = blocking;
    blocking.on('ready', this.#refreshBlockingId);
    this.#keepAlive = setInterval(this.#claimHeld, Math.max(20, Math.floor(this.#inbox.options.redeliverAfterMs / 3)));
    this.#keepAlive.unref();
    this.#loop = this.#run(blocking);
  }

  /**
   * Resets the idle time of every message we hold (the one whose handler runs and the rest of its
   * batch), so no consumer — us included — redelivers them while we still work through them.
   */
  readonly #claimHeld = (): void => {
    if (this.#held.size === 0) return;
    try {
      const redis = this.#bus.manager.getConnection();
      redis.xclaim(this.#inbox.keys.stream, GROUP, this.#name, 0, ...this.#held, 'JUSTID').catch(ignore);
    } catch {
      // The manager is closing: the loop is ending too.
    }
  };

  readonly #refreshBlockingId = (): void => {
    // A reconnect gives the blocking connection a new client id; CLIENT UNBLOCK needs the current one.
    void this.#blocking
      ?.client('ID')
      .then((id) => {
        this.#blockingId = String(id);
      })
      .catch(ignore);
  };

  async #ensureGroup(): Promise<void> {
    try {
      // From '0': messages sent before the recipient ever ran are delivered too.
      await this.#bus.manager.getConnection().xgroup('CREATE', this.#inbox.keys.stream, GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
    }
  }

  async #run(blocking: Redis): Promise<void> {
    const { keys, options } = this.#inbox;
    let failures = 0;
    while (!this.#stopping) {
      try {
        await this.#reclaim(this.#bus.manager.getConnection());
        if (this.#stopping) break;
        const reply = await blocking.xreadgroup(
          'GROUP',
          GROUP,
          this.#name,
          'COUNT',
          options.batchSize,
          'BLOCK',
          this.#blockMs,
          'STREAMS',
          keys.stream,
          '>',
        );
        await this.#processAll((reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields, deliveries: 1 })));
        failures = 0;
      } catch (error) {
        // A closed manager (or a released connection) ends the loop instead of retrying forever.
        if (this.#stopping || blocking.status === 'end' || (error as { code?: unknown }).code === 'MANAGER_CLOSED')
          break;
        failures += 1;
        if (error instanceof Error && error.message.startsWith('NOGROUP')) {
          // The stream or its group is gone (Redis restarted without persistence, or someone deleted it).
          await this.#ensureGroup().catch(ignore);
          if (failures === 1) continue;
        } else {
          this.#bus.emit('error', toError(error));
        }
        const backoff = Math.min(5_000, 50 * 2 ** failures);
        await sleep(backoff, undefined, { signal: this.#abort.signal, ref: false }).catch(ignore);
      }
    }
  }

  /** Processes `entries` in order, holding all of them; on stop, hands back the ones not started. */
  async #processAll(entries: Delivery[]): Promise<void> {
    for (const { id } of entries) this.#held.add(id);
    for (const entry of entries) {
      if (this.#stopping) break;
      try {
        await this.#process(entry);
      } finally {
        this.#held.delete(entry.id);
      }
    }
    if (this.#held.size === 0) return;
    // Stopped mid-batch: make the rest claimable at once by another consumer instead of after redeliverAfterMs.
    const rest = [...this.#held];
    this.#held.clear();
    const { keys, options } = this.#inbox;
    const redis = this.#bus.manager.getConnection();
    await redis.xclaim(keys.stream, GROUP, this.#name, 0, ...rest, 'IDLE', options.redeliverAfterMs, 'JUSTID');
  }

  /** Claims and processes what other consumers (or an earlier run) left unacknowledged for `redeliverAfterMs`. */
  async #reclaim(command: Redis): Promise<void> {
    const { keys, options } = this.#inbox;
    const [next, entries] = (await command.xautoclaim(
      keys.stream,
      GROUP,
      this.#name,
      options.redeliverAfterMs,
      this.#claimCursor,
      'COUNT',
      options.batchSize,
    )) as [string, StreamEntry[], string[]];
    this.#claimCursor = next;
    if (entries.length === 0) return;
    // The delivery count of each claimed id, looked up one by one (a range query could return other ids).
    const pipeline = command.pipeline();
    for (const [id] of entries) pipeline.xpending(keys.stream, GROUP, id, id, 1);
    const replies = (await pipeline.exec())!;
    const deliveries = replies.map(([, reply]) => (reply as Array<[string, string, number, number]>)[0]?.[3] ?? 1);
    await this.#processAll(entries.map(([id, fields], index) => ({ id, fields, deliveries: deliveries[index] ?? 1 })));
  }

  async #process({ id, fields, deliveries }: Delivery): Promise<void> {
    const { options, recipient } = this.#inbox;
    const channel = `inbox:${recipient}`;
    if (fields === null) {
      // Trimmed while pending: nothing left to deliver.
      await this.#ack(id);
      return;
    }
    const raw = field(fields, 'm');
    if (raw === '') {
      // Written by someone else, without our field: it can never be delivered.
      const reason = 'no message field';
      this.#bus.invalid({ channel, reason, raw: JSON.stringify(fields) });
      await this.#deadLetter({ id, raw: '', reason, deliveries });
      return;
    }
    if (deliveries > options.maxDeliveries) {
      const reason = `not acknowledged after ${deliveries - 1} deliveries`;
      await this.#deadLetter({ id, raw, reason, deliveries: deliveries - 1 });
      return;
    }
    const envelope = this.#bus.receive(raw, channel);
    if (envelope === undefined) {
      await this.#deadLetter({ id, raw, reason: 'invalid message', deliveries });
      return;
    }
    let payload = envelope.p;
    if (options.schema !== undefined) {
      const checked = await validate(options.schema, payload);
      if (!checked.ok) {
        const reason = `schema: ${formatIssues(checked.issues)}`;
        this.#bus.invalid({ channel, reason, raw });
        await this.#deadLetter({ id, raw, reason, deliveries });
        return;
      }
      payload = checked.value;
    }
    try {
      await this.#handler(payload, inboxMeta(recipient, { id, envelope, deliveries }));
    } catch (error) {
      this.#bus.emit('error', new MessageHandlerError(channel, id, error));
      if (deliveries >= options.maxDeliveries) {
        const reason = `handler failed ${deliveries} times: ${describeError(error)}`;
        await this.#deadLetter({ id, raw, reason, deliveries });
      }
      return;
    }
    await this.#ack(id);
  }

  async #ack(id: string): Promise<void> {
    const { stream } = this.#inbox.keys;
    // Acknowledged messages leave the stream, so it only holds what still waits (peek shows exactly that).
    const multi = this.#bus.manager.getConnection().multi().xack(stream, GROUP, id).xdel(stream, id);
    for (const [error] of (await multi.exec())!) if (error !== null) throw error;
  }

  async #deadLetter(letter: { id: string; raw: string; reason: string; deliveries: number }): Promise<void> {
    await moveToDeadLetters(this.#bus.manager.getConnection(), this.#inbox.keys, letter);
    const { id, reason, deliveries } = letter;
    this.#bus.emit('dead-letter', { recipient: this.#inbox.recipient, id, deliveryCount: deliveries, reason });
  }

  async #stop(): Promise<void> {
    this.#abort.abort();
    await this.#starting?.catch(ignore);
    const loop = this.#loop;
    if (loop === undefined) return;
    clearInterval(this.#keepAlive);
    // Wake the blocked XREADGROUP now rather than after blockMs; again now and then, in case it was not blocked yet.
    let done = false;
    void loop.finally(() => {
      done = true;
    });
    while (!done) {
      this.#unblock();
      await Promise.race([loop, sleep(250)]);
    }
    const blocking = this.#blocking;
    blocking?.off('ready', this.#refreshBlockingId);
    this.#blocking = undefined;
    // Best effort: after manager.disconnect() there is nothing left to release or forget.
    if (blocking !== undefined) await this.#bus.manager.releaseConnection(blocking).catch(ignore);
    await this.#forgetConsumer().catch(ignore);
  }

  #unblock(): void {
    if (this.#blockingId === undefined) return;
    try {
      void this.#bus.manager.getConnection().client('UNBLOCK', this.#blockingId).catch(ignore);
    } catch {
      // The manager is closed: the blocking connection is gone, and the loop with it.
    }
  }

  /** Removes this consumer from the group when it holds nothing, so consumers do not pile up. */
  async #forgetConsumer(): Promise<void> {
    const command = this.#bus.manager.getConnection();
    const { stream } = this.#inbox.keys;
    const pending = await command.xpending(stream, GROUP, '-', '+', 1, this.#name);
    if (pending.length === 0) await command.xgroup('DELCONSUMER', stream, GROUP, this.#name);
  }
}
