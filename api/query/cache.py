"""Answer cache: an in-process LRU with a TTL in front of an optional Redis layer.

Keys hold the site in clear and a digest of every other parameter (see
:func:`cache_key`), so two sites never share an entry and two requests share one only
when every parameter, defaults resolved, is equal.

Staleness is bounded by the TTL, measured from when the answer was *computed*: an entry
copied from Redis into the process keeps its original creation time, so a value is
never served more than ``ttl_seconds`` after the query that produced it, whichever
layer serves it. Data the pipeline writes meanwhile shows up once the entry expires.

Concurrent misses of one key in one process wait for a single computation. A Redis
failure makes the cache a pass-through for that call (logged), never an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import orjson

log = logging.getLogger("insightlite.api.cache")

Clock = Callable[[], float]
T = TypeVar("T")

# The Redis value: creation time (epoch ms, big-endian u64), then the encoded answer.
_ENVELOPE = struct.Struct(">Q")


def cache_key(site: str, kind: str, params: Mapping[str, Any]) -> str:
    """The cache key of one answer: site, kind and a digest of every parameter."""
    digest = hashlib.sha256(
        orjson.dumps(dict(params), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    ).hexdigest()
    return f"{site}:{kind}:{digest}"


class Codec(Generic[T]):
    """How one kind of answer is written to and read from Redis."""

    def __init__(self, encode: Callable[[T], bytes], decode: Callable[[bytes], T]) -> None:
        self.encode = encode
        self.decode = decode


class _Lru:
    """Entries with an absolute expiry, least recently used dropped first; thread-safe."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            expires_at, value = entry
            if expires_at <= now:
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, value

    def put(self, key: str, value: Any, expires_at: float) -> None:
        with self._lock:
            self._entries[key] = (expires_at, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def drop_prefix(self, prefix: str) -> int:
        """Drop every entry whose key starts with ``prefix``; how many were dropped."""
        with self._lock:
            doomed = [key for key in self._entries if key.startswith(prefix)]
            for key in doomed:
                del self._entries[key]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._entries)


class ResponseCache:
    """Two-layer cache of computed answers (see the module doc).

    ``on_result(kind, outcome)`` is told every lookup's outcome: ``local``, ``redis``
    (hits of either layer) or ``miss``.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        redis: Any = None,
        clock: Clock = time.time,
        key_prefix: str = "insightlite:cache:v1:",
        on_result: Callable[[str, str], None] | None = None,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._local = _Lru(max_entries)
        self._redis = redis
        self._clock = clock
        self._prefix = key_prefix
        self._on_result = on_result
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    def use_redis(self, redis: Any) -> None:
        """Put a Redis layer behind the local one (None removes it)."""
        self._redis = redis

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def _report(self, kind: str, outcome: str) -> None:
        if self._on_result is not None:
            self._on_result(kind, outcome)

    async def get_or_compute(
        self,
        key: str,
        kind: str,
        compute: Callable[[], Awaitable[T]],
        codec: Codec[T],
    ) -> T:
        """The cached answer under ``key``, or ``compute()``'s, stored in both layers."""
        if not self.enabled:
            return await compute()
        now = self._clock()
        found, value = self._local.get(key, now)
        if found:
            self._report(kind, "local")
            result: T = value
            return result
        pending = self._inflight.get(key)
        if pending is not None:
            # Another request of this process is computing the same answer.
            self._report(kind, "local")
            awaited: T = await asyncio.shield(pending)
            return awaited
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            answer = await self._fetch(key, kind, compute, codec, now)
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody may be waiting; retrieve the exception so asyncio does not warn.
            future.exception()
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._inflight[key]

    async def _fetch(
        self,
        key: str,
        kind: str,
        compute: Callable[[], Awaitable[T]],
        codec: Codec[T],
        now: float,
    ) -> T:
        if self._redis is not None:
            stored = await self._redis_get(key)
            if stored is not None:
                created_at = _ENVELOPE.unpack_from(stored)[0] / 1000
                expires_at = created_at + self.ttl_seconds
                if expires_at > now:
                    value = codec.decode(stored[_ENVELOPE.size :])
                    self._local.put(key, value, expires_at)
                    self._report(kind, "redis")
                    return value
        self._report(kind, "miss")
        value = await compute()
        created_at = self._clock()
        self._local.put(key, value, created_at + self.ttl_seconds)
        if self._redis is not None:
            payload = _ENVELOPE.pack(round(created_at * 1000)) + codec.encode(value)
            await self._redis_set(key, payload)
        return value

    async def forget_site(self, site: str) -> None:
        """Drop every cached answer of ``site``, here and in Redis (after an erasure: no
        answer computed before it is served again). Other API processes' own copies
        expire within ``ttl_seconds``. A Redis failure is logged, never raised."""
        dropped = self._local.drop_prefix(f"{site}:")
        if self._redis is None:
            log.info("dropped %d cached answers of site %s", dropped, site)
            return
        try:
            keys = [key async for key in self._redis.scan_iter(match=f"{self._prefix}{site}:*")]
            if keys:
                await self._redis.delete(*keys)
        except Exception as exc:
            log.warning("answer cache store unavailable: %s", type(exc).__name__)
            return
        log.info("dropped %d cached answers of site %s (%d in Redis)", dropped, site, len(keys))

    async def _redis_get(self, key: str) -> bytes | None:
        try:
            stored: bytes | None = await self._redis.get(self._prefix + key)
        except Exception as exc:
            log.warning("answer cache store unavailable: %s", type(exc).__name__)
            return None
        if stored is not None and len(stored) < _ENVELOPE.size:
            return None
        return stored

    async def _redis_set(self, key: str, payload: bytes) -> None:
        try:
            # Redis expires the entry by its own clock as a backstop; readers judge
            # freshness by the creation time inside the value.
            await self._redis.set(
                self._prefix + key, payload, px=max(1, round(self.ttl_seconds * 1000))
            )
        except Exception as exc:
            log.warning("answer cache store unavailable: %s", type(exc).__name__)
