import { luaScript as script } from '@shim/connection/kit';

/**
 * Time after an entry's TTL at which Redis drops its hash by itself (PEXPIREAT), in case no
 * StateManager runs a cleanup: until then the cleanup can still report the `expire` with its
 * version. Reads never depend on it: they compare `expiresAt` with Redis' clock.
 */
export const EXPIRY_GRACE_MS = 60_000;

// Every entry script takes KEYS[1] the entry hash, KEYS[2] the index (key → updatedAt) and
// KEYS[3] the expiries (key → expiresAt), all under the scope's hash tag, and ARGV[1] the user's key.
// The change channel is built here from the index key (\`<base>:index\` → \`<base>:changes:<key>\`,
// as stateKeys lays them out): one argument less per write is measurably cheaper for the client. Times come from Redis'
// clock (TIME), never from the client. Changes are PUBLISHed inside the script that makes them,
// so a change is reported exactly when it happens. Hash fields: value (JSON), version,
// updatedAt, timestamp (last-write-wins order), writer (JSON string, optional), expiresAt (optional).
const CHANNEL = `string.sub(KEYS[2], 1, -6) .. 'changes:' .. ARGV[1]`;

const PRELUDE = `
local channel = ${CHANNEL}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Numbers handed to redis.call are formatted with %.17g, slower than passing strings made once.
local nowText = string.format('%d', now)
local function publish(channel, kind, version, value, writer)
  local message = '{"type":"' .. kind .. '","version":' .. version .. ',"updatedAt":' .. nowText
  if writer then message = message .. ',"writer":' .. writer end
  if value then message = message .. ',"value":' .. value end
  redis.call('PUBLISH', channel, message .. '}')
end
local function remove(key)
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], key)
  redis.call('ZREM', KEYS[3], key)
end
-- Fields of the live entry (1 value, 2 version, 3 expiresAt, 4 timestamp, 5 writer, 6 updatedAt),
-- or nil when absent. An entry past its expiresAt is absent: it is removed and its expiry reported.
local function load(key, channel)
  local e = redis.call('HMGET', KEYS[1], 'value', 'version', 'expiresAt', 'timestamp', 'writer', 'updatedAt')
  if not e[1] then return nil end
  if e[3] and tonumber(e[3]) <= now then
    remove(key)
    publish(channel, 'expire', tonumber(e[2]) or 0, nil, nil)
    return nil
  end
  return e
end
`;

// The writing scripts (SET, INCREMENT, MERGE) are written for speed: every redis.call, tonumber,
// string.format and closure costs Redis CPU on each write, so they read only the fields they need
// and build the common write (no writer, no TTL) without tables. CLOCK gives `now` (number) and
// `nowText` from Redis' TIME.
const CLOCK = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local nowText = string.format('%d', now)
`;

// Loads the live entry into `old` (1 version, 2 expiresAt, 3 timestamp, 4 writer, then `extra`
// fields), or nil when absent. An entry past its expiresAt is absent: removed and its expiry reported.
const LOAD = (extra: string): string => `
local old = redis.call('HMGET', KEYS[1], 'version', 'expiresAt', 'timestamp', 'writer'${extra})
if not old[1] then
  old = nil
elseif old[2] and tonumber(old[2]) <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], key)
  redis.call('ZREM', KEYS[3], key)
  redis.call('PUBLISH', channel, '{"type":"expire","version":' .. string.format('%d', tonumber(old[1]) or 0) .. ',"updatedAt":' .. nowText .. '}')
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
 * ARGV: key, value JSON, then optionally (absent = '' / '0'): ifVersion ('' = any), ttl
 * ('' = none), timestamp ('' = arrival order), writer JSON (''), keepTtl ('1'/'0'). A plain set
 * sends two arguments. Replies 'version:now' when written (one bulk string: an array reply costs
 * the client about a tenth of a plain write's time), { 'CONFLICT', version, value? } (the
 * current entry, so a retry needs no read) or { 'STALE', version, updatedAt } when the entry
 * carries a newer timestamp than the write.
 */
export const SET = script(`
local key, value = ARGV[1], ARGV[2]
local channel = ${CHANNEL}
local ifVersion, ttl, timestamp, writer = ARGV[3] or '', ARGV[4] or '', ARGV[5] or '', ARGV[6] or ''
local keepTtl = ARGV[7] == '1'
${CLOCK}${LOAD('')}
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
return versionText .. ':' .. nowText
`);

