"""Per-token rate limits: a token bucket (GCRA), in Redis or in memory.

The generic cell rate algorithm keeps one number per key, the *theoretical arrival
time* (TAT): when the bucket would be full again if no more requests came. With a
limit of ``L`` tokens per ``P`` seconds each token costs ``T = P / L`` seconds of TAT,
and a request of cost ``N`` (``N`` tokens: 1 for most requests, a GraphQL query's
computed cost) at time ``now`` is allowed when ``max(TAT, now) + N * T - L * T <= now``,
i.e. when the bucket still holds ``N`` tokens. A full bucket allows a burst of ``L``,
after which tokens come back at the steady rate of one per ``T``. A refused request
takes nothing. ``peek`` asks whether ``N`` tokens are there without taking them.

- :class:`RedisRateLimiter`: the read-check-write runs in one Lua script, which Redis
  executes atomically, so any number of API replicas sharing the Redis count exactly.
  The time comes from the caller's clock (so it can be injected); replicas' clocks must
  be synchronised (NTP): a skew of ``s`` shifts a verdict by at most ``s``.
- :class:`InMemoryRateLimiter`: the same arithmetic under a lock, per process; with
  several workers each keeps its own buckets, so the effective limit is per worker.

Both return a :class:`RateLimitDecision` with what the ``RateLimit-*`` headers need.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("insightlite.api.ratelimit")

Clock = Callable[[], float]

# Microseconds: TATs stay integers (Lua replies truncate fractions) and exact below 2^53.
_US = 1_000_000
DEFAULT_PERIOD_SECONDS = 60.0


@dataclass(frozen=True)
class RateLimitDecision:
    """One request's verdict and the numbers of the ``RateLimit-*`` headers."""

    allowed: bool
    limit: int
    remaining: int
    # Seconds until the bucket is full again (RateLimit-Reset).
    reset_seconds: float
    # Seconds until one more request would be allowed (Retry-After), 0 when allowed.
    retry_after_seconds: float

    def headers(self) -> dict[str, str]:
        """The response headers describing this decision."""
        values = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_seconds)),
        }
        if not self.allowed:
            values["Retry-After"] = str(max(1, math.ceil(self.retry_after_seconds)))
        return values


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, cost: int = 1) -> RateLimitDecision:
        """Take ``cost`` tokens from ``key``'s bucket of ``limit`` per period."""
        ...

    async def peek(self, key: str, limit: int, cost: int = 1) -> RateLimitDecision:
        """Whether ``cost`` tokens are there, taking none."""
        ...

    async def close(self) -> None: ...


def _decision(
    allowed: bool, tat_us: int, now_us: int, interval_us: int, limit: int, cost: int = 1
) -> RateLimitDecision:
    """The headers' numbers from the bucket's TAT after (or, if refused, before) a hit."""
    # Tokens left: how many more intervals fit before TAT reaches now + burst window.
    remaining = (now_us + limit * interval_us - tat_us) // interval_us
    retry_after = 0.0
    if not allowed:
        retry_after = (tat_us + cost * interval_us - limit * interval_us - now_us) / _US
    return RateLimitDecision(
        allowed=allowed,
        limit=limit,
        remaining=max(0, min(limit, remaining)),
        reset_seconds=max(0.0, (tat_us - now_us) / _US),
        retry_after_seconds=max(0.0, retry_after),
    )


def _interval_us(limit: int, period_seconds: float, cost: int = 1) -> int:
    if limit < 1:
        raise ValueError("a rate limit must allow at least one request")
    if not 1 <= cost <= limit:
        # A cost above the bucket's size could never be allowed: callers bound it first.
        raise ValueError(f"a cost must be between 1 and the limit ({limit}), not {cost}")
    return max(1, round(period_seconds * _US / limit))


