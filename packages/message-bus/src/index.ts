export { MessageBusWrapper } from './message-bus.js';
export type {
  DeadLetter,
  Handler,
  InboxEntry,
  InboxHandler,
  InboxMessageMeta,
  MessageBusStats,
  MessageMeta,
  PatternHandler,
  PatternMessageMeta,
  SendOptions,
  Unsubscribe,
} from './types.js';
export { TypedChannel } from './typed-channel.js';
export type { TypedChannelBinding } from './typed-channel.js';
export { Inbox } from './inbox.js';
export { jsonCodec, parseEnvelope } from './codec.js';
export type { Envelope, MessageCodec } from './codec.js';
export { DEFAULT_INBOX_OPTIONS, DEFAULT_MESSAGE_BUS_OPTIONS } from './options.js';
export type { InboxOptions, MessageBusOptions } from './options.js';
export type { DeadLetterEvent, GapEvent, InvalidMessageEvent, MessageBusEvents } from './events.js';
export { MessageBusError, MessageHandlerError, MessageValidationError, isMessageBusError } from './errors.js';
export type { MessageBusErrorCode } from './errors.js';
export { assertChannel, assertPattern, assertRecipient, busKeys } from './keys.js';
export type { BusKeys } from './keys.js';
