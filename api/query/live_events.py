"""What the live stream is made of, as plain data: events decoded from the pipeline's
records, the recent ids that drop a redelivered event, the window of active sessions,
and the JSON text of every message.

An event reaches the stream as a ``processed_events`` record (the ``events`` table's
columns as JSON) or as a row of ``events``; both become a :class:`LiveEvent`, whose
``message`` is the one text every connection of the site is sent. The message holds
what the dashboard shows (the event as stored); ``ip_hash`` and ``user_agent_hash``
never leave the process: the visitor hash is only counted here.

A record that cannot be read is a :class:`Unreadable` value with its reason, counted
by the caller, never an exception.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from api.query.live_crowd import LiveCell, live_cell
from foundation.units import MINUTE_MS

ACTIVE_WINDOW_MS: Final = 5 * MINUTE_MS
# Event times the stream accepts: 1970 to 2106 in epoch milliseconds.
MAX_TIMESTAMP_MS: Final = 2**32 * 1000
# Keys the window follows per site at most: a bound on its memory whatever the traffic.
MAX_ACTIVE_KEYS: Final = 1_000_000
# The optional fields of ``event_data`` the stream passes on (pointer, scroll, fixed).
POINTER_FIELDS: Final = ("x", "y", "scroll_y")
# Text fields of an event, passed on as stored.
TEXT_FIELDS: Final = (
    "event_type",
    "url_path",
    "referrer",
    "device_type",
    "country_code",
    "error_class",
)
MAX_ID_CHARS: Final = 64


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One anonymized event, ready to fan out."""

    event_id: str
    session_id: str
    site_id: str
    timestamp_ms: int
    # Counted as a visitor, never sent (0: no address was seen).
    ip_hash: int
    message: str
    # The heatmap cell of a pointer event, and its message without the pointer
    # position, sent while the cell has fewer than k sessions (api.query.live_crowd).
    cell: LiveCell | None = None
    coarse_message: str | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record the stream cannot use, and why (``bad_json``, ``missing_field``, ...)."""

    reason: str


def iso_time(epoch_ms: int) -> str:
    """``2026-11-25T12:00:00.123Z`` (UTC, milliseconds)."""
    seconds, millis = divmod(int(epoch_ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pointer_fields(event_data: Any) -> dict[str, Any]:
    """x, y, scroll_y (numbers) and fixed (a boolean) when ``event_data`` holds them."""
    if not isinstance(event_data, str) or not event_data or event_data == "{}":
        return {}
    try:
        data = orjson.loads(event_data)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, Any] = {}
    for name in POINTER_FIELDS:
        value = data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = value
    fixed = data.get("fixed")
    if isinstance(fixed, bool):
        found["fixed"] = fixed
    return found


def event_from_fields(fields: Mapping[str, Any]) -> LiveEvent | Unreadable:
    """The event of a ``processed_events`` record or an ``events`` row (by column name)."""
    ids: list[str] = []
    for name in ("event_id", "session_id", "site_id"):
        value = fields.get(name)
        if not isinstance(value, str) or not value:
            return Unreadable("missing_field")
        if len(value) > MAX_ID_CHARS:
            return Unreadable("bad_id")
        ids.append(value)
    timestamp = fields.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return Unreadable("bad_timestamp")
    if not 0 <= timestamp < MAX_TIMESTAMP_MS:
        return Unreadable("bad_timestamp")
    shown: dict[str, Any] = {
        "event_id": ids[0],
        "session_id": ids[1],
        "timestamp": iso_time(timestamp),
    }
    for name in TEXT_FIELDS:
        value = fields.get(name, "")
        if not isinstance(value, str):
            return Unreadable("bad_field")
        shown[name] = value
    for name in ("viewport_width", "viewport_height"):
        value = fields.get(name, 0)
        shown[name] = value if _is_int(value) else 0
    pointer = _pointer_fields(fields.get("event_data"))
    coarse_message: str | None = None
    cell: LiveCell | None = None
    if pointer:
        coarse_message = orjson.dumps({"type": "event", "event": shown}).decode()
        if "x" in pointer and "y" in pointer:
            cell = live_cell(
                shown["url_path"],
                shown["event_type"],
                bool(pointer.get("fixed", False)),
                float(pointer["x"]),
                float(pointer["y"]),
                shown["viewport_width"],
            )
        else:  # a scroll position: the page's scroll cell
            cell = (shown["url_path"], shown["event_type"], 0, 0)
    shown.update(pointer)
    ip_hash = fields.get("ip_hash", 0)
    message = orjson.dumps({"type": "event", "event": shown}).decode()
    return LiveEvent(
        event_id=ids[0],
        session_id=ids[1],
        site_id=ids[2],
        timestamp_ms=timestamp,
        ip_hash=ip_hash if _is_int(ip_hash) else 0,
        message=message,
        cell=cell,
        coarse_message=coarse_message,
    )


def event_from_record(value: bytes | None) -> LiveEvent | Unreadable:
    """The event of one ``processed_events`` record's value."""
    if not value:
        return Unreadable("empty_record")
    try:
        fields = orjson.loads(value)
    except orjson.JSONDecodeError:
        return Unreadable("bad_json")
    if not isinstance(fields, dict):
        return Unreadable("bad_json")
    return event_from_fields(fields)


