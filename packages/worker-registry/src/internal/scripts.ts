import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script, sent by SHA once Redis has it (EVALSHA, then EVAL on NOSCRIPT). */
export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs `script` with `keys` and `args` in one round trip (two the first time Redis sees it). */
export async function runScript(
  redis: Redis,
  target: Script,
  { keys, args }: { keys: string[]; args: Array<string | number> },
): Promise<unknown> {
  try {
    return await redis.evalsha(target.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(target.source, keys.length, ...keys, ...args);
  }
}

// Every script reads the time from Redis, never from the client: liveness is judged by one clock.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Publishes an event with the worker's hash (flat field list) so every subscriber builds the same WorkerInfo.
const PUBLISH = `
local function publish(channel, kind, reason, hash)
  redis.call('PUBLISH', channel, cjson.encode({ type = kind, reason = reason, hash = hash }))
end
`;

/**
 * KEYS: alive, worker hash. ARGV: id, incarnation, ttl, replace ('1'/'0'), channel, reason, then
 * metadata pairs (key, JSON). Refuses a live registration unless replacing.
 */
export const REGISTER = script(`${NOW}${PUBLISH}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local alive = score and tonumber(score) + tonumber(ARGV[3]) > now
if alive and ARGV[4] ~= '1' then
  return { 'ALIVE', redis.call('HGET', KEYS[2], 'inc') or '' }
end
redis.call('DEL', KEYS[2])
local fields = { 'id', ARGV[1], 'inc', ARGV[2], 'status', 'idle', 'reg', now, 'hb', now }
for i = 7, #ARGV, 2 do
  fields[#fields + 1] = 'm:' .. ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('ZADD', KEYS[1], now, ARGV[1])
local hash = redis.call('HGETALL', KEYS[2])
local reason = ARGV[6]
if alive then reason = 'replaced' end
publish(ARGV[5], 'joined', reason, hash)
return { 'OK', hash }
`);

/**
 * KEYS: alive, worker hash. ARGV: id, incarnation, ttl, channel, status ('' = unchanged),
 * number of keys to remove, keys to remove…, then metadata pairs (key, JSON) to set.
 * Refuses an unknown, expired or other-incarnation worker. One round trip per heartbeat.
 */
export const HEARTBEAT = script(`${NOW}${PUBLISH}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) + tonumber(ARGV[3]) <= now then return { 'NOT_REGISTERED' } end
if redis.call('HGET', KEYS[2], 'inc') ~= ARGV[2] then return { 'NOT_REGISTERED' } end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'hb', now)
local changed = false
if ARGV[5] ~= '' and redis.call('HGET', KEYS[2], 'status') ~= ARGV[5] then
  redis.call('HSET', KEYS[2], 'status', ARGV[5])
  changed = true
end
local removals = tonumber(ARGV[6])
for i = 7, 6 + removals do
  if redis.call('HDEL', KEYS[2], 'm:' .. ARGV[i]) == 1 then changed = true end
end
for i = 7 + removals, #ARGV, 2 do
  redis.call('HSET', KEYS[2], 'm:' .. ARGV[i], ARGV[i + 1])
  changed = true
end
if changed then publish(ARGV[4], 'status', nil, redis.call('HGETALL', KEYS[2])) end
return { 'OK', now }
`);

/** KEYS: alive, worker hash. ARGV: id, status, ttl, channel. Only for a live worker. */
export const SET_STATUS = script(`${NOW}${PUBLISH}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) + tonumber(ARGV[3]) <= now then return { 'NOT_REGISTERED' } end
if redis.call('HGET', KEYS[2], 'status') ~= ARGV[2] then
  redis.call('HSET', KEYS[2], 'status', ARGV[2])
  publish(ARGV[4], 'status', nil, redis.call('HGETALL', KEYS[2]))
end
return { 'OK' }
`);

/** KEYS: alive, worker hash. ARGV: id, channel. Idempotent: 0 when there was nothing to remove. */
export const UNREGISTER = script(`${PUBLISH}
local hash = redis.call('HGETALL', KEYS[2])
local removed = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('DEL', KEYS[2])
if #hash > 0 then publish(ARGV[2], 'left', nil, hash) end
return removed
`);

/**
 * KEYS: alive, worker hash. ARGV: id, ttl, channel. Returns the reaped worker's hash (empty when it
 * was not reaped). Removes the worker only if it is still past its
 * TTL when the script runs, so a heartbeat that got in first keeps it (and one that comes after is refused).
 */
export const REAP = script(`${NOW}${PUBLISH}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) + tonumber(ARGV[2]) > now then return {} end
local hash = redis.call('HGETALL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if #hash > 0 then publish(ARGV[3], 'stale', nil, hash) end
return hash
`);

/** KEYS: alive. ARGV: ttl, 'alive' | 'stale', limit. Ids alive (or past their TTL) now, by Redis' clock. */
export const RANGE = script(`${NOW}
local cutoff = now - tonumber(ARGV[1])
if ARGV[2] == 'alive' then
  return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. cutoff, '+inf')
end
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[3]))
`);

/** KEYS: alive, worker hash. ARGV: id, ttl. The worker's hash if it is alive, else an empty list. */
export const GET = script(`${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) + tonumber(ARGV[2]) <= now then return {} end
return redis.call('HGETALL', KEYS[2])
`);
