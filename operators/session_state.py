"""The state of one session id, and what a session row is computed from.

A session id's events are kept in compact columns (timestamps, kinds, a few
details for page views, clicks and scrolls), not as event dicts, so an open
session costs a few hundred bytes plus a few dozen per event. Every figure
of a session row is computed from these columns sorted by event time, so
the row is the same whatever order the events arrived in.
"""

from __future__ import annotations

import sys
import uuid
from array import array
from dataclasses import dataclass, field
from typing import Any

KIND_PAGEVIEW = 0
KIND_CLICK = 1
KIND_MOVE = 2
KIND_SCROLL = 3
KIND_ERROR = 4
KIND_CUSTOM = 5
KIND_CODES = {
    "pageview": KIND_PAGEVIEW,
    "click": KIND_CLICK,
    "move": KIND_MOVE,
    "scroll": KIND_SCROLL,
    "error": KIND_ERROR,
    "custom": KIND_CUSTOM,
}
# Up to this many events a session looks ids up in its array rather than a set.
SET_THRESHOLD = 64
# Below this many ids, `in` on the array beats a byte search.
SCAN_IN_PYTHON_BELOW = 8
# Derived session ids live in their own UUID namespace.
DERIVED_SESSION_NAMESPACE = uuid.UUID("6f1c1f6e-4b0e-5e59-9d0c-6b9b1e2f7a11")


def derived_session_id(session_id: str, start_ms: int) -> str:
    """The id of a session that continues `session_id` after it ended, starting at `start_ms`."""
    return str(uuid.uuid5(DERIVED_SESSION_NAMESPACE, f"{session_id}/{start_ms}"))


@dataclass(frozen=True, slots=True)
class PageView:
    path: str
    bottom_px: int  # viewport bottom at load (vh), -1 when unknown


@dataclass(frozen=True, slots=True)
class Click:
    path: str
    x: float
    y: float
    grid_x: int
    grid_y: int
    fixed: bool


@dataclass(frozen=True, slots=True)
class Scroll:
    bottom_px: int  # scroll_y + vh


Detail = PageView | Click | Scroll | None


@dataclass(slots=True)
class SessionState:
    """Everything kept for one session id while it is open."""

    session_id: str
    site_id: str
    # True when an earlier run of this id was already closed: every session
    # made from this state gets a derived id.
    derived_only: bool = False
    ts: array[int] = field(default_factory=lambda: array("q"))
    order: array[int] = field(default_factory=lambda: array("Q"))  # event-id hash, tie-break
    kinds: bytearray = field(default_factory=bytearray)
    profile_index: bytearray = field(default_factory=bytearray)
    profiles: list[tuple[str, str]] = field(default_factory=list)  # (device, country)
    details: list[Detail] = field(default_factory=list)
    # Event ids already seen, as a set only once the session is long: a short
    # session's ids are searched in `order`, which costs 8 bytes an id.
    seen: set[int] | None = None
    min_ts: int = 0
    max_ts: int = 0
    dirty: bool = True
    deadline_bucket: int = -1

    def add(
        self, ts: int, id_hash: int, kind: int, device: str, country: str, detail: Detail
    ) -> None:
        if not self.ts:
            self.min_ts = self.max_ts = ts
        elif ts < self.min_ts:
            self.min_ts = ts
        elif ts > self.max_ts:
            self.max_ts = ts
        self.ts.append(ts)
        self.order.append(id_hash)
        self.kinds.append(kind)
        profiles = self.profiles
        if profiles and profiles[-1][0] == device and profiles[-1][1] == country:
            index = len(profiles) - 1
        else:
            profile = (device, country)
            if profile in profiles:
                index = profiles.index(profile)
            else:
                index = len(profiles)
                profiles.append(profile)
        self.profile_index.append(min(index, 255))
        self.details.append(detail)
        if self.seen is not None:
            self.seen.add(id_hash)
        elif len(self.order) > SET_THRESHOLD:
            self.seen = set(self.order)
        self.dirty = True

    def has_seen(self, id_hash: int) -> bool:
        return holds_id(self.seen if self.seen is not None else self.order, id_hash)

    def __len__(self) -> int:
        return len(self.ts)

    def sorted_indices(self) -> list[int]:
        ts, order = self.ts, self.order
        return sorted(range(len(ts)), key=lambda i: (ts[i], order[i]))


