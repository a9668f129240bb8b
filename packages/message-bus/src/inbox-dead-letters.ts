import type { Redis } from 'ioredis';
import { field } from './inbox-stream.js';
import { checkCount } from './internal/check.js';
import type { BusContext, DeadLetter, InboxScope } from './types.js';

/** The dead letters of one inbox: its dead-letter stream. */
export class InboxDeadLetters {
  readonly #bus: BusContext;
  readonly #inbox: InboxScope;

  constructor(bus: BusContext, inbox: InboxScope) {
    this.#bus = bus;
    this.#inbox = inbox;
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
}
