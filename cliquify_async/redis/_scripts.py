"""The Lua scripts: each step of the shared gate and token store, atomic on the Redis server.

Times are integer microseconds of the Redis server's clock (TIME), the one clock every process
shares; integers, because Redis turns a Lua number into an integer reply by truncating it.
The gate's state lives in one hash (`KEYS[1]`) beside a sorted set of recent sends
(`KEYS[2]`); both carry the budget's hash tag, so a Redis Cluster runs each script on one slot.

Gate hash fields: `limit` (learned from X-RateLimit-Limit), `window` (the server's window,
learned: the shortest span it surely fits in; absent until learned), `confirmed` (the send
time of the last request the server said opened its window), `counted` (the latest send
after it that the server counted), `tat` (the pace: when the next permit may go),
`opened`/`closes` (the current window: counted from, and surely closed on the server too),
`exhausted` (the server showed it spent), `extra` (requests the server counted that our
sends do not explain), `resume` (a cool-down), `born` (when this state was created), `probe`
and `probe_until` (after a fresh start, the one request whose answer the others wait for),
`seq`.

Every gate script gets the configuration first: ARGV[1] the configured limit, ARGV[2] the
configured window (us), ARGV[3] 1 when the window is to be learned (no `rate_window` given),
ARGV[4] the configured pace (us per request), ARGV[5] the client's max_wait (us). The window
in force is the learned one, else the configured one when given, else `limit` times the
configured pace (assumed: the count the server reports never slows the configured pace until
the server shows its budget running out). No window longer than max_wait is learned, and an
assumed one holds a spent budget at most that long (as FixedWindow does).
"""

from __future__ import annotations

from typing import Final

from .._ratelimit.window import GUARD_SHARE, MAX_GUARD, PAUSE

_PRELUDE: Final = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

_GATE_PRELUDE: Final = (
    _PRELUDE
    + f"""
local MAX_GUARD, GUARD_SHARE, PAUSE = {round(MAX_GUARD * 1_000_000)}, {GUARD_SHARE!r}, {PAUSE!r}
"""
    + """
local CONF_LIMIT, CONF_WINDOW = tonumber(ARGV[1]), tonumber(ARGV[2])
local LEARNS, PACE, MAX_WINDOW = ARGV[3] == '1', tonumber(ARGV[4]), tonumber(ARGV[5])
-- The window in force (us) for `limit` requests, and whether it is known (given or learned)
-- rather than assumed. A process given a window believes it, whatever others learned.
local function in_force(limit, learned)
  if not LEARNS then return CONF_WINDOW, true end
  if learned then return learned, true end
  return limit * PACE, false
end
-- How long a window holds a spent budget: an assumed one at most max_wait.
local function span_of(window, known)
  if known then return window end
  return math.min(window, MAX_WINDOW)
end
-- How long past a window's end its next opener waits: the opener's trip to the server.
local function guard_of(window)
  return math.min(MAX_GUARD, math.floor(window * GUARD_SHARE))
end
"""
)

