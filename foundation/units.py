"""Time units in milliseconds: event times are epoch milliseconds, UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

SECOND_MS: Final = 1_000
MINUTE_MS: Final = 60 * SECOND_MS
HOUR_MS: Final = 60 * MINUTE_MS
DAY_MS: Final = 24 * HOUR_MS


def parse_utc_time(value: str | None, name: str = "--now") -> datetime:
    """An ISO 8601 time with a zone (``2026-11-25T12:00:00Z``) in UTC; empty: now.

    Raises ValueError naming ``name`` when the text has no zone or does not parse.
    """
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{name}: give a time zone, e.g. 2026-11-25T12:00:00Z")
    return parsed.astimezone(UTC)