def holds_id(ids: array[int] | set[int], id_hash: int) -> bool:
    """Whether an event-id hash is among ``ids`` (a session's array, or a set)."""
    if isinstance(ids, set) or len(ids) < SCAN_IN_PYTHON_BELOW:
        return id_hash in ids
    # Searched in C on the array's bytes (`in` compares element by element in
    # Python); a find at an offset that is no multiple of 8 straddles two ids.
    data = ids.tobytes()
    key = id_hash.to_bytes(8, sys.byteorder)
    at = data.find(key)
    while at >= 0:
        if at % 8 == 0:
            return True
        at = data.find(key, at + 1)
    return False


@dataclass(frozen=True)
class RageRule:
    """3+ clicks, each within `interval_ms` (inclusive) and `distance_px` (exclusive,
    |dx| + |dy|) of the previous one, in the same coordinate space."""

    clicks: int = 3
    interval_ms: int = 1000
    distance_px: int = 30

    def __post_init__(self) -> None:
        if self.clicks < 2:
            raise ValueError("rage_click_count must be at least 2")
        if self.interval_ms <= 0 or self.distance_px <= 0:
            raise ValueError("rage click interval and distance must be positive")


def rage_click_positions(clicks: list[tuple[int, Click]], rule: RageRule) -> list[int]:
    """Positions (into `clicks`, sorted by time) of the clicks that form rage bursts."""
    rage: list[int] = []
    run_start = 0
    for index in range(1, len(clicks) + 1):
        continues = False
        if index < len(clicks):
            (prev_ts, prev), (ts, click) = clicks[index - 1], clicks[index]
            continues = (
                click.fixed == prev.fixed
                and ts - prev_ts <= rule.interval_ms
                and abs(click.x - prev.x) + abs(click.y - prev.y) < rule.distance_px
            )
        if not continues:
            if index - run_start >= rule.clicks:
                rage.extend(range(run_start, index))
            run_start = index
    return rage


@dataclass
class SessionSummary:
    """One session row, plus what the heatmaps need from a closed session."""

    row: dict[str, Any]
    rage_clicks: list[tuple[int, Click]]
    page_depths: list[tuple[int, str, int]]  # (page view ts, path, deepest bottom px)


def split_segments(
    state: SessionState, indices: list[int], gap_ms: int, max_length_ms: int
) -> list[list[int]]:
    """Sorted event indices cut where the gap or the length limit ends a session."""
    segments: list[list[int]] = []
    ts = state.ts
    current: list[int] = []
    start = prev = 0
    for i in indices:
        t = ts[i]
        if current and (t - prev > gap_ms or t - start >= max_length_ms):
            segments.append(current)
            current = []
        if not current:
            start = t
        current.append(i)
        prev = t
    if current:
        segments.append(current)
    return segments


def summarize_segment(
    state: SessionState,
    segment: list[int],
    session_id: str,
    rule: RageRule,
    version: int,
) -> SessionSummary:
    ts, kinds, details = state.ts, state.kinds, state.details
    first, last = segment[0], segment[-1]
    start, end = ts[first], ts[last]
    device, country = state.profiles[state.profile_index[first]]
    page_count = error_count = 0
    entry_path = exit_path = ""
    clicks: list[tuple[int, Click]] = []
    page_depths: list[tuple[int, str, int]] = []
    for i in segment:
        kind = kinds[i]
        detail = details[i]
        if kind == KIND_PAGEVIEW and isinstance(detail, PageView):
            page_count += 1
            if not entry_path:
                entry_path = detail.path
            exit_path = detail.path
            page_depths.append((ts[i], detail.path, detail.bottom_px))
        elif kind == KIND_CLICK and isinstance(detail, Click):
            clicks.append((ts[i], detail))
        elif kind == KIND_SCROLL and isinstance(detail, Scroll) and page_depths:
            # A scroll belongs to the latest page view before it.
            view_ts, path, deepest = page_depths[-1]
            if detail.bottom_px > deepest:
                page_depths[-1] = (view_ts, path, detail.bottom_px)
        elif kind == KIND_ERROR:
            error_count += 1
    rage = [clicks[p] for p in rage_click_positions(clicks, rule)]
    row = {
        "session_id": session_id,
        "site_id": state.site_id,
        "start_time": start,
        "end_time": end,
        "page_count": min(page_count, 65_535),
        "event_count": len(segment),
        "device_type": device,
        "country_code": country,
        "duration_seconds": (end - start) // 1000,
        "has_errors": error_count > 0,
        "has_rage_clicks": bool(rage),
        "entry_path": entry_path,
        "exit_path": exit_path,
        "rage_click_count": len(rage),
        "error_count": error_count,
        "version": version,
    }
    return SessionSummary(row, rage, page_depths)
