import type { MessageCodec } from './codec.js';
import { jsonCodec } from './codec.js';
import { MessageBusError } from './errors.js';
import { describeError } from './internal/describe.js';

/** Options of {@link MessageBusWrapper}. */
export interface MessageBusOptions {
  /** This publisher's name, sent with every message as `meta.sender`. */
  sender?: string | undefined;
  /** Largest encoded message (envelope included), on publish, send and receipt. Unit: bytes. @defaultValue 1_048_576 (1 MiB) */
  maxMessageBytes?: number | undefined;
  /** Wire format. @defaultValue {@link jsonCodec} */
  codec?: MessageCodec | undefined;
  /** Longest an inbox stream may grow; older messages are trimmed (and counted). @defaultValue 10_000 */
  inboxMaxLength?: number | undefined;
}

/** Defaults merged under every {@link MessageBusOptions}. */
export const DEFAULT_MESSAGE_BUS_OPTIONS = {
  maxMessageBytes: 1_048_576,
  codec: jsonCodec,
  inboxMaxLength: 10_000,
} as const;

/** Options of {@link MessageBusWrapper.inbox}. */
export interface InboxOptions {
  /** A message read but not acknowledged for this long is delivered again (never while its handler runs). Unit: ms. @defaultValue 60_000 */
  redeliverAfterMs?: number | undefined;
  /** Deliveries after which a failing message goes to the dead-letter stream. @defaultValue 5 */
  maxDeliveries?: number | undefined;
  /** Messages read per round trip. @defaultValue 50 */
  batchSize?: number | undefined;
}

/** Defaults merged under every {@link InboxOptions}. */
export const DEFAULT_INBOX_OPTIONS = {
  redeliverAfterMs: 60_000,
  maxDeliveries: 5,
  batchSize: 50,
} as const;

/** Validates a positive integer option. */
export function positiveInteger(option: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new MessageBusError(
      'INVALID_OPTION',
      `invalid option '${option}': expected an integer from 1 to ${max}, got ${describeError(value)}`,
    );
  }
  return value;
}
