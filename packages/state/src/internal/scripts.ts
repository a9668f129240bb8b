import { luaScript as script } from '@shim/connection/kit';

/**
 * Time after an entry's TTL at which Redis drops its hash by itself (PEXPIREAT), in case no
 * StateManager runs a cleanup: until then the cleanup can still report the `expire` with its
 * version. Reads never depend on it: they compare `expiresAt` with Redis' clock.
 */
export const EXPIRY_GRACE_MS = 60_000;

// Every entry script takes KEYS[1] the entry hash, KEYS[2] the index (key → a time at or before
// its last write) and KEYS[3] the expiries (key → expiresAt), all under the scope's hash tag, and
// ARGV[1] the user's key, ARGV[2] its change channel. Times come from Redis' clock (TIME), never
// from the client. Changes are PUBLISHed inside the script that makes them, so a change is reported
// exactly when it happens. Hash fields: value (JSON), version, updatedAt, timestamp (last-write-wins
// order), writer (JSON string, optional), expiresAt (optional). Every redis.call, tonumber and
// closure costs Redis CPU on each call, so the scripts read only the fields they need and build the
// common write (no writer, no TTL) without tables; numbers go to redis.call as strings made once
// (Redis formats numbers with %.17g).

// `key`, `channel`, and `now` (number) and `nowText` from Redis' TIME.
const HEAD = `
local key, channel = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local nowText = string.format('%d', now)
`;

// Removes the entry and PUBLISHes its removal (`kind`) with the version it had (a Lua expression).
const REMOVE = (kind: 'delete' | 'expire', version: string): string => `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], key)
redis.call('ZREM', KEYS[3], key)
redis.call('PUBLISH', channel, '{"type":"${kind}","version":' .. string.format('%d', ${version}) .. ',"updatedAt":' .. nowText .. '}')
`;

// Loads the live entry into `old` (1 version, 2 expiresAt, 3 timestamp, 4 writer, then `extra`
// fields), or nil when absent. An entry past its expiresAt is absent: removed and its expiry reported.
const LOAD = (extra = ''): string => `
local old = redis.call('HMGET', KEYS[1], 'version', 'expiresAt', 'timestamp', 'writer'${extra})
if not old[1] then
  old = nil
elseif old[2] and tonumber(old[2]) <= now then
  ${REMOVE('expire', 'tonumber(old[1]) or 0')}
  old = nil
end
`;

// Writes `value` as the next version of the entry and PUBLISHes it; sets `version` (a number).
// Uses: key, channel, old, value, ttl ('' or ms), keepTtl (keep an existing expiry when no ttl is
// given), timestamp ('' = arrival order, or the write's own time), writer ('' or JSON).
const WRITE = `
local version = 1
local stamp = nowText
if old then
  version = (tonumber(old[1]) or 0) + 1
  -- The entry's timestamp never moves backwards.
  if old[3] and (tonumber(old[3]) or 0) > now then stamp = old[3] end
end
if timestamp ~= '' then stamp = timestamp end
local versionText = string.format('%d', version)
if writer == '' and ttl == '' then
  redis.call('HSET', KEYS[1], 'value', value, 'version', versionText, 'updatedAt', nowText, 'timestamp', stamp)
else
  local fields = { 'value', value, 'version', versionText, 'updatedAt', nowText, 'timestamp', stamp }
  if writer ~= '' then
    fields[#fields + 1] = 'writer'
    fields[#fields + 1] = writer
  end
  local expiresAt
  if ttl ~= '' then
    expiresAt = now + tonumber(ttl)
    fields[#fields + 1] = 'expiresAt'
    fields[#fields + 1] = string.format('%d', expiresAt)
  end
  redis.call('HSET', KEYS[1], unpack(fields))
  if expiresAt then
    -- Always in the future (ttl >= 1): a negative expiry would delete the key at once.
    redis.call('PEXPIREAT', KEYS[1], string.format('%d', expiresAt + ${EXPIRY_GRACE_MS}))
    redis.call('ZADD', KEYS[3], string.format('%d', expiresAt), key)
  end
end
if old then
  if writer == '' and old[4] then redis.call('HDEL', KEYS[1], 'writer') end
  if ttl == '' and old[2] and not keepTtl then
    redis.call('HDEL', KEYS[1], 'expiresAt')
    redis.call('PERSIST', KEYS[1])
    redis.call('ZREM', KEYS[3], key)
  end
else
  -- The index holds each key with a time at or before its last write: set when the entry is
  -- created, raised lazily by the idle sweep (which rechecks updatedAt). One command less per update.
  redis.call('ZADD', KEYS[2], nowText, key)
end
if writer == '' then
  redis.call('PUBLISH', channel, '{"type":"set","version":' .. versionText .. ',"updatedAt":' .. nowText .. ',"value":' .. value .. '}')
else
  redis.call('PUBLISH', channel, '{"type":"set","version":' .. versionText .. ',"updatedAt":' .. nowText .. ',"writer":' .. writer .. ',"value":' .. value .. '}')
end
`;

