import { MessageBusError } from './errors.js';

const MAX_NAME_LENGTH = 256;
// Whitespace and control characters (C0, DEL, C1) are never part of a name.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f]/u;

function checkName(kind: 'channel' | 'pattern' | 'recipient', value: unknown): string {
  const code = kind === 'recipient' ? 'INVALID_RECIPIENT' : 'INVALID_CHANNEL';
  if (typeof value !== 'string') throw new MessageBusError(code, `${kind} must be a string, got ${typeof value}`);
  if (value.length === 0) throw new MessageBusError(code, `${kind} must not be empty`);
  if (value.length > MAX_NAME_LENGTH)
    throw new MessageBusError(code, `${kind} is longer than ${MAX_NAME_LENGTH} characters`);
  if (FORBIDDEN.test(value)) {
    throw new MessageBusError(code, `${kind} ${JSON.stringify(value)} contains whitespace or control characters`);
  }
  // Redis would store a lone surrogate as U+FFFD: two different names would become one.
  if (/\p{Cs}/u.test(value)) throw new MessageBusError(code, `${kind} ${JSON.stringify(value)} is not valid UTF-8`);
  return value;
}

/** Validates a channel name: 1–256 characters, no whitespace or control characters. */
export function assertChannel(channel: unknown): string {
  return checkName('channel', channel);
}

/** Validates a subscription pattern (Redis glob: `*`, `?`, `[...]`); same rules as a channel. */
export function assertPattern(pattern: unknown): string {
  return checkName('pattern', pattern);
}

/** Validates a recipient id: as a channel, and without braces (it becomes a Redis Cluster hash tag). */
export function assertRecipient(recipient: unknown): string {
  const value = checkName('recipient', recipient);
  if (value.includes('{') || value.includes('}')) {
    throw new MessageBusError('INVALID_RECIPIENT', `recipient ${JSON.stringify(value)} must not contain braces`);
  }
  return value;
}

/** Redis names the bus uses under a namespace. Channel names and patterns are prefixed, never changed. */
export interface BusKeys {
  /** Pub/Sub channel for a user channel name. */
  channel(channel: string): string;
  /** PSUBSCRIBE pattern for a user pattern (the namespace holds no glob characters). */
  pattern(pattern: string): string;
  /** The user's channel name from a Redis channel name. */
  userChannel(redisChannel: string): string;
  /** The inbox stream of a recipient and its companions, all under the recipient's hash tag. */
  inbox(recipient: string): { stream: string; dead: string; trimmed: string };
}

/** Builds the {@link BusKeys} for `namespace`. */
export function busKeys(namespace: string): BusKeys {
  const channelPrefix = `${namespace}:bus:ch:`;
  return {
    channel: (channel) => channelPrefix + channel,
    pattern: (pattern) => channelPrefix + pattern,
    userChannel: (redisChannel) => redisChannel.slice(channelPrefix.length),
    inbox: (recipient) => {
      const stream = `${namespace}:bus:inbox:{${recipient}}`;
      return { stream, dead: `${stream}:dead`, trimmed: `${stream}:trimmed` };
    },
  };
}
