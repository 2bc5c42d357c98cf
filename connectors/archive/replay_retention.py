"""Expire recordings older than the retention: their blobs and their ClickHouse rows.

A recording goes whole, never partly. Whether it is expired is read from:

- its rows, when the replay tables hold any (``connectors.clickhouse.retention``): it is
  expired when none of them ends at or after the cutoff. Their times are corrected for
  the client's clock, so a browser whose clock is wrong decides nothing;
- otherwise its blobs (recordings whose rows are gone already, or a sweep without
  ClickHouse): it is expired when its newest blob starts (the first-event time its name
  begins with) before the cutoff.

Then every blob of it and every row of it go. The rows go first: should the sweep stop
half-way, the list of recordings no longer shows one whose blobs are still stored, and
the next sweep finds the blobs by their own times.

The cutoff is ``now - retention_days``; ``now`` is passed in. The same rule holds for a
local folder and for S3 (where the bucket's lifecycle rule on ``replays/`` expires the
objects too, after the same number of days).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse.base import ClickHouseClient
from connectors.clickhouse.retention import (
    RecordingKey,
    delete_recordings,
    expired_recordings,
    recordings_kept,
)
from operators.replay_blobs import BLOB_SUFFIX

logger = logging.getLogger(__name__)

# <first event ms, 13 digits>-<seq, 6 digits>-<chunk id>.json.gz (operators.replay_blobs)
_BLOB_FILE = re.compile(r"(\d{13})-\d{6}-[^/]+" + re.escape(BLOB_SUFFIX))


@dataclass(frozen=True)
class ReplaySweep:
    """What a sweep deleted (or, with ``dry_run``, would delete)."""

    cutoff: datetime
    recordings: int
    blobs: int
    dry_run: bool


def blob_first_event_ms(name: str) -> int | None:
    """The first-event time (epoch ms) a blob's name starts with; None for another name."""
    match = _BLOB_FILE.fullmatch(name.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def newest_blob_ms(names: Iterable[str]) -> int | None:
    """The first-event time of a recording's newest blob; None when no name has one."""
    times = [ms for ms in map(blob_first_event_ms, names) if ms is not None]
    return max(times) if times else None


def _recording_key(site_id: str, session_id: str) -> RecordingKey:
    """The key ClickHouse gives the recording: its UUID in canonical lower case (a folder
    name that is no UUID stays as it is, and matches no row)."""
    try:
        return site_id, str(uuid.UUID(session_id))
    except ValueError:
        return site_id, session_id


def _cutoff_ms(cutoff: datetime) -> int:
    # Integer arithmetic: a float timestamp could round a millisecond across the cutoff.
    return (cutoff - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def expire_recordings(
    store: ReplayBlobStore,
    client: ClickHouseClient | None,
    *,
    now: datetime,
    retention_days: int,
    dry_run: bool = False,
) -> ReplaySweep:
    """Delete every recording older than ``now - retention_days``, from the blob store
    and (when ``client`` is given) from the replay tables; with ``dry_run`` only count.

    ``now`` must be timezone-aware. ``recordings`` counts the expired recordings (with
    blobs, rows or both), ``blobs`` their blob files.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise ValueError(f"retention_days must be a whole number, got {retention_days!r}")
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)
    cutoff_ms = _cutoff_ms(cutoff)

    stored: dict[RecordingKey, list[str]] = {}
    for site_id, session_id, names in store.sessions():
        stored.setdefault(_recording_key(site_id, session_id), []).extend(names)
    expired = {
        key
        for key, names in stored.items()
        if (newest := newest_blob_ms(names)) is not None and newest < cutoff_ms
    }
    if client is not None:
        # Where the tables hold rows of a recording, they decide, both ways.
        expired -= recordings_kept(client, expired, cutoff)
        expired |= expired_recordings(client, cutoff)
    doomed = [name for key in sorted(expired) for name in stored.get(key, [])]

    deleted = len(doomed)
    if not dry_run:
        if client is not None:
            delete_recordings(client, expired)
        # A blob already gone (another sweep, the bucket's lifecycle) is not counted.
        deleted = sum(store.destination.delete(name) for name in doomed)
        logger.info(
            "expired %d recordings (%d blobs) older than %s",
            len(expired),
            deleted,
            cutoff.isoformat(),
        )
    return ReplaySweep(cutoff=cutoff, recordings=len(expired), blobs=deleted, dry_run=dry_run)
