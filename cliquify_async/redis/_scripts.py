"""The Lua scripts: each step of the shared gate and token store, atomic on the Redis server.

Times are integer microseconds of the Redis server's clock (TIME), the one clock every process
shares; integers, because Redis turns a Lua number into an integer reply by truncating it.
The gate's state lives in one hash (`KEYS[1]`) beside a sorted set of recent sends
(`KEYS[2]`); both carry the budget's hash tag, so a Redis Cluster runs each script on one slot.

Gate hash fields: `limit` (learned from X-RateLimit-Limit), `tat` (the pace: when the next
permit may go), `opened`/`closes` (the current window: counted from, and surely closed on the
server too), `exhausted` (a 429 spent it), `extra` (requests the server counted that our sends
do not explain), `resume` (a cool-down), `born` (when this state was created), `probe` and
`probe_until` (after a fresh start, the one request whose answer the others wait for), `seq`.
"""

from __future__ import annotations

from typing import Final

_PRELUDE: Final = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

ACQUIRE: Final = (
    _PRELUDE
    + """
-- ARGV: configured limit, window us, guard us, probe poll us, state ttl ms, probe wait us.
-- Returns {1, send time us, limit} for a permit, or {0, wait us, limit}.
local gate, sends = KEYS[1], KEYS[2]
local window, guard = tonumber(ARGV[2]), tonumber(ARGV[3])
local poll, ttl, probe_wait = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_us()
local s = redis.call('HMGET', gate, 'limit', 'tat', 'opened', 'closes', 'exhausted', 'extra',
                     'resume', 'probe', 'probe_until')
local limit = tonumber(s[1]) or tonumber(ARGV[1])
local interval = math.ceil(window / limit)
local tat = tonumber(s[2])
if not tat then
  -- A fresh state: first use, or Redis lost it (restart, failover, eviction). What was sent
  -- just before is unknown, so one interval of silence keeps the pace, and the first request
  -- goes alone: its X-RateLimit-Remaining tells where the server's window stands.
  redis.call('HSET', gate, 'tat', now + interval, 'born', now, 'probe', 'wanted')
  redis.call('PEXPIRE', gate, ttl)
  return {0, interval, limit}
end
local resume = tonumber(s[7]) or 0
if resume > now then return {0, resume - now, limit} end
if tat > now then return {0, tat - now, limit} end
local probe = s[8]
if probe and probe ~= 'wanted' then
  local probe_until = tonumber(s[9]) or 0
  if now < probe_until then return {0, math.min(poll, probe_until - now), limit} end
  redis.call('HDEL', gate, 'probe', 'probe_until')  -- no answer came: go on without one
  probe = false
end
local opened, closes = tonumber(s[3]), tonumber(s[4])
if closes and now < closes then
  if s[5] == '1' then return {0, closes - now, limit} end
  local used = redis.call('ZCOUNT', sends, opened or 0, '+inf') + (tonumber(s[6]) or 0)
  if used >= limit then return {0, closes - now, limit} end
else
  -- The first request after a window closed opens the next one.
  opened, closes = now, now + window + guard
  redis.call('HSET', gate, 'opened', opened, 'closes', closes, 'exhausted', 0, 'extra', 0)
end
local seq = redis.call('HINCRBY', gate, 'seq', 1)
redis.call('ZADD', sends, now, seq)
redis.call('ZREMRANGEBYSCORE', sends, '-inf', now - 2 * (window + guard))
redis.call('HSET', gate, 'tat', now + interval)
if probe == 'wanted' then
  redis.call('HSET', gate, 'probe', now, 'probe_until', now + math.min(window + guard, probe_wait))
end
redis.call('PEXPIRE', gate, ttl)
redis.call('PEXPIRE', sends, math.ceil(2 * (window + guard) / 1000) + 1000)
return {1, now, limit}
"""
)

OBSERVE: Final = (
    _PRELUDE
    + """
-- ARGV: send time us, X-RateLimit-Limit or '', X-RateLimit-Remaining or '',
--       configured limit, window us, guard us, state ttl ms. Returns the limit in force.
local gate, sends = KEYS[1], KEYS[2]
local sent = tonumber(ARGV[1])
local window, guard, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_us()
local s = redis.call('HMGET', gate, 'limit', 'tat', 'opened', 'closes', 'extra', 'probe', 'born')
local limit = tonumber(s[1]) or tonumber(ARGV[4])
local header_limit = tonumber(ARGV[2])
if header_limit and header_limit > 0 and header_limit ~= limit then
  limit = header_limit
  redis.call('HSET', gate, 'limit', limit)
  redis.call('PEXPIRE', gate, ttl)
end
-- No state, or an answer to a request sent before this state was created: only the limit.
if not s[2] or sent < (tonumber(s[7]) or 0) then return limit end
local probe = tonumber(s[6])
if probe and sent >= probe then redis.call('HDEL', gate, 'probe', 'probe_until') end
local remaining = tonumber(ARGV[3])
if not remaining then return limit end
local opened, closes = tonumber(s[3]), tonumber(s[4])
local extra = tonumber(s[5]) or 0
if remaining == limit - 1 and sent + window + guard > now then
  -- This request opened the server's window, which closes `window` after it arrived there,
  -- and it arrived before now: align with it.
  local surely = math.max(sent + window + guard, now + window)
  if opened ~= sent then
    opened, extra = sent, 0
    redis.call('HSET', gate, 'opened', opened, 'closes', surely, 'exhausted', 0, 'extra', 0)
  elseif not closes or surely > closes then
    redis.call('HSET', gate, 'closes', surely)
  end
end
if opened and sent >= opened then
  -- The server has counted limit - remaining requests, and may yet count every one we sent
  -- after this one: those are in this window, whatever our sends say.
  local after = math.max(redis.call('ZCOUNT', sends, sent, '+inf') - 1, 0)
  local known = limit - remaining + after
  local ours = redis.call('ZCOUNT', sends, opened, '+inf')
  if known > ours + extra then redis.call('HSET', gate, 'extra', known - ours) end
end
return limit
"""
)

COOL_DOWN: Final = (
    _PRELUDE
    + """
-- ARGV: seconds us, window us, guard us, state ttl ms. A 429 closes the window at now+seconds
-- and holds everyone until then. Returns 1 when it moved the cool-down's end later.
local gate = KEYS[1]
local wait, window, guard = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_us()
local resume = now + wait
local later = 0
if resume > (tonumber(redis.call('HGET', gate, 'resume')) or 0) then
  redis.call('HSET', gate, 'resume', resume)
  later = 1
end
redis.call('HSET', gate, 'opened', resume - window - guard, 'closes', resume, 'exhausted', 1)
redis.call('PEXPIRE', gate, math.max(tonumber(ARGV[4]), math.ceil(wait / 1000) + 1000))
return later
"""
)

SAVE_STORED: Final = """
-- ARGV: access token, JSON record, ttl ms (0: none). Replaces the stored token atomically.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'access_token', ARGV[1], 'record', ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

DISCARD_STORED: Final = """
-- ARGV: access token. Deletes the stored token only if it is still that one.
if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

RELEASE_LOCK: Final = """
-- ARGV: owner. Deletes the lock only if we still own it.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

EXTEND_LOCK: Final = """
-- ARGV: owner, ttl ms. Extends the lock only if we still own it.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
