import { luaScript, runLuaScript } from '@shim/connection/kit';
import type { Redis } from 'ioredis';
import type { Envelope } from './codec.js';
import type { InboxKeys } from './keys.js';
import type { InboxMessageMeta } from './types.js';

/** Consumer group every inbox uses: instances of one recipient share (and split) its messages. */
export const GROUP = 'shim-inbox';

const DEAD_LETTER_MAX_LENGTH = 10_000;

/** An entry as XRANGE/XREADGROUP return it; XAUTOCLAIM on Redis 6.2 gives `null` fields for deleted entries. */
export type StreamEntry = [id: string, fields: string[] | null];

/**
 * Appends a message to an inbox, trims the inbox to ARGV[2] entries and counts what was trimmed.
 * The message is ARGV[1], or — when ARGV[3] is a dead-letter id — that dead letter's, which is
 * deleted in the same step (nil when there is no such dead letter): a retried message is in exactly
 * one of the two streams at any time. KEYS: inbox stream, trimmed counter, dead-letter stream (one
 * hash tag, so one script may touch them all).
 */
const APPEND_SCRIPT = luaScript(`
local raw = ARGV[1]
if ARGV[3] ~= '' then
  local entry = redis.call('XRANGE', KEYS[3], ARGV[3], ARGV[3])[1]
  if not entry then return false end
  raw = ''
  for i = 1, #entry[2], 2 do if entry[2][i] == 'm' then raw = entry[2][i + 1] end end
  redis.call('XDEL', KEYS[3], ARGV[3])
end
local id = redis.call('XADD', KEYS[1], '*', 'm', raw)
local trimmed = redis.call('XTRIM', KEYS[1], 'MAXLEN', tonumber(ARGV[2]))
if trimmed > 0 then redis.call('INCRBY', KEYS[2], trimmed) end
return id
`);

/**
 * Moves a message from the inbox to the dead-letter stream: it leaves the inbox only if it reached
 * the dead-letter stream. KEYS: inbox stream, dead-letter stream (one hash tag).
 * ARGV: id, raw, reason, deliveries, max length.
 */
const DEAD_LETTER_SCRIPT = luaScript(`
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'm', ARGV[2], 'reason', ARGV[3], 'deliveries', ARGV[4], 'id', ARGV[1])
redis.call('XACK', KEYS[1], '${GROUP}', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
`);

/** Appends `message.raw`, or the dead letter `message.deadLetterId` (moved back), to the inbox; its new id, or null. */
export async function appendToInbox(
  redis: Redis,
  keys: InboxKeys,
  message: { raw?: string; deadLetterId?: string; maxLength: number },
): Promise<string | null> {
  return (await runLuaScript(redis, APPEND_SCRIPT, {
    keys: [keys.stream, keys.trimmed, keys.dead],
    args: [message.raw ?? '', message.maxLength, message.deadLetterId ?? ''],
  })) as string | null;
}

/** Moves the message `letter.id` of the inbox to its dead-letter stream, atomically. */
export async function moveToDeadLetters(
  redis: Redis,
  keys: InboxKeys,
  letter: { id: string; raw: string; reason: string; deliveries: number },
): Promise<void> {
  await runLuaScript(redis, DEAD_LETTER_SCRIPT, {
    keys: [keys.stream, keys.dead],
    args: [letter.id, letter.raw, letter.reason, letter.deliveries, DEAD_LETTER_MAX_LENGTH],
  });
}

/** The value of `name` in a flat `[field, value, …]` list, or '' when it is absent. */
export function field(fields: readonly string[], name: string): string {
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === name) return fields[index + 1] ?? '';
  return '';
}

/** The meta an inbox handler gets for the message `id` on its delivery number `deliveries` (0 for `peek`). */
export function inboxMeta(
  recipient: string,
  { id, envelope, deliveries }: { id: string; envelope: Envelope; deliveries: number },
): InboxMessageMeta {
  const channel = `inbox:${recipient}`;
  const meta: InboxMessageMeta = {
    channel,
    recipient,
    id,
    messageId: envelope.id,
    sentAt: envelope.ts,
    deliveryCount: deliveries,
  };
  if (envelope.s !== undefined) meta.sender = envelope.s;
  return meta;
}
