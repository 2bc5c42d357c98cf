"""The stages' visitor fields for unit tests: a fixed day key, the default bot patterns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foundation.settings import DEFAULT_BOT_PATTERNS
from operators.geo import CountryLookup
from operators.model import EventBatch
from operators.user_agent import UserAgentClassifier
from operators.visitor import VisitorDeriver, VisitorResolver

TEST_KEY = bytes(range(32))


def fixed_keys(days: set[int]) -> Mapping[int, bytes]:
    return dict.fromkeys(days, TEST_KEY)


def resolver(geoip_db: Path | None = None, patterns: tuple[str, ...] = ()) -> VisitorResolver:
    countries = CountryLookup(geoip_db) if geoip_db is not None else None
    classifier = UserAgentClassifier(patterns or DEFAULT_BOT_PATTERNS)
    return VisitorResolver(VisitorDeriver(classifier, countries), fixed_keys)


def resolved(events: list[dict[str, Any]], geoip_db: Path | None = None) -> EventBatch:
    """A batch of ``events`` with their visitor fields, as the bot filter leaves them."""
    batch = EventBatch("t", 0, len(events) - 1, len(events), events)
    resolver(geoip_db).resolve(batch.events)
    return batch
