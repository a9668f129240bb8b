import { luaScript as script } from '@shim/connection/kit';

// Every script reads the time from Redis, never from the client: liveness is judged by one clock.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Storage, all under one hash tag: KEYS[1] alive (zset id → last heartbeat), KEYS[2] info (hash id → JSON {id,
// incarnation, registeredAt, metadata}, built by the client), KEYS[3] status (hash id → status), KEYS[4] incarnation
// (hash id → incarnation), KEYS[5] changes (zset id → sequence number of its last change), KEYS[6] version (hash:
// epoch, seq). A worker's JSON as the API returns it is its info with status and lastHeartbeat appended, put together
// here by string concatenation.
//
// Every script that writes an info, a status or an incarnation takes the next sequence number and files the worker
// under it in changes, in the same script, so listActive() can ask for only what changed after the last number it saw
// and keep a copy of the rest. Plain heartbeats change none of it. The epoch is a random token from the client, set
// when the version hash is created: after data loss (or once the last worker is gone and the keys deleted) numbers
// start again under a new epoch, and a copy made under the old one is never mistaken for current.
const WORKER = `
local function worker(info, status, heartbeat)
  return string.sub(info, 1, -2) .. ',"status":"' .. status .. '","lastHeartbeat":' .. heartbeat .. '}'
end
local function publish(channel, kind, reason, json)
  local extra = ''
  if reason ~= '' then extra = ',"reason":"' .. reason .. '"' end
  redis.call('PUBLISH', channel, '{"type":"' .. kind .. '"' .. extra .. ',"worker":' .. json .. '}')
end
local function changed(id, epoch)
  redis.call('HSETNX', KEYS[6], 'epoch', epoch)
  redis.call('ZADD', KEYS[5], redis.call('HINCRBY', KEYS[6], 'seq', 1), id)
end
-- A removed worker leaves listActive() with its heartbeat: nobody needs a number for that. The
-- keys of the copy go with the last worker, so nothing is left behind.
local function removed(id)
  redis.call('ZREM', KEYS[5], id)
  if redis.call('HLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[5], KEYS[6]) end
end
local function alive(id, ttl, now)
  local score = redis.call('ZSCORE', KEYS[1], id)
  return score and tonumber(score) + ttl > now, score
end
`;

/**
 * ARGV: id, incarnation, ttl, replace ('1'/'0'), channel, reason, info JSON without registeredAt (the script puts
 * Redis' time in), status, epoch token (used if there is no epoch yet). Refuses a live registration unless replacing;
 * an expired one it overwrites is reported `stale` first, so nobody waits for that event in vain.
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
changed(ARGV[1], ARGV[9])
local json = worker(info, ARGV[8], now)
local reason = ARGV[6]
if isAlive then reason = 'replaced' end
publish(ARGV[5], 'joined', reason, json)
return { 'OK', json }
`);

/**
 * ARGV: id, incarnation, ttl, channel, status ('' = unchanged), info JSON ('' = unchanged), epoch token (used only
 * when the status or the info changes and there is no epoch yet). Refuses an unknown or expired worker
 * (NOT_REGISTERED) and one registered again under another incarnation (REPLACED). Checks everything before writing
 * anything. One round trip per heartbeat.
 */
export const HEARTBEAT = script(`${NOW}${WORKER}
if not alive(ARGV[1], tonumber(ARGV[3]), now) then return { 'NOT_REGISTERED' } end
local incarnation = redis.call('HGET', KEYS[4], ARGV[1])
local status = redis.call('HGET', KEYS[3], ARGV[1])
if not incarnation or not status or not redis.call('HGET', KEYS[2], ARGV[1]) then return { 'NOT_REGISTERED' } end
if incarnation ~= ARGV[2] then return { 'REPLACED' } end
redis.call('ZADD', KEYS[1], now, ARGV[1])
local patched = false
if ARGV[5] ~= '' and status ~= ARGV[5] then
  status = ARGV[5]
  redis.call('HSET', KEYS[3], ARGV[1], status)
  patched = true
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
  patched = true
end
if patched then
  changed(ARGV[1], ARGV[7])
  publish(ARGV[4], 'status', '', worker(redis.call('HGET', KEYS[2], ARGV[1]), status, now))
end
return { 'OK', now }
`);

