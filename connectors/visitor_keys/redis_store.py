"""Daily keys in Redis (production): ``<prefix><day>`` holds the 32 raw bytes.

Created with ``SET NX EXAT`` in one command: the first collector or worker wins, every
other reads its key, and Redis destroys the key at the start of its day plus the
retention even if no sweep runs. ``sweep`` deletes the keys due by the clock passed in
(the same rule, for a server clock that lags).
"""

from __future__ import annotations

import redis

from connectors.visitor_keys import (
    KEY_BYTES,
    KeyStoreUnavailable,
    RandomBytes,
    destroy_at_ms,
)

KEY_PREFIX = "insightlite:visitor-key:"
SOCKET_TIMEOUT_S = 2.0
LATE_KEY_TTL_S = 3600


class RedisKeyStore:
    def __init__(
        self,
        url: str,
        retention_hours: int,
        random_bytes: RandomBytes,
        *,
        prefix: str = KEY_PREFIX,
    ) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )
        self.retention_hours = retention_hours
        self.random_bytes = random_bytes
        self.prefix = prefix

    def name(self, day: int) -> str:
        return f"{self.prefix}{day}"

    def get_or_create(self, day: int) -> bytes:
        name = self.name(day)
        try:
            key = self.client.get(name)
            if key is None:
                candidate = self.random_bytes(KEY_BYTES)
                if len(candidate) != KEY_BYTES:
                    raise KeyStoreUnavailable(f"randomness gave {len(candidate)} bytes")
                expire_at_s = destroy_at_ms(day, self.retention_hours) // 1000
                server_now_s = int(self.client.time()[0])
                if expire_at_s > server_now_s:
                    self.client.set(name, candidate, nx=True, exat=expire_at_s)
                else:
                    # A day already past its retention (the pipeline re-reading an old
                    # file): a key for the run, which the next sweep destroys.
                    self.client.set(name, candidate, nx=True, ex=LATE_KEY_TTL_S)
                key = self.client.get(name)
        except redis.RedisError as exc:
            raise KeyStoreUnavailable(f"visitor key store (Redis): {exc}") from exc
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            # Missing right after SET NX: its expiry is already past (an old day).
            raise KeyStoreUnavailable(f"visitor key of day {day} is missing or malformed")
        return key

    def days(self) -> list[int]:
        try:
            names = list(self.client.scan_iter(match=f"{self.prefix}*", count=100))
        except redis.RedisError as exc:
            raise KeyStoreUnavailable(f"visitor key store (Redis): {exc}") from exc
        days = []
        for raw in names:
            suffix = raw.decode()[len(self.prefix) :]
            if suffix.isascii() and suffix.isdigit():
                days.append(int(suffix))
        return sorted(days)

    def sweep(self, now_ms: int) -> list[int]:
        due = [day for day in self.days() if destroy_at_ms(day, self.retention_hours) <= now_ms]
        if due:
            try:
                self.client.delete(*(self.name(day) for day in due))
            except redis.RedisError as exc:
                raise KeyStoreUnavailable(f"visitor key store (Redis): {exc}") from exc
        return due

    def close(self) -> None:
        self.client.close()
