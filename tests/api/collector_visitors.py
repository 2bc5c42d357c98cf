"""What the collector should write in place of a client's IP and user agent."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import xxhash

from foundation.settings import Settings
from foundation.units import DAY_MS
from operators.user_agent import UserAgentClassifier


def expected_visitor(
    settings: Settings, site_id: str, ip: str, ua: str, received_at: int
) -> dict[str, Any]:
    """The ``visitor`` fields, the hash computed by hand with the day's key file."""
    key = (Path(settings.visitor_key_store) / f"{received_at // DAY_MS}.key").read_bytes()
    digest = hashlib.blake2b(f"{site_id}\0{ip}".encode(), key=key, digest_size=8).digest()
    info = UserAgentClassifier(settings.bot_patterns).classify(ua)
    return {
        "ip_hash": int.from_bytes(digest, "little"),
        "country": "",  # no GeoIP database in these tests
        "ua_hash": xxhash.xxh64_intdigest(ua.encode()),
        "device": info.device_type,
        "bot": info.bot_reason,
    }
