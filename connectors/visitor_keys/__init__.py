"""The random daily visitor-hash keys, shared by every collector and pipeline worker.

One random 32-byte key per UTC day (operators/visitor.py says how it is used). A key
is created ahead of its day (today's and tomorrow's, by the collector at start and when
the day turns), or on first request for a day that has none (the pipeline reading an
old file); every creation is atomic, so two processes that race agree on one key. The
key of day D is destroyed at the start of D plus the retention (48 h by default: a day
of use and a day for late events), by the store's own expiry where it has one and by
``sweep`` with the time passed in.

    store = open_key_store(settings, random_bytes=os.urandom)   # Redis or a directory
    keys = DailyKeys(store, now_ms=clock)
    key = keys.key(day)        # KeyStoreUnavailable when the store cannot be reached

A store that cannot be reached raises ``KeyStoreUnavailable``: callers fail closed
(the collector answers 503, the pipeline retries), never hash without the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from foundation.units import DAY_MS, HOUR_MS

KEY_BYTES = 32
RandomBytes = Callable[[int], bytes]


class KeyStoreUnavailable(Exception):
    """The key store cannot be reached or answered nonsense: an infrastructure failure."""


class VisitorKeyStore(Protocol):
    """Where the daily keys live."""

    def get_or_create(self, day: int) -> bytes:
        """The key of ``day``, created (atomically, first writer wins) when it has none."""
        ...

    def sweep(self, now_ms: int) -> list[int]:
        """Destroy every key whose day ended its retention by ``now_ms``; the days destroyed."""
        ...

    def days(self) -> list[int]:
        """The days that have a key now."""
        ...


def destroy_at_ms(day: int, retention_hours: int) -> int:
    """When the key of ``day`` is destroyed: the start of the day plus the retention."""
    return day * DAY_MS + retention_hours * HOUR_MS


class DailyKeys:
    """A store's keys with an in-memory cache that holds only the current day's key."""

    def __init__(self, store: VisitorKeyStore, now_ms: Callable[[], int]) -> None:
        self.store = store
        self.now_ms = now_ms
        self._cached: tuple[int, bytes] | None = None

    def key(self, day: int) -> bytes:
        today = self.now_ms() // DAY_MS
        cached = self._cached
        if cached is not None and cached[0] != today:
            self._cached = cached = None
        if cached is not None and cached[0] == day:
            return cached[1]
        key = self.store.get_or_create(day)
        if day == today:
            self._cached = (day, key)
        return key

    def cached(self, day: int) -> bool:
        """True when ``day``'s key is in memory (it is today's and was read already)."""
        cached = self._cached
        return cached is not None and cached[0] == day == self.now_ms() // DAY_MS

    def keys(self, days: set[int]) -> dict[int, bytes]:
        return {day: self.key(day) for day in sorted(days)}

    def ensure_ahead(self) -> None:
        """Create today's and tomorrow's keys if they do not exist yet."""
        today = self.now_ms() // DAY_MS
        for day in (today, today + 1):
            self.store.get_or_create(day)

    def sweep(self) -> list[int]:
        return self.store.sweep(self.now_ms())
