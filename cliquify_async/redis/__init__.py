"""One rate budget and one token for a fleet of processes, kept in Redis (`pip install
cliquify-async[redis]`).

The API limits requests per client IP, so four web workers, a Celery fleet or pods behind one
NAT share a single budget; per-process gates at 60 rpm each add up to 240 rpm and a stream
of 429s. Give every process the same Redis URL and key:

    client = client_from_redis_url("redis://cache:6379/0", key="prod-nat-1")
    async with client:  # one line per process; the CLIQUIFY_* variables as usual
        ...

or plug the parts in yourself: `CliquifyClient(rate_gate=RedisRateGate(redis, key,
requests_per_minute=...), token_store=RedisTokenStore(redis, key, client_id=...))`, with a
`redis.asyncio.Redis` or `RedisCluster` of yours. Give it a short retry, as
`client_from_redis_url` does (`retry=Retry(NoBackoff(), 1)`,
`retry_on_error=[ConnectionError, TimeoutError]`), so an outage is seen at once and the dead
connections a restart leaves are replaced quietly. Every process of one budget must be
configured alike: the same `requests_per_minute`, and the same `rate_window` or none.

The algorithm. The gate is `LocalRateGate` with its state in Redis: the same model
(`cliquify_async._ratelimit.state.GateState`) makes every decision, on one state per
budget: a no-burst pace (a permit every `window / limit` seconds, a late timer caught up on
by half an interval at most), a model of each of the server's fixed windows (the first
request after a window closed opens one; at most `limit` go into it, nor into any span of
its length; the next waits until it has surely closed on the server too), the limits seen
only in their own 429s (a proxy's per-second limit, Laravel's stacked limits), and a 429's
cool-down. The X-RateLimit-* headers of every response, from every process, refine it (see
docs/rate-limits.md). Each step reads the state and Redis's clock (TIME, the one clock the
fleet shares), decides in Python, and writes the state back only if no other process wrote
it meanwhile (a version checked by a Lua script; otherwise it decides again on what is
there now), so two processes can never both take the last permit. One task per process asks
Redis; the others queue locally.

The window. Without `rate_window` (the default) the server's window is learned, as
LocalRateGate learns it, and shared: once known it replaces the configured pace for the
whole fleet (`limits`, `interval`). The process whose answer first taught it logs "server
window learned" once at INFO (logger `cliquify_async.ratelimit`), later tightenings at
DEBUG. With `rate_window` the window is believed and only the count is learned. The learned
window lives as long as the budget's state (a day after its
last use, or until Redis loses it): should the server's window grow meanwhile, the fleet
meets 429s, each holding it back for its Retry-After, until that state is dropped (delete
`cliquify:{key}:rate` to forget it at once).

Keys. A budget's keys all carry one Redis Cluster hash tag: `cliquify:{key}:rate` (a hash:
the gate's state as JSON and its version), `cliquify:{key}:token[:client_id]` (hash) and
`cliquify:{key}:lock[:client_id]` (string); so every script's keys live on one slot of a
Redis Cluster. The key names the budget, so one key per egress IP; the token and lock are
per OAuth client within it.

Outages: fail closed. While Redis is unreachable the gate gives no permit: it retries with
backoff doubling from 50 ms to 2 s, logs one ERROR when the outage starts and one WARNING
when it ends (logger `cliquify_async.redis`), and never lets a request out unaccounted
(`max_outage=` makes a longer wait raise RedisUnavailableError instead). A response or
429 that arrives meanwhile cannot be shared (this process still honours its Retry-After).
If Redis comes back empty (a restart without persistence, a failover that lost writes),
the gate cannot know what was sent just before: a fresh state, like a first use, starts
with one interval of silence (one second at 60 rpm) and a single probe request, and nobody
else goes until its X-RateLimit-Remaining has told the gate how much of the server's
window is already used (or 10 s have passed without an answer); the window is learned anew.
While Redis is down the token store works per process: its own lock, and the last token it
saw (so a few tokens may be fetched instead of one).

The token is a secret and is stored in Redis, with its lifetime as TTL; it is never logged.
Protect that Redis (AUTH/ACL, TLS with `rediss://`) as you would the client secret, or pass
`share_token=False`. Clients you pass in are never closed; those made by `from_url` or
`client_from_redis_url` are closed with the gate, store or CliquifyClient.
"""

from ._client import client_from_redis_url
from ._gate import RedisRateGate
from ._health import RedisUnavailableError
from ._keys import BudgetKeys
from ._tokens import RedisTokenStore

__all__ = [
    "BudgetKeys",
    "RedisRateGate",
    "RedisTokenStore",
    "RedisUnavailableError",
    "client_from_redis_url",
]
