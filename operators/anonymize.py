"""Stage 4, always last: anonymize.

- `ip_hash`: a keyed 64-bit BLAKE2b hash of (site, IP). Its key rotates every
  UTC day and is derived from the secret setting and the date, so no salt is
  ever stored, and yesterday's hashes cannot be recomputed without the secret
  (an unkeyed IPv4 hash is brute-forced in milliseconds). The site is part of
  the input so that one visitor cannot be joined across sites.
- `user_agent_hash`: xxh64 of the UA string (a UA alone identifies nobody).
- The raw IP and UA are dropped; `url_path` keeps the path only, masked;
  every kept string is PII-masked; sensitive props keys are redacted.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from foundation.units import DAY_MS
from operators.model import AnonymizedEvent, Event, EventBatch
from operators.pii import mask_json_value, mask_referrer, mask_text, mask_url_path

IP_CACHE_SIZE = 200_000
# Optional contract fields kept in `event_data` (as JSON) after masking.
NUMERIC_DATA_FIELDS = ("x", "y", "scroll_y", "dh")


class DailyKeyedHasher:
    """Keyed 64-bit hashes whose key is derived from a secret and the UTC day."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("ip_hash_secret must be at least 16 bytes")
        self._master = hashlib.sha256(b"insightlite/ip-hash/v1\0" + secret).digest()
        self._day_keys: dict[int, bytes] = {}

    def day_key(self, day: int) -> bytes:
        """The key of the UTC day `day` (days since the epoch)."""
        key = self._day_keys.get(day)
        if key is None:
            date = datetime.fromtimestamp(day * 86_400, tz=UTC).date().isoformat()
            key = hashlib.blake2b(date.encode(), key=self._master, digest_size=32).digest()
            if len(self._day_keys) > 64:
                self._day_keys.clear()
            self._day_keys[day] = key
        return key

    def hash(self, value: str, scope: str, ts_ms: int) -> int:
        key = self.day_key(ts_ms // DAY_MS)
        digest = hashlib.blake2b(
            scope.encode() + b"\0" + value.encode(), key=key, digest_size=8
        ).digest()
        return int.from_bytes(digest, "little")


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


class Anonymizer:
    """Turns an enriched event into the stored, anonymized event."""

    def __init__(self, secret: bytes) -> None:
        self.hasher = DailyKeyedHasher(secret)
        self._ip_cache: dict[tuple[int, str, str], int] = {}

    def anonymize(self, event: Event) -> AnonymizedEvent:
        ts = event["ts"]
        site = event["site_id"]
        ip = event.get("ip")
        data: dict[str, Any] = {}
        for name in NUMERIC_DATA_FIELDS:
            value = event.get(name)
            if value is not None:
                data[name] = value
        if event.get("fixed") is not None:
            data["fixed"] = event["fixed"]
        target = event.get("target")
        if target is not None:
            data["target"] = mask_text(target)
        custom_name = event.get("name")
        if custom_name is not None:
            data["name"] = mask_text(custom_name)
        error = event.get("error")
        if error is not None:
            data["error"] = mask_json_value(error)
        props = event.get("props")
        if props is not None:
            data["props"] = mask_json_value(props)
        referrer = event.get("referrer")
        ua_hash = event["_ua"].ua_hash
        return AnonymizedEvent(
            event["event_id"],
            event["session_id"],
            site,
            ts,
            event["type"],
            orjson.dumps(data).decode() if data else "{}",
            mask_url_path(event["url"]),
            mask_referrer(referrer) if referrer else "",
            event["device_type"],
            _int(event.get("vw")),
            _int(event.get("vh")),
            ua_hash,
            self._ip_hash(ip, site, ts) if type(ip) is str and ip else 0,
            event["country_code"],
            event["error_class"],
            event["received_at"],
            event.get("x"),
            event.get("y"),
            event.get("scroll_y"),
            event.get("fixed") is True,
            event.get("_offset", -1),
        )

    def _ip_hash(self, ip: str, site: str, ts: int) -> int:
        # Visitors send many events a day: one hash per (day, site, IP).
        key = (ts // DAY_MS, site, ip)
        cached = self._ip_cache.get(key)
        if cached is None:
            cached = self.hasher.hash(ip, site, ts)
            if len(self._ip_cache) >= IP_CACHE_SIZE:
                self._ip_cache.clear()
            self._ip_cache[key] = cached
        return cached

    def apply(self, batch: EventBatch) -> EventBatch:
        anonymize = self.anonymize
        batch.events = [anonymize(event) for event in batch.events]
        return batch