ACQUIRE: Final = (
    _GATE_PRELUDE
    + """
-- ARGV[6..]: probe poll us, state ttl ms, probe wait us.
-- Returns {1, send time us, limit, window us, learned} for a permit, or {0, wait us, ...}.
local gate, sends = KEYS[1], KEYS[2]
local poll, ttl, probe_wait = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local now = now_us()
local s = redis.call('HMGET', gate, 'limit', 'window', 'tat', 'opened', 'closes', 'exhausted',
                     'extra', 'resume', 'probe', 'probe_until')
local limit, learned = tonumber(s[1]) or CONF_LIMIT, tonumber(s[2])
local window, known = in_force(limit, learned)
local guard = guard_of(window)
local interval = math.ceil(window / limit)
local shown = (LEARNS and learned) and 1 or 0
local function answer(granted, value) return {granted, value, limit, window, shown} end
local tat = tonumber(s[3])
if not tat then
  -- A fresh state: first use, or Redis lost it (restart, failover, eviction). What was sent
  -- just before is unknown, so one interval of silence keeps the pace, and the first request
  -- goes alone: its X-RateLimit-Remaining tells where the server's window stands.
  redis.call('HSET', gate, 'tat', now + interval, 'born', now, 'probe', 'wanted')
  redis.call('PEXPIRE', gate, ttl)
  return answer(0, interval)
end
local resume = tonumber(s[8]) or 0
if resume > now then return answer(0, resume - now) end
if tat > now then return answer(0, tat - now) end
local probe = s[9]
if probe and probe ~= 'wanted' then
  local probe_until = tonumber(s[10]) or 0
  if now < probe_until then return answer(0, math.min(poll, probe_until - now)) end
  redis.call('HDEL', gate, 'probe', 'probe_until')  -- no answer came: go on without one
  probe = false
end
local opened, closes = tonumber(s[4]), tonumber(s[5])
if closes and now < closes then
  if s[6] == '1' then return answer(0, closes - now) end
  -- At most `limit` a window; while the window is only assumed, the count holds back only
  -- what the server showed it counted (`extra`), never our own sends alone.
  local extra = tonumber(s[7]) or 0
  if known or extra > 0 then
    local used = redis.call('ZCOUNT', sends, opened or 0, '+inf') + extra
    if used >= limit then return answer(0, closes - now) end
  end
else
  -- The first request after a window closed opens the next one.
  opened, closes = now, now + span_of(window, known) + guard
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
return answer(1, now)
"""
)

