import { luaScript as script } from '@shim/connection/kit';

// Every script reads the time from Redis, never from the client: liveness is judged by one clock.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Storage, all under one hash tag: KEYS[1] alive (zset id → last heartbeat), KEYS[2] info (hash id → JSON {id,
// incarnation, registeredAt, metadata}, built by the client), KEYS[3] status, KEYS[4] incarnation (hashes by id),
// KEYS[5] changes (zset id → sequence number of its last change), KEYS[6] version (hash: epoch, seq). A worker's JSON
// as the API returns it is its info with status and lastHeartbeat appended by string concatenation.
//
// Every script that writes an info, a status or an incarnation files the worker under the next sequence number in
// changes, so listActive() can ask for only what changed after the last number it saw and keep a copy of the rest
// (plain heartbeats change none of it). The epoch is a random token from the client, set when the version hash is
// created: after data loss (or once the last worker is gone and the keys deleted) numbers start again under a new
// epoch, and a copy made under the old one is never mistaken for current.
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
-- Removes a worker and its data; returns its info (nil when none) and status. A removed worker
-- leaves listActive() with its heartbeat: it needs no sequence number. The keys of the copy go
-- with the last worker, so nothing is left behind.
local function remove(id)
  local info, status = redis.call('HGET', KEYS[2], id), redis.call('HGET', KEYS[3], id) or 'offline'
  redis.call('ZREM', KEYS[1], id)
  for i = 2, 4 do redis.call('HDEL', KEYS[i], id) end
  redis.call('ZREM', KEYS[5], id)
  if redis.call('HLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[5], KEYS[6]) end
  return info, status
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
publish(ARGV[5], 'joined', isAlive and 'replaced' or ARGV[6], json)
return { 'OK', json }
`);

/**
 * ARGV: id, incarnation ('' = any), ttl, channel, status ('' = unchanged), info JSON ('' = unchanged), epoch token
 * (used only when something changes and there is no epoch yet), '1' for a heartbeat (refreshes liveness; the worker
 * must have an incarnation and a status) or '' for setStatus. Refuses a worker that is unknown or past its TTL
 * (NOT_REGISTERED) and one registered again under another incarnation than the one given (REPLACED: a replaced worker
 * cannot change its successor). Checks everything before writing anything; publishes `status` when something changed.
 */
export const UPDATE = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[3]), now)
local info, status = redis.call('HGET', KEYS[2], ARGV[1]), redis.call('HGET', KEYS[3], ARGV[1])
local incarnation = redis.call('HGET', KEYS[4], ARGV[1])
if not isAlive or not info or (ARGV[8] == '1' and not (incarnation and status)) then return 'NOT_REGISTERED' end
if ARGV[2] ~= '' and incarnation ~= ARGV[2] then return 'REPLACED' end
if ARGV[8] == '1' then
  score = now
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
if ARGV[6] ~= '' or (ARGV[5] ~= '' and ARGV[5] ~= status) then
  if ARGV[5] ~= '' then status = ARGV[5] end
  if ARGV[6] ~= '' then info = ARGV[6] end
  redis.call('HSET', KEYS[2], ARGV[1], info)
  redis.call('HSET', KEYS[3], ARGV[1], status)
  changed(ARGV[1], ARGV[7])
  publish(ARGV[4], 'status', '', worker(info, status, score))
end
return 'OK'
`);

/**
 * ARGV: id, channel, incarnation ('' = any). Idempotent. With an incarnation, removes nothing registered under
 * another one (a replaced worker leaves its successor).
 */
export const UNREGISTER = script(`${WORKER}
if ARGV[3] ~= '' and (redis.call('HGET', KEYS[4], ARGV[1]) or ARGV[3]) ~= ARGV[3] then return 0 end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0'
local info, status = remove(ARGV[1])
if info then publish(ARGV[2], 'left', '', worker(info, status, score)) end
return 1
`);

/**
 * ARGV: ttl, channel, limit. Reaps up to `limit` workers past their TTL now, by Redis' clock, oldest first,
 * publishing `stale` for each: a heartbeat that got in first keeps its worker, one that comes after is refused.
 * Returns how many were past their TTL and the reaped workers' JSON, newline-separated.
 */
export const REAP_STALE = script(`${NOW}${WORKER}
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local reaped = {}
for i = 1, #found, 2 do
  local info, status = remove(found[i])
  if info then
    reaped[#reaped + 1] = worker(info, status, found[i + 1])
    publish(ARGV[2], 'stale', '', reaped[#reaped])
  end
end
return { #found / 2, table.concat(reaped, '\\n') }
`);

/** ARGV: id, ttl. The worker's JSON if it is alive, else ''. */
export const GET = script(`${NOW}${WORKER}
local isAlive, score = alive(ARGV[1], tonumber(ARGV[2]), now)
local info = isAlive and redis.call('HGET', KEYS[2], ARGV[1])
if not info then return '' end
return worker(info, redis.call('HGET', KEYS[3], ARGV[1]) or 'offline', score)
`);

/**
 * ARGV: ttl, epoch and sequence number of the caller's copy ('' and 0 = none). Replies what `AliveReply` describes,
 * as strings joined in C by table.concat: per-item Lua concatenation and thousands of RESP replies both cost more.
 * Ids hold no control characters, JSON no raw newline.
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
