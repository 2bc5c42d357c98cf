"""The key store a deployment's settings name."""

from __future__ import annotations

from connectors.visitor_keys import RandomBytes, VisitorKeyStore
from connectors.visitor_keys.directory import DirectoryKeyStore
from connectors.visitor_keys.redis_store import RedisKeyStore
from foundation.settings import Settings


def open_key_store(settings: Settings, random_bytes: RandomBytes) -> VisitorKeyStore:
    """Redis for a redis:// URL, else the directory (by default under the data dir)."""
    location = settings.visitor_key_location(settings.data_dir)
    retention = settings.visitor_key_retention_hours
    if location.startswith(("redis://", "rediss://", "unix://")):
        return RedisKeyStore(location, retention, random_bytes)
    return DirectoryKeyStore(location, retention, random_bytes)