/**
 * ARGV: key, channel, value JSON, ifVersion ('' = any), ttl ('' = none), timestamp ('' = arrival
 * order), writer JSON (''), keepTtl ('1' keeps an existing TTL when no ttl is given). Replies
 * { version, now } when written, { 'CONFLICT', version, value? } (the current entry, so a retry
 * needs no read) or { 'STALE', version, updatedAt } when the entry carries a newer timestamp.
 */
export const SET = script(`${HEAD}
local value, ifVersion, ttl, timestamp, writer = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local keepTtl = ARGV[8] == '1'
${LOAD()}
if ifVersion ~= '' then
  local current = 0
  if old then current = tonumber(old[1]) or 0 end
  if tonumber(ifVersion) ~= current then
    if old then return { 'CONFLICT', current, redis.call('HGET', KEYS[1], 'value') } end
    return { 'CONFLICT', 0 }
  end
end
if timestamp ~= '' and old and (tonumber(old[3]) or 0) > tonumber(timestamp) then
  return { 'STALE', tonumber(old[1]) or 0, tonumber(redis.call('HGET', KEYS[1], 'updatedAt')) or 0 }
end
${WRITE}
return { version, now }
`);

/** ARGV: key, channel. The live entry { value, version, updatedAt, writer or '', expiresAt or '' }, or nil (an expired one is removed and reported). */
export const GET = script(`${HEAD}${LOAD(", 'value', 'updatedAt'")}
if not old then return false end
return { old[5], old[1], old[6] or '0', old[4] or '', old[2] or '' }
`);

/** ARGV: key, channel, timestamp (''). 1 deleted, 0 absent, -1 kept because the entry has a newer timestamp. */
export const DELETE = script(`${HEAD}${LOAD()}
if not old then return 0 end
if ARGV[3] ~= '' and (tonumber(old[3]) or 0) > tonumber(ARGV[3]) then return -1 end
${REMOVE('delete', 'tonumber(old[1]) or 0')}
return 1
`);

// Splits a JSON object as JSON.stringify writes it (no whitespace) into its members as raw text,
// without decoding the values: cjson would change numbers (14 digits) and turn [] into {}.
const MEMBERS = `
local function skipString(s, i)
  local j = i + 1
  while true do
    local k = string.find(s, '["\\\\]', j)
    if not k then return nil end
    if string.sub(s, k, k) == '\\\\' then j = k + 2 else return k + 1 end
  end
end
local function skipValue(s, i)
  local c = string.sub(s, i, i)
  if c == '"' then return skipString(s, i) end
  if c == '{' or c == '[' then
    local depth, j = 0, i
    while true do
      local k = string.find(s, '[%[%]{}"]', j)
      if not k then return nil end
      local ch = string.sub(s, k, k)
      if ch == '"' then
        j = skipString(s, k)
        if not j then return nil end
      elseif ch == '{' or ch == '[' then
        depth = depth + 1
        j = k + 1
      else
        depth = depth - 1
        j = k + 1
        if depth == 0 then return j end
      end
    end
  end
  if c == '' or c == ',' or c == '}' or c == ']' then return nil end
  return string.find(s, '[,}%]]', i)
end
-- keys (raw JSON strings) and values (raw JSON), in order; nil when s is not such an object.
local function members(s)
  local keys, values = {}, {}
  if string.sub(s, 1, 1) ~= '{' then return nil end
  if s == '{}' then return keys, values end
  local i = 2
  while true do
    if string.sub(s, i, i) ~= '"' then return nil end
    local j = skipString(s, i)
    if not j or string.sub(s, j, j) ~= ':' then return nil end
    local v = skipValue(s, j + 1)
    if not v then return nil end
    keys[#keys + 1] = string.sub(s, i, j - 1)
    values[#values + 1] = string.sub(s, j + 1, v - 1)
    local d = string.sub(s, v, v)
    if d == '}' then
      if v ~= #s then return nil end
      return keys, values
    end
    if d ~= ',' then return nil end
    i = v + 1
  end
end
local function join(keys, values)
  local parts = {}
  for i = 1, #keys do
    if values[i] then parts[#parts + 1] = keys[i] .. ':' .. values[i] end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
`;

// `text` (an integer in JSON) plus `by`, as JSON; nil when not an integer or not a safe result.
const ADD = `
local function add(text, by)
  if not string.match(text, '^%-?%d+$') then return nil end
  local n = tonumber(text) + by
  if n > 9007199254740991 or n < -9007199254740991 then return nil end
  return string.format('%d', n)
end
`;