/**
 * ARGV: id, status, ttl, channel, incarnation ('' = any), epoch token. Only for a live worker, and only for the given
 * incarnation when one is given (a replaced worker cannot change its successor).
 */
export const SET_STATUS = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[3]), now)
if not isAlive then return { 'NOT_REGISTERED' } end
local info = redis.call('HGET', KEYS[2], ARGV[1])
if not info then return { 'NOT_REGISTERED' } end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[5] then return { 'REPLACED' } end
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  changed(ARGV[1], ARGV[6])
  publish(ARGV[4], 'status', '', worker(info, ARGV[2], score))
end
return { 'OK' }
`);

/**
 * ARGV: id, channel, incarnation ('' = any). Idempotent: 0 when there was nothing to remove. With an incarnation,
 * removes nothing registered under another one (a replaced worker leaves its successor).
 */
export const UNREGISTER = script(`${WORKER}
if ARGV[3] ~= '' then
  local current = redis.call('HGET', KEYS[4], ARGV[1])
  if current and current ~= ARGV[3] then return 0 end
end
local info = redis.call('HGET', KEYS[2], ARGV[1])
local status = redis.call('HGET', KEYS[3], ARGV[1]) or 'offline'
local score = redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0'
local count = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
removed(ARGV[1])
if info then publish(ARGV[2], 'left', '', worker(info, status, score)) end
return count
`);

/**
 * ARGV: id, ttl, channel. Removes the worker only if it is still past its TTL when the script runs, so a heartbeat
 * that got in first keeps it (and one that comes after is refused). Returns the reaped worker's JSON, or '' when it
 * was not reaped.
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
removed(ARGV[1])
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
 * ARGV: ttl, epoch and sequence number of the caller's copy ('' and 0 = none). Every worker alive now, by Redis'
 * clock, in one round trip, as strings joined in C by table.concat (per-item Lua concatenation and thousands of RESP
 * replies both cost more): the epoch ('' = none yet) and the last sequence number; the alive ids and their last
 * heartbeats alternating, separated by newlines (ids hold no control characters); then infos separated by newlines
 * (JSON never holds a raw newline) and their statuses separated by commas, in the same order — of the workers changed
 * after the caller's sequence number when the caller's epoch is current, else of every alive worker that has an info.
 */
export const LIST_ALIVE = script(`${NOW}
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local version = redis.call('HMGET', KEYS[6], 'epoch', 'seq')
local epoch, seq = version[1] or '', version[2] or '0'
local ids
if epoch ~= '' and epoch == ARGV[2] then
  ids = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. ARGV[3], '+inf')
else
  ids = {}
  for i = 1, #found, 2 do ids[#ids + 1] = found[i] end
end
local infos, statuses = {}, {}
-- HMGET in chunks: Lua's unpack() has a limit on the number of values.
for start = 1, #ids, 1000 do
  local chunk = {}
  for i = start, math.min(start + 999, #ids) do chunk[#chunk + 1] = ids[i] end
  local chunkInfos = redis.call('HMGET', KEYS[2], unpack(chunk))
  local chunkStatuses = redis.call('HMGET', KEYS[3], unpack(chunk))
  for i = 1, #chunk do
    -- A member whose info is gone (deleted by hand) is no worker.
    if chunkInfos[i] then
      infos[#infos + 1] = chunkInfos[i]
      statuses[#statuses + 1] = chunkStatuses[i] or 'offline'
    end
  end
end
return { epoch, seq, table.concat(found, '\\n'), table.concat(infos, '\\n'), table.concat(statuses, ',') }
`);
