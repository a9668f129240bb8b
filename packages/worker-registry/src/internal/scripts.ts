import { luaScript as script } from '@shim/connection';

// Every script reads the time from Redis, never from the client: liveness is judged by one clock.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Storage, all under one hash tag: KEYS[1] alive (zset id → last heartbeat), KEYS[2] info (hash
// id → JSON {id, incarnation, registeredAt, metadata}, built by the client), KEYS[3] status (hash
// id → status), KEYS[4] incarnation (hash id → incarnation). A worker's JSON as the API returns it
// is its info with status and lastHeartbeat appended, put together here by string concatenation.
const WORKER = `
local function worker(info, status, heartbeat)
  return string.sub(info, 1, -2) .. ',"status":"' .. status .. '","lastHeartbeat":' .. heartbeat .. '}'
end
local function publish(channel, kind, reason, json)
  local extra = ''
  if reason ~= '' then extra = ',"reason":"' .. reason .. '"' end
  redis.call('PUBLISH', channel, '{"type":"' .. kind .. '"' .. extra .. ',"worker":' .. json .. '}')
end
local function alive(id, ttl, now)
  local score = redis.call('ZSCORE', KEYS[1], id)
  return score and tonumber(score) + ttl > now, score
end
`;

/**
 * ARGV: id, incarnation, ttl, replace ('1'/'0'), channel, reason, info JSON without registeredAt
 * (the script puts Redis' time in), status. Refuses a live registration unless replacing; an
 * expired one it overwrites is reported `stale` first, so nobody waits for that event in vain.
 */
export const REGISTER = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[3]), now)
if isAlive and ARGV[4] ~= '1' then
  return { 'ALIVE', redis.call('HGET', KEYS[4], ARGV[1]) or '' }
end
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous and score and not isAlive then
  publish(ARGV[5], 'stale', '', worker(previous, redis.call('HGET', KEYS[3], ARGV[1]) or 'offline', score))
end
local info = string.sub(ARGV[7], 1, -2) .. ',"registeredAt":' .. now .. '}'
redis.call('HSET', KEYS[2], ARGV[1], info)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[8])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
local json = worker(info, ARGV[8], now)
local reason = ARGV[6]
if isAlive then reason = 'replaced' end
publish(ARGV[5], 'joined', reason, json)
return { 'OK', json }
`);

/**
 * ARGV: id, incarnation, ttl, channel, status ('' = unchanged), info JSON ('' = unchanged).
 * Refuses an unknown or expired worker (NOT_REGISTERED) and one registered again under another
 * incarnation (REPLACED). Checks everything before writing anything. One round trip per heartbeat.
 */
export const HEARTBEAT = script(`${NOW}${WORKER}
if not alive(ARGV[1], tonumber(ARGV[3]), now) then return { 'NOT_REGISTERED' } end
local incarnation = redis.call('HGET', KEYS[4], ARGV[1])
local status = redis.call('HGET', KEYS[3], ARGV[1])
if not incarnation or not status or not redis.call('HGET', KEYS[2], ARGV[1]) then return { 'NOT_REGISTERED' } end
if incarnation ~= ARGV[2] then return { 'REPLACED' } end
redis.call('ZADD', KEYS[1], now, ARGV[1])
local changed = false
if ARGV[5] ~= '' and status ~= ARGV[5] then
  status = ARGV[5]
  redis.call('HSET', KEYS[3], ARGV[1], status)
  changed = true
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
  changed = true
end
if changed then publish(ARGV[4], 'status', '', worker(redis.call('HGET', KEYS[2], ARGV[1]), status, now)) end
return { 'OK', now }
`);

/**
 * ARGV: id, status, ttl, channel, incarnation ('' = any). Only for a live worker, and only for the
 * given incarnation when one is given (a replaced worker cannot change its successor).
 */
export const SET_STATUS = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[3]), now)
if not isAlive then return { 'NOT_REGISTERED' } end
local info = redis.call('HGET', KEYS[2], ARGV[1])
if not info then return { 'NOT_REGISTERED' } end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[5] then return { 'REPLACED' } end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  publish(ARGV[4], 'status', '', worker(info, ARGV[2], score))
end
return { 'OK' }
`);

/**
 * ARGV: id, channel, incarnation ('' = any). Idempotent: 0 when there was nothing to remove. With an
 * incarnation, removes nothing registered under another one (a replaced worker leaves its successor).
 */
export const UNREGISTER = script(`${WORKER}
if ARGV[3] ~= '' then
  local current = redis.call('HGET', KEYS[4], ARGV[1])
  if current and current ~= ARGV[3] then return 0 end
end
local info = redis.call('HGET', KEYS[2], ARGV[1])
local status = redis.call('HGET', KEYS[3], ARGV[1]) or 'offline'
local score = redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0'
local removed = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if info then publish(ARGV[2], 'left', '', worker(info, status, score)) end
return removed
`);

/**
 * ARGV: id, ttl, channel. Removes the worker only if it is still past its TTL when the script runs,
 * so a heartbeat that got in first keeps it (and one that comes after is refused). Returns the
 * reaped worker's JSON, or '' when it was not reaped.
 */
export const REAP = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[2]), now)
if isAlive or not score then return '' end
local info = redis.call('HGET', KEYS[2], ARGV[1])
local status = redis.call('HGET', KEYS[3], ARGV[1]) or 'offline'
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if not info then return '' end
local json = worker(info, status, score)
publish(ARGV[3], 'stale', '', json)
return json
`);

/** KEYS: alive. ARGV: ttl, limit. Ids past their TTL now, by Redis' clock, oldest first. */
export const STALE_IDS = script(`${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
`);

/** ARGV: id, ttl. The worker's JSON if it is alive, else ''. */
export const GET = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[2]), now)
if not isAlive then return '' end
local info = redis.call('HGET', KEYS[2], ARGV[1])
if not info then return '' end
return worker(info, redis.call('HGET', KEYS[3], ARGV[1]) or 'offline', score)
`);

/**
 * ARGV: ttl. Every worker alive now, by Redis' clock, in one round trip, as three strings joined in
 * C by table.concat (per-item Lua concatenation and thousands of RESP replies both cost more):
 * the infos separated by newlines (JSON never holds a raw newline), the statuses and the last
 * heartbeats separated by commas, in the same order.
 */
export const LIST_ALIVE = script(`${NOW}
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local infos, statuses, heartbeats = {}, {}, {}
-- HMGET in chunks: Lua's unpack() has a limit on the number of values.
for start = 1, #found, 2000 do
  local ids = {}
  for i = start, math.min(start + 1999, #found), 2 do ids[#ids + 1] = found[i] end
  local chunkInfos = redis.call('HMGET', KEYS[2], unpack(ids))
  local chunkStatuses = redis.call('HMGET', KEYS[3], unpack(ids))
  for i = 1, #ids do
    -- A member whose info is gone (deleted by hand) is no worker.
    if chunkInfos[i] then
      infos[#infos + 1] = chunkInfos[i]
      statuses[#statuses + 1] = chunkStatuses[i] or 'offline'
      heartbeats[#heartbeats + 1] = found[start + 2 * i - 1]
    end
  end
end
return { table.concat(infos, '\\n'), table.concat(statuses, ','), table.concat(heartbeats, ',') }
`);
