import type { DeadLetterListOptions, DeadLetterRecord, DeadLetterStore } from '@shim/connection';
import { describeType } from '@shim/connection/kit';
import type { Redis } from 'ioredis';
import { MessageBusError } from './errors.js';
import { appendToInbox, field } from './inbox-stream.js';
import { check, checkCount } from './internal/check.js';
import type { BusContext, DeadLetter, InboxScope } from './types.js';

// A full stream id: XRANGE reads `<ms>` alone as a range of ids. 19 digits stay below 2^64.
const STREAM_ID = /^\d{1,19}-\d{1,19}$/;

/**
 * The dead letters of one inbox — its dead-letter stream — as a {@link DeadLetterStore}: the record
 * shape and verbs SHIM uses for failed queue jobs too. `payload` is the decoded message, or
 * `undefined` when it cannot be decoded; `attempts` the deliveries it had.
 */
export class InboxDeadLetters<TMessage = unknown> implements DeadLetterStore<TMessage> {
  readonly #bus: BusContext;
  readonly #inbox: InboxScope;

  constructor(bus: BusContext, inbox: InboxScope) {
    this.#bus = bus;
    this.#inbox = inbox;
  }

  /** Dead letters, oldest first: `count` (default 100, at most 10,000) after skipping `start` (default 0). */
  async list(options: DeadLetterListOptions = {}): Promise<Array<DeadLetterRecord<TMessage>>> {
    this.#inbox.assertOpen();
    const { start = 0, count = 100 } = check.object(options, 'options', 'INVALID_OPTION') as DeadLetterListOptions;
    const skip = check.integer(start, { field: 'start', code: 'INVALID_OPTION', min: 0, max: 1e9, unit: 'messages' });
    const last = skip + checkCount(count);
    const entries = await this.#redis().xrange(this.#inbox.keys.dead, '-', '+', 'COUNT', last);
    return entries.slice(skip).map((entry) => this.#record(entry));
  }

  /** The dead letter `id`, or undefined when there is none. */
  async get(id: string): Promise<DeadLetterRecord<TMessage> | undefined> {
    this.#inbox.assertOpen();
    if (!STREAM_ID.test(checkId(id))) return undefined;
    const [entry] = await this.#redis().xrange(this.#inbox.keys.dead, id, id);
    return entry === undefined ? undefined : this.#record(entry);
  }

  /**
   * Puts the dead letter `id` back at the end of its inbox (delivered again, with a fresh delivery
   * count) and deletes it from the dead letters, in one step; resolves with its new inbox id.
   * Throws `NOT_FOUND` when there is no such dead letter.
   */
  async retry(id: string): Promise<string> {
    this.#inbox.assertOpen();
    const { keys, recipient } = this.#inbox;
    const maxLength = this.#bus.inboxMaxLength;
    const newId = STREAM_ID.test(checkId(id))
      ? await appendToInbox(this.#redis(), keys, { deadLetterId: id, maxLength })
      : null;
    if (newId === null) {
      throw new MessageBusError('NOT_FOUND', `no dead letter ${JSON.stringify(id)} in the inbox of '${recipient}'`);
    }
    return newId;
  }

  /** Deletes the dead letters `ids` (every one when omitted); resolves with how many were deleted. */
  async purge(ids?: readonly string[]): Promise<number> {
    this.#inbox.assertOpen();
    const { dead } = this.#inbox.keys;
    if (ids === undefined) {
      // One transaction: a letter added meanwhile is either counted and deleted, or kept.
      const [[, count]] = (await this.#redis().multi().xlen(dead).del(dead).exec()) as [[null, number]];
      return count;
    }
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      check.fail('INVALID_OPTION', 'ids', `ids must be an array of dead-letter ids, got ${describeType(ids)}`);
    }
    const known = ids.filter((id) => STREAM_ID.test(id));
    return known.length === 0 ? 0 : this.#redis().xdel(dead, ...known);
  }

  /** How many dead letters there are. */
  async count(): Promise<number> {
    this.#inbox.assertOpen();
    return this.#redis().xlen(this.#inbox.keys.dead);
  }

  /** Up to `count` dead letters as they are stored (`inbox.deadLetters()`). */
  async stored(count: number): Promise<DeadLetter[]> {
    this.#inbox.assertOpen();
    const limit = checkCount(count);
    const entries = await this.#redis().xrange(this.#inbox.keys.dead, '-', '+', 'COUNT', limit);
    return entries.map(([id, fields]) => ({
      id,
      originalId: field(fields, 'id'),
      reason: field(fields, 'reason'),
      deliveryCount: Number(field(fields, 'deliveries')),
      raw: field(fields, 'm'),
    }));
  }

  #redis(): Redis {
    return this.#bus.manager.getConnection();
  }

  #record([id, fields]: [string, string[]]): DeadLetterRecord<TMessage> {
    const envelope = this.#bus.decode(field(fields, 'm'));
    return {
      id,
      source: `inbox:${this.#inbox.recipient}`,
      reason: field(fields, 'reason'),
      attempts: Number(field(fields, 'deliveries')),
      // A stream id starts with the time it was added: when the message was given up.
      failedAt: Number.parseInt(id, 10),
      payload: (typeof envelope === 'string' ? undefined : envelope.p) as TMessage,
    };
  }
}

function checkId(id: unknown): string {
  if (typeof id !== 'string') check.fail('INVALID_OPTION', 'id', `id must be a string, got ${describeType(id)}`);
  return id;
}