class RecentIds:
    """The last ``capacity`` event ids seen: a redelivered event is dropped by its id."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._order: deque[str] = deque()
        self._ids: set[str] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> bool:
        """True when ``event_id`` is new (and remember it), False for a duplicate."""
        if event_id in self._ids:
            return False
        self._ids.add(event_id)
        self._order.append(event_id)
        if len(self._order) > self._capacity:
            self._ids.discard(self._order.popleft())
        return True


class RecentKeys:
    """Keys with their latest time, forgetting those older than a cutoff.

    A heap of (time, key) with one entry per key: a key whose entry falls out but was
    seen again meanwhile goes back in with its latest time, so each prune costs
    O(log n) per key checked and the count is exact.
    """

    def __init__(self, max_keys: int = MAX_ACTIVE_KEYS) -> None:
        self._latest: dict[Hashable, int] = {}
        self._heap: list[tuple[int, Hashable]] = []
        self._max_keys = max_keys

    def __len__(self) -> int:
        return len(self._latest)

    def see(self, key: Hashable, at_ms: int) -> None:
        known = self._latest.get(key)
        if known is None:
            if len(self._latest) >= self._max_keys:
                return
            self._latest[key] = at_ms
            heapq.heappush(self._heap, (at_ms, key))
        elif at_ms > known:
            self._latest[key] = at_ms

    def prune(self, cutoff_ms: int) -> None:
        """Forget the keys whose latest time is before ``cutoff_ms``."""
        heap = self._heap
        while heap and heap[0][0] < cutoff_ms:
            _, key = heapq.heappop(heap)
            latest = self._latest[key]
            if latest < cutoff_ms:
                del self._latest[key]
            else:
                heapq.heappush(heap, (latest, key))


class ActivityWindow:
    """Sessions and visitors of one site with an event in the last five minutes of
    event time (by the API's clock)."""

    def __init__(self, length_ms: int = ACTIVE_WINDOW_MS, max_keys: int = MAX_ACTIVE_KEYS) -> None:
        self.length_ms = length_ms
        self._sessions = RecentKeys(max_keys)
        self._visitors = RecentKeys(max_keys)

    def see(self, session_id: str, ip_hash: int, timestamp_ms: int, now_ms: int) -> None:
        if timestamp_ms < now_ms - self.length_ms:
            return
        self._sessions.see(session_id, timestamp_ms)
        if ip_hash:
            self._visitors.see(ip_hash, timestamp_ms)

    def counts(self, now_ms: int) -> tuple[int, int]:
        """(active visitors, active sessions) at ``now_ms``."""
        cutoff = now_ms - self.length_ms
        self._sessions.prune(cutoff)
        self._visitors.prune(cutoff)
        return len(self._visitors), len(self._sessions)


def ready_message(site: str) -> str:
    return orjson.dumps({"type": "ready", "site": site}).decode()


def ping_message(now_ms: int) -> str:
    return orjson.dumps({"type": "ping", "at": iso_time(now_ms)}).decode()


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """The figures of one site at one tick; each connection adds what it dropped."""

    at_ms: int
    active_visitors: int
    active_sessions: int
    events_per_second: float
    # Fewer than k sessions active: the figures are sent as 0 (api.query.live_crowd).
    suppressed: bool = False

    def message(self, dropped: int) -> str:
        held = self.suppressed
        summary: dict[str, Any] = {
            "type": "summary",
            "at": iso_time(self.at_ms),
            "active_visitors": 0 if held else self.active_visitors,
            "active_sessions": 0 if held else self.active_sessions,
            "events_per_second": 0.0 if held else round(self.events_per_second, 2),
            "dropped": dropped,
        }
        if held:  # only then, so the usual summary keeps its fields
            summary["suppressed"] = True
        return orjson.dumps(summary).decode()
