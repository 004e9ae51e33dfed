/**
 * Lua scripts. Each runs atomically on the server, so a crash of the client (or of Redis, with AOF)
 * between two of its steps cannot happen: a scheduled message is either in its zset or in its
 * stream, never in both and never in neither.
 *
 * Scheduled messages are zset members `<uid><msgpack of the entry's field list>`; the uid (fixed
 * length {@link UID_LENGTH}) keeps two identical messages apart.
 */

/** Length of the unique prefix of a schedule member. */
export const UID_LENGTH = 24;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Send a batch in one call: far cheaper for the client than one `XADD` per message in a pipeline
 * (one command with one argument, instead of a command, a promise and a dozen arguments per message).
 * KEYS[1] = stream, KEYS[2] = its schedule; ARGV[1] = '1' to never create the stream (`NOMKSTREAM`),
 * ARGV[2] = the batch packed by `BatchPacker`: a flat array, for each message
 * `delay ms, uid, k, <k fields and values>`. Returns the number of messages written.
 */
export const SEND = `
local nomk = ARGV[1] == '1'
local t = cmsgpack.unpack(ARGV[2])
local n = #t
local i = 1
local count = 0
local now = nil
while i <= n do
  local delay = tonumber(t[i])
  local k = tonumber(t[i + 2])
  if delay > 0 then
    if not now then
      local tm = redis.call('TIME')
      now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
    end
    redis.call('ZADD', KEYS[2], now + delay, t[i + 1] .. cmsgpack.pack({ unpack(t, i + 3, i + 2 + k) }))
  elseif nomk then
    redis.call('XADD', KEYS[1], 'NOMKSTREAM', '*', unpack(t, i + 3, i + 2 + k))
  else
    redis.call('XADD', KEYS[1], '*', unpack(t, i + 3, i + 2 + k))
  end
  i = i + 3 + k
  count = count + 1
end
return count
`;

/**
 * Move due messages from a schedule into a stream. KEYS[1] = zset, KEYS[2] = stream;
 * ARGV[1] = most messages to move. Returns { moved, ms until the next one is due or -1 } (strings).
 */
export const PROMOTE = `${NOW}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, m in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', unpack(cmsgpack.unpack(string.sub(m, ${UID_LENGTH + 1}))))
  redis.call('ZREM', KEYS[1], m)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then return { tostring(#due), tostring(math.max(0, tonumber(nxt[2]) - now)) } end
return { tostring(#due), '-1' }
`;

/**
 * Nack: re-add the message for a later delivery and acknowledge the original, in one step.
 * KEYS[1] = stream the entry was read from, KEYS[2] = retry stream, KEYS[3] = retry zset;
 * ARGV = group, consumer, entry id, delay ms, prior deliveries, uid.
 * Does nothing (returns 0) when the entry is no longer pending for this consumer (another consumer
 * claimed it meanwhile: it is that consumer's to settle).
 */
