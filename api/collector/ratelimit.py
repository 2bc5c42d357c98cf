"""Token buckets counted in events, keyed by site or client IP, in bounded memory.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a
request of ``n`` events takes ``n``. A full bucket admits any one request, even one
larger than ``burst`` (the bucket then goes into debt and the next requests wait):
otherwise a configuration with ``burst`` below the batch size would refuse that batch
forever.

Memory: buckets live in least-recently-used order. A bucket idle long enough to have
refilled is indistinguishable from a new one, so it is dropped; each call drops a few
of those from the old end. Past ``max_keys`` (an address scan), the least recently used
bucket is dropped even if not refilled: that key then starts again from a full bucket,
which errs towards admitting, never towards refusing a stranger.

The limits are per process: with several collector workers each keeps its own buckets.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

# Refilled buckets dropped per call: amortised cleanup, O(1) per request.
_SWEEP_PER_CALL = 2


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Many token buckets sharing one rate and burst. Not thread-safe (one event loop)."""

    def __init__(self, rate: float, burst: float, *, max_keys: int = 100_000) -> None:
        if rate <= 0 or burst <= 0 or max_keys <= 0:
            raise ValueError("rate, burst and max_keys must be positive")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, bucket: _Bucket, now: float) -> float:
        elapsed = max(0.0, now - bucket.updated)
        return min(self.burst, bucket.tokens + elapsed * self.rate)

    def wait_seconds(self, key: str, cost: float, now: float) -> float:
        """0 when ``cost`` events may pass now, else the seconds until they may."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        needed = min(cost, self.burst)
        level = self._level(bucket, now)
        return 0.0 if level >= needed else (needed - level) / self.rate

    def take(self, key: str, cost: float, now: float) -> None:
        """Spend ``cost`` tokens (after ``wait_seconds`` said 0)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, updated=now)
            self._buckets[key] = bucket
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = self._level(bucket, now) - cost
        bucket.updated = max(bucket.updated, now)
        self._sweep(now)

    def _sweep(self, now: float) -> None:
        for _ in range(_SWEEP_PER_CALL):
            if not self._buckets:
                return
            oldest_key, oldest = next(iter(self._buckets.items()))
            if self._level(oldest, now) < self.burst:
                break
            del self._buckets[oldest_key]
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class RateLimiter:
    """The collector's two limits: events per site and events per client IP."""

    def __init__(
        self,
        *,
        site_rate: float,
        site_burst: float,
        ip_rate: float,
        ip_burst: float,
        max_keys: int = 100_000,
    ) -> None:
        self.sites = TokenBuckets(site_rate, site_burst, max_keys=max_keys)
        self.ips = TokenBuckets(ip_rate, ip_burst, max_keys=max_keys)

    def admit(self, ip: str, events_per_site: dict[str, int], now: float) -> tuple[str, int] | None:
        """Take the tokens and return None, or take nothing and return (limit, Retry-After s).

        ``limit`` is ``"ip"`` or ``"site"``; Retry-After is whole seconds, at least 1.
        """
        total = sum(events_per_site.values())
        ip_wait = self.ips.wait_seconds(ip, total, now)
        site_wait = max(
            (self.sites.wait_seconds(site, count, now) for site, count in events_per_site.items()),
            default=0.0,
        )
        if ip_wait > 0 or site_wait > 0:
            limit = "ip" if ip_wait >= site_wait else "site"
            return limit, max(1, math.ceil(max(ip_wait, site_wait)))
        self.ips.take(ip, total, now)
        for site, count in events_per_site.items():
            self.sites.take(site, count, now)
        return None