class InMemoryRateLimiter:
    """GCRA buckets in this process, at most ``max_keys`` of them (least recent dropped).

    Dropping a bucket forgets its history, which can only make the limit more lenient
    for that key, never stricter; a key idle for a whole period is full anyway.
    """

    def __init__(
        self,
        *,
        period_seconds: float = DEFAULT_PERIOD_SECONDS,
        clock: Clock = time.time,
        max_keys: int = 100_000,
    ) -> None:
        self._period = period_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._tats: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def hit_sync(
        self, key: str, limit: int, cost: int = 1, *, take: bool = True
    ) -> RateLimitDecision:
        interval = _interval_us(limit, self._period, cost)
        now = int(self._clock() * _US)
        with self._lock:
            tat = max(self._tats.get(key, now), now)
            new_tat = tat + cost * interval
            if new_tat - limit * interval > now:
                return _decision(False, tat, now, interval, limit, cost)
            if not take:
                return _decision(True, tat, now, interval, limit, cost)
            self._tats[key] = new_tat
            self._tats.move_to_end(key)
            while len(self._tats) > self._max_keys:
                self._tats.popitem(last=False)
        return _decision(True, new_tat, now, interval, limit, cost)

    async def hit(self, key: str, limit: int, cost: int = 1) -> RateLimitDecision:
        return self.hit_sync(key, limit, cost)

    async def peek(self, key: str, limit: int, cost: int = 1) -> RateLimitDecision:
        return self.hit_sync(key, limit, cost, take=False)

    async def close(self) -> None:
        return None


# KEYS[1]: the bucket. ARGV: now (µs), interval (µs), limit, cost, take (0 = only look).
# Returns {allowed (0/1), tat (µs) after the hit or, when refused or looking, as it stands}.
# Numbers are written with %.0f: Lua's tostring keeps only 14 significant digits, and
# epoch microseconds have 16.
_GCRA_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local take = tonumber(ARGV[5])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = math.max(tonumber(stored), now)
end
local new_tat = tat + cost * interval
if new_tat - limit * interval > now then
  return {0, string.format('%.0f', tat)}
end
if take == 0 then
  return {1, string.format('%.0f', tat)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
  math.ceil((new_tat - now) / 1000) + 1000)
return {1, string.format('%.0f', new_tat)}
"""


class RedisRateLimiter:
    """GCRA buckets in Redis, updated atomically by a Lua script (see the module doc).

    When Redis cannot be reached the request is judged by an in-memory fallback bucket
    (logged and counted by ``on_fallback``): an outage of the limiter's store degrades
    limits to per-process ones instead of failing every request.
    """

    def __init__(
        self,
        redis: Any,
        *,
        period_seconds: float = DEFAULT_PERIOD_SECONDS,
        clock: Clock = time.time,
        key_prefix: str = "insightlite:ratelimit:",
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        self._redis = redis
        self._period = period_seconds
        self._clock = clock
        self._prefix = key_prefix
        self._script = redis.register_script(_GCRA_SCRIPT)
        self._fallback = InMemoryRateLimiter(period_seconds=period_seconds, clock=clock)
        self._on_fallback = on_fallback

    async def hit(self, key: str, limit: int, cost: int = 1) -> RateLimitDecision:
        return await self._run(key, limit, cost, take=True)

    async def peek(self, key: str, limit: int, cost: int = 1) -> RateLimitDecision:
        return await self._run(key, limit, cost, take=False)

    async def _run(self, key: str, limit: int, cost: int, *, take: bool) -> RateLimitDecision:
        interval = _interval_us(limit, self._period, cost)
        now = int(self._clock() * _US)
        try:
            allowed, tat = await self._script(
                keys=[self._prefix + key], args=[now, interval, limit, cost, int(take)]
            )
        except Exception as exc:  # redis.RedisError, OSError, timeouts
            log.warning(
                "rate limiter store unavailable, limiting in memory: %s", type(exc).__name__
            )
            if self._on_fallback is not None:
                self._on_fallback()
            return self._fallback.hit_sync(key, limit, cost, take=take)
        return _decision(bool(int(allowed)), int(tat), now, interval, limit, cost)

    async def close(self) -> None:
        return None
