"""A page's picture from its recordings: the rrweb events that rebuild it.

rrweb starts every page load (and every checkout) with a Meta event (type 4, its
``data.href`` the page's address) followed by a FullSnapshot (type 2, the whole DOM).
The pair is all rrweb's Replayer needs to draw the page as it was, which the heatmap
page lays its grid over. The tracker cuts chunks by size, so a large FullSnapshot can
be the first event of the chunk after its Meta: :func:`scan_chunk` reports such a Meta
as pending, and :func:`continue_page_load` finds its FullSnapshot at the start of the
next chunk.

Pure functions over decoded events (``operators.replay_blobs.decode_blob``): a value of
any other shape is skipped, never an error. A Meta's page is its ``href``'s path as the
pipeline computes a chunk's ``pages`` (``operators.pii.mask_url_path``), so a chunk
listed for a path holds the Meta that names it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from operators.pii import mask_url_path

FULL_SNAPSHOT: Final = 2
META: Final = 4
# Chunks of recordings that visited the page, newest first, read at most per request.
MAX_SNAPSHOT_CHUNKS: Final = 20
# rrweb's timestamps are epoch milliseconds; beyond this they are not a time.
_LATEST_MS: Final = 4_102_444_800_000  # 2100-01-01


@dataclass(frozen=True)
class SnapshotChunk:
    """One stored chunk that may hold a page's picture."""

    session_id: str
    blob_name: str
    start_time: datetime


@dataclass(frozen=True)
class PageLoad:
    """A Meta event of the page and the FullSnapshot that followed it."""

    meta: dict[str, Any]
    snapshot: dict[str, Any]

    def size(self) -> tuple[int, int]:
        """The viewport (width, height) of the Meta event; 0 when it has none."""
        data = self.meta.get("data")
        data = data if isinstance(data, dict) else {}
        return _pixels(data.get("width")), _pixels(data.get("height"))

    def captured_at(self, fallback: datetime) -> datetime:
        """When the FullSnapshot was taken; ``fallback`` when its time is unusable."""
        stamp = self.snapshot.get("timestamp")
        if (
            isinstance(stamp, int | float)
            and not isinstance(stamp, bool)
            and math.isfinite(stamp)
            and 0 <= stamp <= _LATEST_MS
        ):
            return datetime.fromtimestamp(stamp / 1000, tz=UTC)
        return fallback


@dataclass(frozen=True)
class ChunkScan:
    """What one chunk holds for a page: its last complete page load, and a Meta of the
    page at its end still waiting for its FullSnapshot (in the next chunk)."""

    found: PageLoad | None
    pending: dict[str, Any] | None


def _pixels(value: Any) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(0, min(int(value), 1_000_000))
    return 0


def _kind(event: Any) -> int | None:
    if not isinstance(event, dict):
        return None
    kind = event.get("type")
    return kind if isinstance(kind, int) and not isinstance(kind, bool) else None


def meta_path(event: dict[str, Any]) -> str | None:
    """The page path a Meta event names, or None when it names none."""
    data = event.get("data")
    href = data.get("href") if isinstance(data, dict) else None
    return mask_url_path(href) if isinstance(href, str) else None


def scan_chunk(events: Iterable[Any], path: str) -> ChunkScan:
    """The chunk's last Meta of ``path`` followed by a FullSnapshot before any other
    Meta (the same page load), and a Meta of ``path`` left without one at its end."""
    found: PageLoad | None = None
    pending: dict[str, Any] | None = None
    for event in events:
        kind = _kind(event)
        if kind == META:
            pending = event if meta_path(event) == path else None
        elif kind == FULL_SNAPSHOT and pending is not None:
            found, pending = PageLoad(pending, event), None
    return ChunkScan(found, pending)


def continue_page_load(meta: dict[str, Any], events: Iterable[Any]) -> PageLoad | None:
    """The page load of a pending ``meta``: the next chunk's FullSnapshot when it comes
    before any Meta."""
    for event in events:
        kind = _kind(event)
        if kind == FULL_SNAPSHOT:
            return PageLoad(meta, event)
        if kind == META:
            return None
    return None