export const NACK = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not p[1] or p[1][2] ~= ARGV[2] then return 0 end
local e = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
if not e[1] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  return -1
end
local f = e[1][2]
local out = {}
for i = 1, #f, 2 do
  if f[i] ~= 'prior' then
    out[#out + 1] = f[i]
    out[#out + 1] = f[i + 1]
  end
end
out[#out + 1] = 'prior'
out[#out + 1] = ARGV[5]
local delay = tonumber(ARGV[4])
if delay > 0 then
  ${NOW}
  redis.call('ZADD', KEYS[3], now + delay, ARGV[6] .. cmsgpack.pack(out))
else
  redis.call('XADD', KEYS[2], '*', unpack(out))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * Claim messages idle for too long (their consumer died), with their delivery counts.
 * KEYS[1] = stream; ARGV = group, consumer, min idle ms, cursor, count.
 * Returns { next cursor, { { entry id, fields, delivery count }, … } }.
 */
export const CLAIM = `
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out = {}
for _, e in ipairs(r[2]) do
  if e and e[2] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    local c = 1
    if p[1] then c = p[1][4] end
    out[#out + 1] = { e[1], e[2], c }
  end
end
return { r[1], out }
`;

/**
 * What a consumer holds, checked against its pending entries list, and what the list holds that the
 * consumer does not know about. KEYS[1] = stream; ARGV = group, consumer, most entries to claim,
 * n, then n ids the consumer holds (delivered and unsettled, or read and not yet handed out), then
 * ids it must not claim (acks and nacks on their way).
 *
 * - Each held id still pending for this consumer has its idle time reset (`XCLAIM … JUSTID`: the
 *   lease renewed, the delivery count unchanged); one pending for another consumer is returned as
 *   lost (that consumer claimed it); one not pending at all is left alone.
 * - Entries pending for this consumer that it neither holds nor is settling were read for it without
 *   it ever getting them (the reply of an `XREADGROUP` or a claim was lost with its connection):
 *   up to the given number of them are claimed again (`XCLAIM`, counting a delivery) and returned.
 *
 * Returns { 1 when more such entries are left, { { entry id, fields, delivery count }, … }, lost ids }.
 */
export const OWN = `
local group, me = ARGV[1], ARGV[2]
local max = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local known = {}
local lost = {}
local renew = {}
for i = 5, 4 + n do
  local id = ARGV[i]
  known[id] = true
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if p[1] then
    if p[1][2] == me then renew[#renew + 1] = id else lost[#lost + 1] = id end
  end
end
local i = 1
while i <= #renew do
  local args = { 'XCLAIM', KEYS[1], group, me, 0 }
  for j = i, math.min(i + 999, #renew) do args[#args + 1] = renew[j] end
  args[#args + 1] = 'JUSTID'
  redis.call(unpack(args))
  i = i + 1000
end
for j = 5 + n, #ARGV do known[ARGV[j]] = true end
local out = {}
local more = 0
if max > 0 then
  local start = '-'
  while more == 0 do
    local p = redis.call('XPENDING', KEYS[1], group, start, '+', 200, me)
    for _, e in ipairs(p) do
      if not known[e[1]] then
        if #out >= max then
          more = 1
          break
        end
        local c = redis.call('XCLAIM', KEYS[1], group, me, 0, e[1])
        if c[1] and c[1][2] then out[#out + 1] = { e[1], c[1][2], e[4] + 1 } end
      end
    end
    if #p < 200 then break end
    start = '(' .. p[#p][1]
  end
end
return { more, out, lost }
`;

/**
 * Trim acknowledged entries. KEYS[1] = stream; ARGV[1] = '1' for a queue stream (never trimmed
 * while it has no group: its messages wait for the first consumer), ARGV[2] = acknowledged entries
 * to keep anyway, ARGV[3] = idle ms after which a consumer with nothing pending is forgotten.
 * Returns the number of entries trimmed.
 */
export const TRIM = `
local function map(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end
local function less(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
local min = nil
if #groups == 0 then
  if ARGV[1] == '1' then return 0 end
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if not last[1] then return 0 end
  min = last[1][1]
  local seq = string.match(min, '-(%d+)$')
  min = string.match(min, '^(%d+)-') .. '-' .. tostring(tonumber(seq) + 1)
else
  local idle = tonumber(ARGV[3])
  for _, flat in ipairs(groups) do
    local g = map(flat)
    local candidate = g['last-delivered-id']
    if g['pending'] > 0 then
      local p = redis.call('XPENDING', KEYS[1], g['name'])
      candidate = p[2]
    end
    if min == nil or less(candidate, min) then min = candidate end
    for _, cflat in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], g['name'])) do
      local c = map(cflat)
      if c['pending'] == 0 and c['idle'] > idle then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], g['name'], c['name'])
      end
    end
  end
end
local keep = tonumber(ARGV[2])
if keep > 0 then
  local len = redis.call('XLEN', KEYS[1])
  local n = math.min(len - keep, 10000)
  if n <= 0 then return 0 end
  local r = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', n + 1)
  if r[n + 1] and less(r[n + 1][1], min) then min = r[n + 1][1] end
end
-- '~': whole radix-tree nodes only (cheap); it may keep a few more entries, never fewer.
return redis.call('XTRIM', KEYS[1], 'MINID', '~', min)
`;

/**
 * Forget a closing consumer when nothing is pending for it any more.
 * KEYS = its streams; ARGV[1] = group, ARGV[2] = consumer.
 */
export const FORGET_CONSUMER = `
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local ok, p = pcall(redis.call, 'XPENDING', key, ARGV[1], '-', '+', 1, ARGV[2])
    if ok and not p[1] then
      redis.call('XGROUP', 'DELCONSUMER', key, ARGV[1], ARGV[2])
    end
  end
end
return 1
`;

/**
 * Idempotency claim. KEYS[1] = key; ARGV = token, lock ms, done marker.
 * Returns 1 (claimed), 2 (done) or 0 (in progress).
 */
export const IDEMPOTENCY_CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[3] then return 2 end
return 0
`;

/**
 * Mark done if the claim is still ours — or if it expired and nobody claimed the key since (the
 * handler was only slow). KEYS[1] = key; ARGV = token, ttl ms, done marker.
 */
export const IDEMPOTENCY_COMPLETE = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or current == false then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** Push the expiry of our claim out while the handler runs. KEYS[1] = key; ARGV = token, lock ms. */
export const IDEMPOTENCY_EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Give the claim up if it is still ours. KEYS[1] = key; ARGV[1] = token. */
export const IDEMPOTENCY_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;
