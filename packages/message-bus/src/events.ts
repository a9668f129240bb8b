import type { MessageHandlerError } from './errors.js';

/** Payload of `invalid-message`. */
export interface InvalidMessageEvent {
  /** The user's channel name (or `inbox:<recipient>`). */
  channel: string;
  /** The pattern that matched, for pattern subscriptions. */
  pattern?: string;
  /** Why the message was refused: not JSON, bad envelope, schema issues, too large … */
  reason: string;
  /** The first 200 characters of what arrived. */
  raw: string;
}

/** Payload of `gap`: messages from one publisher on one channel went missing. */
export interface GapEvent {
  channel: string;
  /** The publisher's name, or its instance id when it gave none. */
  sender: string;
  /** How many messages were skipped. */
  missed: number;
}

/** Payload of `dead-letter`: an inbox message went to the dead-letter stream. */
export interface DeadLetterEvent {
  recipient: string;
  /** Stream id of the message in the inbox. */
  id: string;
  deliveryCount: number;
  reason: string;
}

/** Events of {@link MessageBusWrapper}. */
export interface MessageBusEvents {
  /** A received message was refused (never reaches a handler). */
  'invalid-message': [InvalidMessageEvent];
  /** A publisher's per-channel sequence jumped: messages were lost (reconnect, slow-consumer cut-off). */
  gap: [GapEvent];
  /** An inbox message failed `maxDeliveries` times (or was invalid) and was moved to the dead-letter stream. */
  'dead-letter': [DeadLetterEvent];
  /** A handler threw or rejected, or an inbox consumer hit a Redis error. Without a listener it is dropped, never thrown. */
  error: [MessageHandlerError | Error];
}
