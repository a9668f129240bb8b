import { check } from './internal/check.js';

// Built once: an object spread per call costs microseconds on Node 20, and publish() checks a name every time.
const CHANNEL = { field: 'channel', code: 'INVALID_CHANNEL', maxLength: 256, refuseWhitespace: true } as const;
const PATTERN = { ...CHANNEL, field: 'pattern' } as const;
const RECIPIENT = { ...CHANNEL, field: 'recipient', code: 'INVALID_RECIPIENT', refuseBraces: true } as const;

/** Validates a channel name: 1–256 characters, no whitespace, control characters or lone surrogates. */
export function assertChannel(channel: unknown): string {
  return check.name(channel, CHANNEL);
}

/** Validates a subscription pattern (Redis glob: `*`, `?`, `[...]`); same rules as a channel. */
export function assertPattern(pattern: unknown): string {
  return check.name(pattern, PATTERN);
}

/** Validates a recipient id: as a channel, and without braces (it becomes a Redis Cluster hash tag). */
export function assertRecipient(recipient: unknown): string {
  return check.name(recipient, RECIPIENT);
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
  inbox(recipient: string): InboxKeys;
}

/**
 * The keys of one inbox. They share the recipient as hash tag, because sending (XADD + trim count),
 * dead-lettering (XADD to `dead` + XDEL from `stream`) and retrying run as one script each.
 */
export interface InboxKeys {
  stream: string;
  dead: string;
  trimmed: string;
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
