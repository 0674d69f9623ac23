"""The Lua scripts: each step of the shared gate and token store, atomic on the Redis server.

The gate's state is one JSON document (cliquify_async._ratelimit.state) in a hash beside its
version; the gate reads both with the server's clock, decides in Python, and writes back only
if the version is still the one it read (compare-and-set), else it decides again on what is
there now. The hash carries the budget's hash tag, so a Redis Cluster runs each script on one
slot.
"""

from __future__ import annotations

from typing import Final

LOAD_STATE: Final = """
-- Returns {state or nil, version, seconds, microseconds}: the gate's state and Redis's clock.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local s = redis.call('HMGET', KEYS[1], 'state', 'version')
local t = redis.call('TIME')
return {s[1], (s[2] and tonumber(s[2])) or 0, t[1], t[2]}
"""

SAVE_STATE: Final = """
-- ARGV: the version read, the new state, ttl ms. Writes the state if the version is still
-- the one read and returns {1}; else returns {0, state, version, seconds, microseconds}.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local version = redis.call('HGET', KEYS[1], 'version')
version = (version and tonumber(version)) or 0
if version ~= tonumber(ARGV[1]) then
  local t = redis.call('TIME')
  return {0, redis.call('HGET', KEYS[1], 'state'), version, t[1], t[2]}
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', version + 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1}
"""

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