/**
 * ARGV: key, channel, ttl (''), writer JSON (''), maxBytes, by, field (raw JSON key; '' = the value
 * itself is the number). Keeps an existing TTL unless one is given. Replies { version, new value
 * (JSON) } or { 'TYPE_MISMATCH', reason } / { 'TOO_LARGE', bytes } with nothing written.
 */
export const INCREMENT = script(`${HEAD}
local ttl, timestamp, writer, keepTtl = ARGV[3], '', ARGV[4], true
local by, field = tonumber(ARGV[6]), ARGV[7]
${LOAD(", 'value'")}${ADD}
local text = nil
if old then text = old[5] end
local value
if field == '' then
  value = add(text or '0', by)
  if not value then return { 'TYPE_MISMATCH', 'the value is not an integer, or the result is not a safe integer' } end
else
  ${MEMBERS}
  local keys, values = members(text or '{}')
  if not keys then return { 'TYPE_MISMATCH', 'the value is not an object' } end
  local found = nil
  for i = 1, #keys do if keys[i] == field then found = i end end
  if found then
    local n = add(values[found], by)
    if not n then return { 'TYPE_MISMATCH', 'the field is not an integer, or the result is not a safe integer' } end
    values[found] = n
  else
    keys[#keys + 1] = field
    values[#values + 1] = add('0', by)
  end
  value = join(keys, values)
end
if #value > tonumber(ARGV[5]) then return { 'TOO_LARGE', #value } end
${WRITE}
return { version, value }
`);

/**
 * ARGV: key, channel, ttl (''), writer JSON (''), maxBytes, then raw JSON key, raw JSON value
 * ('' = remove the key), repeated. Keeps an existing TTL unless one is given. Replies like INCREMENT.
 */
export const MERGE = script(`${HEAD}
local ttl, timestamp, writer, keepTtl = ARGV[3], '', ARGV[4], true
${LOAD(", 'value'")}${MEMBERS}
local text = nil
if old then text = old[5] end
local keys, values = members(text or '{}')
if not keys then return { 'TYPE_MISMATCH', 'the value is not an object' } end
local position = {}
for i = 1, #keys do position[keys[i]] = i end
for a = 6, #ARGV, 2 do
  local p = position[ARGV[a]]
  local v = ARGV[a + 1]
  if v == '' then
    if p then values[p] = false end
  elseif p then
    values[p] = v
  else
    keys[#keys + 1] = ARGV[a]
    values[#values + 1] = v
    position[ARGV[a]] = #keys
  end
end
local value = join(keys, values)
if #value > tonumber(ARGV[5]) then return { 'TOO_LARGE', #value } end
${WRITE}
return { version, value }
`);

/** KEYS: a sorted set. ARGV: age (ms), limit. Members scored at or before now - age, by Redis' clock. */
export const DUE = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
`);

/**
 * ARGV: key, channel, maxIdle ('' = TTL only). Removes the entry if it is past its expiresAt or
 * (with maxIdle) not updated for that long, rechecked here so a write that got in first keeps it;
 * reports `expire`. Forgets index members whose hash is gone. 1 removed, 0 kept.
 */
export const EXPIRE = script(`${HEAD}
local maxIdle = ARGV[3]
local e = redis.call('HMGET', KEYS[1], 'version', 'expiresAt', 'updatedAt')
if not e[1] then
  -- Gone already (dropped by Redis after the grace period, or deleted by hand): report it once.
  if redis.call('ZREM', KEYS[2], key) + redis.call('ZREM', KEYS[3], key) > 0 then
    redis.call('PUBLISH', channel, '{"type":"expire","version":0,"updatedAt":' .. nowText .. '}')
    return 1
  end
  return 0
end
if (e[2] and tonumber(e[2]) <= now) or (maxIdle ~= '' and (tonumber(e[3]) or 0) <= now - tonumber(maxIdle)) then
  ${REMOVE('expire', 'tonumber(e[1]) or 0')}
  return 1
end
if not e[2] then redis.call('ZREM', KEYS[3], key) end
-- Written since it was indexed: index it at its last write, so it is not due again before then.
if maxIdle ~= '' then redis.call('ZADD', KEYS[2], tonumber(e[3]) or now, key) end
return 0
`);

/** KEYS: lock, fences. ARGV: owner token, ttl, lock name. { 1, fencing token } or { 0, pttl of the holder's lock }. */
export const ACQUIRE = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return { 1, redis.call('HINCRBY', KEYS[2], ARGV[3], 1) }
end
return { 0, redis.call('PTTL', KEYS[1]) }
`);

/** KEYS: lock. ARGV: owner token, ttl. 1 when still held by this owner (TTL reset), else 0. */
export const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

/** KEYS: lock. ARGV: owner token. 1 when this owner held it (now released), else 0: only the owner releases. */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);
