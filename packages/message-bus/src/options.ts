import { jsonCodec, type MessageCodec } from './codec.js';
import { check } from './internal/check.js';
import { assertSchema } from './internal/schema.js';

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

/** {@link MessageBusOptions} checked and merged with the defaults. */
export type ResolvedBusOptions = ReturnType<typeof resolveBusOptions>;

/** {@link InboxOptions} (and the inbox schema) checked and merged with the defaults. */
export type ResolvedInboxOptions = ReturnType<typeof resolveInboxOptions>;

const code = 'INVALID_OPTION';
const MAX = Number.MAX_SAFE_INTEGER;

/** Checks `options` (throws `INVALID_OPTION` naming the option) and merges the defaults. */
export function resolveBusOptions(options: unknown) {
  const given = check.object(options, 'options', code) as MessageBusOptions;
  const { maxMessageBytes, inboxMaxLength } = { ...DEFAULT_MESSAGE_BUS_OPTIONS, ...withoutNullish(given) };
  const codec = given.codec ?? DEFAULT_MESSAGE_BUS_OPTIONS.codec;
  if (typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
    check.fail(code, 'codec', "invalid option 'codec': expected { encode(envelope), decode(raw) }");
  }
  return {
    sender: given.sender === undefined ? undefined : check.text(given.sender, { field: 'sender', code, max: 256 }),
    maxMessageBytes: check.integer(maxMessageBytes, { field: 'maxMessageBytes', code, max: MAX, unit: 'bytes' }),
    inboxMaxLength: check.integer(inboxMaxLength, { field: 'inboxMaxLength', code, max: MAX, unit: 'messages' }),
    codec,
  };
}

/** Checks the options of `bus.inbox()` and merges the defaults. */
export function resolveInboxOptions(options: unknown) {
  const given = check.object(options, 'options', code) as InboxOptions & { schema?: unknown };
  const { redeliverAfterMs, maxDeliveries, batchSize } = { ...DEFAULT_INBOX_OPTIONS, ...withoutNullish(given) };
  return {
    redeliverAfterMs: check.integer(redeliverAfterMs, { field: 'redeliverAfterMs', code }),
    maxDeliveries: check.integer(maxDeliveries, { field: 'maxDeliveries', code, max: MAX, unit: 'deliveries' }),
    batchSize: check.integer(batchSize, { field: 'batchSize', code, max: 10_000, unit: 'messages' }),
    schema: given.schema === undefined ? undefined : assertSchema(given.schema),
  };
}

/** `options` without its `null` and `undefined` fields: those mean "the default". */
function withoutNullish<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value != null)) as Partial<T>;
}
