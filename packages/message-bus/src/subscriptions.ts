import type { StandardSchemaV1 } from '@standard-schema/spec';
import { subscriptionHub, type HubUnsubscribe } from '@shim/connection/kit';
import type { Envelope } from './codec.js';
import { MessageHandlerError, formatIssues } from './errors.js';
import { describeError } from './internal/describe.js';
import { ignore } from './internal/ignore.js';
import type { BusContext, PatternMessageMeta, Unsubscribe } from './types.js';

export type Kind = 'channel' | 'pattern';

/** One handler, and the schema its messages must pass (typed channels). */
export interface Registration {
  readonly handler: (message: unknown, meta: PatternMessageMeta) => void | Promise<void>;
  readonly schema: StandardSchemaV1 | undefined;
}

/** A channel or pattern this bus listens to: its handlers share one subscription of the hub. */
interface Slot {
  readonly kind: Kind;
  readonly name: string;
  readonly registrations: Set<Registration>;
  /** Resolves once Redis confirmed the subscription. */
  readonly ready: Promise<HubUnsubscribe>;
  /** Last sequence number seen per channel and publisher; forgotten with the slot. */
  readonly lastSeq: Map<string, number>;
}

type Delivery = { payload: unknown; meta: PatternMessageMeta; raw: string };

const MAX_TRACKED_PUBLISHERS = 10_000;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * The Pub/Sub side of a bus: its channel and pattern subscriptions, held through the manager's
 * {@link subscriptionHub} (one subscriber connection per manager, names reference-counted there),
 * and the dispatch of what arrives: decoding once per message, gap detection, schema checks and
 * handler isolation.
 */
export class Subscriptions {
  readonly #bus: BusContext;
  readonly #slots: Record<Kind, Map<string, Slot>> = { channel: new Map(), pattern: new Map() };

  constructor(bus: BusContext) {
    this.#bus = bus;
  }

  /** Adds `registration` to `name` (a user's channel or pattern); resolves once Redis confirmed the subscription. */
  async add(kind: Kind, name: string, registration: Registration): Promise<Unsubscribe> {
    const slot = this.#slots[kind].get(name) ?? this.#open(kind, name);
    slot.registrations.add(registration);
    try {
      await slot.ready;
    } catch (error) {
      slot.registrations.delete(registration);
      throw error;
    }
    let removed: Promise<void> | undefined;
    return () => (removed ??= this.#remove(slot, (entry) => entry === registration));
  }

  /** Removes the registrations of `name` whose handler is `handler` (all of them when omitted). */
  remove(kind: Kind, name: string, handler: ((...args: never[]) => unknown) | undefined): Promise<void> {
    const slot = this.#slots[kind].get(name);
    if (slot === undefined) return Promise.resolve();
    return this.#remove(slot, (entry) => handler === undefined || entry.handler === handler);
  }

  /** Drops every subscription of this bus (other users of the hub keep theirs). */
  async close(): Promise<void> {
    const slots = [...this.#slots.channel.values(), ...this.#slots.pattern.values()];
    this.#slots.channel.clear();
    this.#slots.pattern.clear();
    // No handler runs from now on, though Redis may still send a message or two before the unsubscribe.
    for (const slot of slots) slot.registrations.clear();
    await Promise.all(slots.map((slot) => this.#release(slot)));
  }

  #open(kind: Kind, name: string): Slot {
    const hub = subscriptionHub(this.#bus.manager);
    const { keys } = this.#bus;
    // The listener runs only once messages arrive, after `slot` is set.
    const ready =
      kind === 'channel'
        ? hub.subscribe(keys.channel(name), (raw, channel) => this.#dispatch(slot, channel, raw))
        : hub.psubscribe(keys.pattern(name), (raw, channel) => this.#dispatch(slot, channel, raw));
    const slot: Slot = { kind, name, registrations: new Set(), lastSeq: new Map(), ready };
    this.#slots[kind].set(name, slot);
    // A failed subscription is not kept: the next subscribe tries again.
    ready.catch(() => {
      if (this.#slots[kind].get(name) === slot) this.#slots[kind].delete(name);
    });
    return slot;
  }

  async #remove(slot: Slot, match: (entry: Registration) => boolean): Promise<void> {
    for (const entry of slot.registrations) if (match(entry)) slot.registrations.delete(entry);
    if (slot.registrations.size > 0 || this.#slots[slot.kind].get(slot.name) !== slot) return;
    this.#slots[slot.kind].delete(slot.name);
    await this.#release(slot);
  }

  async #release(slot: Slot): Promise<void> {
    // A subscription that failed holds nothing in the hub.
    const unsubscribe = await slot.ready.catch(ignore);
    await unsubscribe?.();
  }

  #dispatch(slot: Slot, redisChannel: string, raw: string): void {
    if (slot.registrations.size === 0) return;
    const pattern = slot.kind === 'pattern' ? slot.name : undefined;
    const channel = this.#bus.keys.userChannel(redisChannel);
    const envelope = this.#bus.receive(raw, channel, pattern);
    if (envelope === undefined) return;
    this.#trackGap(slot, channel, envelope);
    const meta = { channel, id: envelope.id, sentAt: envelope.ts, seq: envelope.seq } as PatternMessageMeta;
    if (envelope.s !== undefined) meta.sender = envelope.s;
    if (pattern !== undefined) meta.pattern = pattern;
    // Handlers of one message share the decoded object.
    for (const registration of slot.registrations) this.#deliver(registration, { payload: envelope.p, meta, raw });
  }

  #deliver(registration: Registration, { payload, meta, raw }: Delivery): void {
    const { schema } = registration;
    if (schema === undefined) {
      this.#call(registration, payload, meta);
      return;
    }
    const onResult = (result: StandardSchemaV1.Result<unknown>): void => {
      if (result.issues === undefined) this.#call(registration, result.value, meta);
      else this.#bus.invalid({ channel: meta.channel, reason: `schema: ${formatIssues(result.issues)}`, raw });
    };
    const onThrow = (error: unknown): void => {
      this.#bus.invalid({ channel: meta.channel, reason: `schema validator threw: ${describeError(error)}`, raw });
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
    this.#bus.stats.delivered += 1;
    const failed = (error: unknown): void => {
      this.#bus.stats.handlerErrors += 1;
      this.#bus.emit('error', new MessageHandlerError(meta.channel, meta.id, error));
    };
    try {
      const result = registration.handler(payload, meta);
      if (isPromiseLike(result)) result.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }

  #trackGap({ lastSeq }: Slot, channel: string, envelope: Envelope): void {
    // Publishers number their messages per channel: a pattern subscription tracks each matched channel apart.
    const key = `${channel}\u0000${envelope.src}`;
    const last = lastSeq.get(key);
    if (last !== undefined && envelope.seq <= last) return;
    if (last !== undefined && envelope.seq > last + 1) {
      const missed = envelope.seq - last - 1;
      this.#bus.stats.gaps += 1;
      this.#bus.stats.missed += missed;
      this.#bus.emit('gap', { channel, sender: envelope.s ?? envelope.src, missed });
    }
    lastSeq.set(key, envelope.seq);
    // Bounded memory: past the cap, forget the publisher (and channel) seen first; its next message starts afresh.
    if (lastSeq.size > MAX_TRACKED_PUBLISHERS) lastSeq.delete(lastSeq.keys().next().value as string);
  }
}