/** ARGV: key. The live entry { value, version, updatedAt, writer or '', expiresAt or '' }, or nil (an expired one is removed and reported). */
export const GET = script(`${PRELUDE}
local e = load(ARGV[1], channel)
if not e then return false end
return { e[1], e[2], e[6] or '0', e[5] or '', e[3] or '' }
`);

/** ARGV: key, timestamp (''). 1 deleted, 0 absent, -1 kept because the entry has a newer timestamp. */
export const DELETE = script(`${PRELUDE}
local old = load(ARGV[1], channel)
if not old then return 0 end
if ARGV[2] ~= '' and (tonumber(old[4]) or 0) > tonumber(ARGV[2]) then return -1 end
remove(ARGV[1])
publish(channel, 'delete', tonumber(old[2]) or 0, nil, nil)
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
local function add(text, by)
  if not string.match(text, '^%-?%d+$') then return nil end
  local n = tonumber(text) + by
  if n > 9007199254740991 or n < -9007199254740991 then return nil end
  return string.format('%d', n)
end
`;

/**
 * ARGV: key, by, field (raw JSON key; '' = the value itself is the number), maxBytes,
 * then optionally ttl (''), writer JSON (''). Keeps an existing TTL unless one is given. Replies
 * 'version:new value (JSON)' (one bulk string, as SET) or { 'TYPE_MISMATCH', reason } /
 * { 'TOO_LARGE', bytes } with nothing written.
 */
export const INCREMENT = script(`
local key, by, field = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local channel = ${CHANNEL}
local ttl, timestamp, writer, keepTtl = ARGV[5] or '', '', ARGV[6] or '', true
${CLOCK}${LOAD(", 'value'")}
local text = nil
if old then text = old[5] end
local value
if field == '' then
  text = text or '0'
  if not string.match(text, '^%-?%d+$') then return { 'TYPE_MISMATCH', 'the value is not an integer, or the result is not a safe integer' } end
  local n = tonumber(text) + by
  if n > 9007199254740991 or n < -9007199254740991 then return { 'TYPE_MISMATCH', 'the value is not an integer, or the result is not a safe integer' } end
  value = string.format('%d', n)
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
if #value > tonumber(ARGV[4]) then return { 'TOO_LARGE', #value } end
${WRITE}
return versionText .. ':' .. value
`);

/**
 * ARGV: key, ttl (''), writer JSON (''), maxBytes, then raw JSON key, raw JSON value ('' =
 * remove the key), repeated. Keeps an existing TTL unless one is given. Replies like INCREMENT.
 */
export const MERGE = script(`
local key = ARGV[1]
local channel = ${CHANNEL}
local ttl, timestamp, writer, keepTtl = ARGV[2], '', ARGV[3], true
${CLOCK}${LOAD(", 'value'")}
${MEMBERS}
local text = nil
if old then text = old[5] end
local keys, values = members(text or '{}')
if not keys then return { 'TYPE_MISMATCH', 'the value is not an object' } end
local position = {}
for i = 1, #keys do position[keys[i]] = i end
for a = 5, #ARGV, 2 do
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
if #value > tonumber(ARGV[4]) then return { 'TOO_LARGE', #value } end
${WRITE}
return versionText .. ':' .. value
`);

/** KEYS: a sorted set. ARGV: age (ms), limit. Members scored at or before now - age, by Redis' clock. */
export const DUE = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
`);

/**
 * ARGV: key, maxIdle ('' = TTL only). Removes the entry if it is past its expiresAt or
 * (with maxIdle) not updated for that long, rechecked here so a write that got in first keeps it;
 * reports `expire`. Forgets index members whose hash is gone. 1 removed, 0 kept.
 */
export const EXPIRE = script(`${PRELUDE}
local e = redis.call('HMGET', KEYS[1], 'version', 'expiresAt', 'updatedAt')
if not e[1] then
  -- Gone already (dropped by Redis after the grace period, or deleted by hand): report it once.
  if redis.call('ZREM', KEYS[2], ARGV[1]) + redis.call('ZREM', KEYS[3], ARGV[1]) > 0 then
    publish(channel, 'expire', 0, nil, nil)
    return 1
  end
  return 0
end
local expired = e[2] and tonumber(e[2]) <= now
local idle = ARGV[2] ~= '' and (tonumber(e[3]) or 0) <= now - tonumber(ARGV[2])
if expired or idle then
  remove(ARGV[1])
  publish(channel, 'expire', tonumber(e[1]) or 0, nil, nil)
  return 1
end
if not e[2] then redis.call('ZREM', KEYS[3], ARGV[1]) end
-- Written since it was indexed: index it at its last write, so it is not due again before then.
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[2], tonumber(e[3]) or now, ARGV[1]) end
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