OBSERVE: Final = (
    _GATE_PRELUDE
    + """
-- ARGV[6..]: send time us, status, X-RateLimit-Limit or '', X-RateLimit-Remaining or '',
--   X-RateLimit-Reset as us from now or '', a 429's Retry-After us or '', state ttl ms.
-- Returns {limit, window us, learned, news, refused}: news is 1 when this answer first
-- learned the window, 2 when it tightened a learned one, else 0; refused is a span (us)
-- longer than max_wait that was not learned, else 0.
--
-- The window is learned only from bounds that hold whatever the network did, measured from
-- the send of the last request the server said opened its window (a confirmed opener):
-- the answer to the next confirmed opener came back after that window closed; a 429's
-- Retry-After or an X-RateLimit-Reset names a close. The received time is this script's
-- now, after the answer arrived, so every bound errs long. The shortest bound is in force.
local gate, sends = KEYS[1], KEYS[2]
local sent, status = tonumber(ARGV[6]), tonumber(ARGV[7])
local closes_in, retry_after, ttl = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local now = now_us()
local s = redis.call('HMGET', gate, 'limit', 'window', 'tat', 'opened', 'closes', 'extra',
                     'probe', 'born', 'confirmed', 'counted')
local heard = tonumber(s[1])
local limit = heard or CONF_LIMIT
local learned = tonumber(s[2])
local news, refused = 0, 0
local function result()
  local window = in_force(limit, learned)
  return {limit, window, (LEARNS and learned) and 1 or 0, news, refused}
end
local function bound(span)
  if LEARNS and span > MAX_WINDOW and (not learned or span < learned) then
    refused = span
  elseif LEARNS and span > 0 and (not learned or span < learned) then
    news = learned and 2 or 1
    learned = span
    redis.call('HSET', gate, 'window', span)
  end
end
local header_limit = tonumber(ARGV[8])
local same = true
if header_limit and header_limit > 0 and (header_limit ~= limit or not heard) then
  if status == 429 and heard then
    -- A 429 of a count the other answers never showed: another limit in front of this one.
    -- Its cool-down holds everyone; its close says nothing of this limit's window.
    same = false
  else
    limit = header_limit
    redis.call('HSET', gate, 'limit', limit)
    redis.call('PEXPIRE', gate, ttl)
    if LEARNS and not learned and s[4] then
      -- An assumed window follows the count, and so does the current window's close.
      local window = limit * PACE
      s[5] = tonumber(s[4]) + span_of(window, false) + guard_of(window)
      redis.call('HSET', gate, 'closes', s[5])
    end
  end
end
-- No state, or an answer to a request sent before this state was created: only the limit.
if not s[3] or sent < (tonumber(s[8]) or 0) then return result() end
local probe = tonumber(s[7])
if probe and sent >= probe then redis.call('HDEL', gate, 'probe', 'probe_until') end
local confirmed = tonumber(s[9])
local remaining = tonumber(ARGV[9])
local limited = status == 429
if limited then
  if not same then return result() end
  -- The window it met opened no earlier than the confirmed opener, if it was sent after it.
  local wait = retry_after or closes_in
  if wait and confirmed and sent >= confirmed then bound(now + wait - confirmed) end
  closes_in = nil  -- the cool-down that follows closes the window at the Retry-After
end
local opened, closes = tonumber(s[4]), tonumber(s[5])
local extra = tonumber(s[6]) or 0
if not limited and remaining == limit - 1 and (not confirmed or sent > confirmed) then
  -- This request opened the server's window: the previous confirmed one's window closed
  -- before it arrived, so before now. Until a window is known, that span counts only if our
  -- requests kept coming at about the pace up to it: after an idle pause it says nothing.
  if confirmed then
    local window, known = in_force(limit, learned)
    local last = tonumber(s[10]) or confirmed
    if known or now - last <= PAUSE * window / limit then bound(now - confirmed) end
  end
  confirmed = sent
  redis.call('HSET', gate, 'confirmed', sent)
  redis.call('HDEL', gate, 'counted')
  local window, known = in_force(limit, learned)
  local guard = guard_of(window)
  window = span_of(window, known)
  if sent + window + guard > now then
    -- Its window closes `window` after it arrived there, and it arrived before now: align.
    closes = math.max(sent + window + guard, now + window)
    if opened ~= sent then
      opened, extra = sent, 0
      redis.call('HSET', gate, 'opened', opened, 'closes', closes, 'exhausted', 0, 'extra', 0)
    else
      redis.call('HSET', gate, 'closes', closes)
    end
  end
end
if not limited and remaining and remaining ~= limit - 1 and confirmed and sent > confirmed
    and sent > (tonumber(s[10]) or 0) then
  redis.call('HSET', gate, 'counted', sent)  -- the latest send counted after the opener
end
if closes_in then
  if confirmed and sent >= confirmed then bound(now + closes_in - confirmed) end
  if opened and sent >= opened then
    -- The server named when the current window closes: a bound of a known window's close,
    -- and better than an assumed one.
    local window, known = in_force(limit, learned)
    local named = now + closes_in + guard_of(window)
    if not known or not closes or named < closes then
      closes = named
      redis.call('HSET', gate, 'closes', named)
    end
  end
end
if remaining and opened and sent >= opened then
  -- The server has counted limit - remaining requests, and may yet count every one we sent
  -- after this one: those are in this window, whatever our sends say.
  local after = math.max(redis.call('ZCOUNT', sends, sent, '+inf') - 1, 0)
  local server_count = limit - remaining + after
  local ours = redis.call('ZCOUNT', sends, opened, '+inf')
  if server_count > ours + extra then redis.call('HSET', gate, 'extra', server_count - ours) end
  -- The requests in flight use up what is left: the server has shown the window spent.
  if after >= remaining then redis.call('HSET', gate, 'exhausted', 1) end
end
return result()
"""
)

COOL_DOWN: Final = (
    _GATE_PRELUDE
    + """
-- ARGV[6..]: seconds us, state ttl ms. A 429 closes the window at now + seconds and holds
-- everyone until then. Returns 1 when it moved the cool-down's end later.
local gate = KEYS[1]
local wait, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_us()
local s = redis.call('HMGET', gate, 'limit', 'window', 'resume')
local window = in_force(tonumber(s[1]) or CONF_LIMIT, tonumber(s[2]))
local guard = guard_of(window)
local resume = now + wait
local later = 0
if resume > (tonumber(s[3]) or 0) then
  redis.call('HSET', gate, 'resume', resume)
  later = 1
end
redis.call('HSET', gate, 'opened', resume - window - guard, 'closes', resume, 'exhausted', 1)
redis.call('PEXPIRE', gate, math.max(ttl, math.ceil(wait / 1000) + 1000))
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
