import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { RedisConnectionManager } from '@shim/connection';
import type { Envelope } from './codec.js';
import type { InvalidMessageEvent, MessageBusEvents } from './events.js';
import type { BusKeys, InboxKeys } from './keys.js';
import type { ResolvedInboxOptions } from './options.js';

/** What a handler learns about a message besides its payload. */
export interface MessageMeta {
  /** The user's channel name (for patterns: the channel that matched). */
  channel: string;
  /** Message id, unique per publisher instance. */
  id: string;
  /** When it was sent. Unit: ms since epoch (publisher's clock). */
  sentAt: number;
  /** The publisher's name, when it gave one. */
  sender?: string;
  /** Position in this publisher's sequence on this channel (1, 2, 3 …). */
  seq: number;
  /** The pattern that matched, for pattern subscriptions. */
  pattern?: string;
}

/** {@link MessageMeta} of a pattern subscription: `pattern` is always set. */
export interface PatternMessageMeta extends MessageMeta {
  pattern: string;
}

/** Called with each message of a channel subscription. A throw or rejection is reported as `error`. */
export type Handler<TMessage = unknown> = (message: TMessage, meta: MessageMeta) => void | Promise<void>;

/** Called with each message of a pattern subscription. */
export type PatternHandler<TMessage = unknown> = (message: TMessage, meta: PatternMessageMeta) => void | Promise<void>;

/** Removes the subscription it was returned for; unsubscribes in Redis when it was the last handler. */
export type Unsubscribe = () => Promise<void>;

/** Options of {@link MessageBusWrapper.send}. */
export interface SendOptions {
  /** Validate the message with this Standard Schema before sending (nothing is sent when it fails). */
  schema?: StandardSchemaV1 | undefined;
}

/** Counters since the bus was created. */
export interface MessageBusStats {
  published: number;
  /** Handler calls made (one message with two handlers counts twice). */
  delivered: number;
  invalid: number;
  handlerErrors: number;
  /** Gap events, and the messages they reported missing. */
  gaps: number;
  missed: number;
}

/** What an inbox handler learns about a message besides its payload. */
export interface InboxMessageMeta {
  /** `inbox:<recipient>`. */
  channel: string;
  recipient: string;
  /** Stream id of the message: its place in the inbox (acknowledgement and dead-letter refer to it). */
  id: string;
  /** The envelope's message id (`<publisher instance>:<seq>`). */
  messageId: string;
  /** When it was sent. Unit: ms since epoch (sender's clock). */
  sentAt: number;
  /** The sender's name, when it gave one. */
  sender?: string;
  /** 1 on first delivery, more on redeliveries; 0 for `peek()`. */
  deliveryCount: number;
}

/** Called with each inbox message. Returning acknowledges it; throwing or rejecting leaves it for redelivery. */
export type InboxHandler<TMessage = unknown> = (message: TMessage, meta: InboxMessageMeta) => void | Promise<void>;

/** A message as `peek()` returns it. */
export interface InboxEntry<TMessage = unknown> {
  id: string;
  message: TMessage;
  meta: InboxMessageMeta;
}

/** A message in the dead-letter stream, as `inbox.deadLetters()` returns it. */
export interface DeadLetter {
  /** Id in the dead-letter stream. */
  id: string;
  /** Its id in the inbox it came from. */
  originalId: string;
  reason: string;
  deliveryCount: number;
  /** The message as it was encoded. */
  raw: string;
}

/** @internal What the parts of a bus (subscriptions, inboxes and their consumers and dead letters) share. */
export interface BusContext {
  manager: RedisConnectionManager;
  keys: BusKeys;
  stats: MessageBusStats;
  /** The bus' `inboxMaxLength`: a send or a retried dead letter trims the inbox to it. */
  inboxMaxLength: number;
  /** The envelope in `raw`, or why it is not one. Never throws, reports nothing. */
  decode(raw: string): Envelope | string;
  /** The envelope in `raw`, or undefined after counting and reporting it as `invalid-message`. */
  receive(raw: string, channel: string, pattern?: string): Envelope | undefined;
  emit<K extends keyof MessageBusEvents>(event: K, ...args: MessageBusEvents[K]): void;
  /** Counts and reports a refused message as `invalid-message`. */
  invalid(event: InvalidMessageEvent): void;
  /** Throws `BUS_CLOSED` once the bus was closed. */
  assertOpen(): void;
  /** Called when an inbox starts (true) and stops (false) consuming: the bus stops them on close(). */
  onConsuming(inbox: { close(): Promise<void> }, consuming: boolean): void;
}

/** @internal One inbox as its parts see it. */
export interface InboxScope {
  recipient: string;
  keys: InboxKeys;
  options: ResolvedInboxOptions;
  /** Throws `BUS_CLOSED` once the inbox or its bus was closed. */
  assertOpen(): void;
}
