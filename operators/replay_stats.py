"""The replay step's last stage: a blob and a summary row per masked chunk.

The blob is `operators.replay_blobs.encode_blob` of the chunk's (masked) events,
named by the chunk alone (site, session, earliest event time on the client's
clock, seq, chunk id). The row has the columns of `session_replay_chunks`
(`REPLAY_CHUNKS_SCHEMA`):

- `start_time`, `end_time`: the earliest and latest event time, corrected by the
  chunk's `received_at - sent_at` (no correction without `sent_at`);
- `active_seconds`: the distinct corrected epoch seconds with user activity:
  pointer moves (each recorded position at its own time, `timestamp +
  timeOffset`; rrweb's offsets are negative, up to a minute is believed), mouse
  and touch interactions, scrolls, input, touch moves and drags;
- `click_ids`: xxh64 of (session id, client timestamp, x, y) of each click;
- `rage_click_ids`: the ids of the clicks in a burst of `rage_click_count` or more
  clicks, each at most `rage_click_interval_ms` after the previous one and less
  than `rage_click_distance_px` (|dx| + |dy|) from it: the rule of the
  sessions (`operators.session_state.RageRule`), within one chunk;
- `error_ids`: xxh64 of (session id, client timestamp, message) of each
  `insightlite:error` custom event;
- `pages`: the distinct paths visited (Meta `href`, `insightlite:pageview`
  urls), in order of first visit, masked like `url_path`.

Ids use client times, not corrected ones, so a chunk resent with another
`sent_at` keeps them; the same chunk processed twice gives identical blobs and
rows. A chunk that cannot be encoded (JSON nested deeper than the encoder's
limit of some 250 levels) is a `Rejected` of stage `replay_stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import orjson
import pyarrow as pa
import xxhash

from operators.model import Reason, Rejected
from operators.pii import mask_url_path
from operators.replay_blobs import blob_name, encode_blob
from operators.replay_mask import (
    CUSTOM,
    ERROR_TAG,
    INCREMENTAL_SNAPSHOT,
    META,
    PAGEVIEW_TAG,
    PAGEVIEW_URL_KEYS,
    as_int,
)
from operators.replay_model import STAGE_REPLAY_STORE, ReplayBatch, ReplayChunk, StoredChunk
from operators.schema_rules import MISSING_FIELD
from operators.session_state import Click, RageRule, rage_click_positions

TIMESTAMP: Final = pa.timestamp("ms", tz="UTC")

REPLAY_CHUNKS_SCHEMA: Final = pa.schema(
    [
        ("site_id", pa.string()),
        ("session_id", pa.string()),
        ("chunk_id", pa.string()),
        ("seq", pa.uint32()),
        ("start_time", TIMESTAMP),
        ("end_time", TIMESTAMP),
        ("event_count", pa.uint32()),
        ("blob_bytes", pa.uint32()),
        ("blob_name", pa.string()),
        ("active_seconds", pa.list_(pa.uint32())),
        ("click_ids", pa.list_(pa.uint64())),
        ("rage_click_ids", pa.list_(pa.uint64())),
        ("error_ids", pa.list_(pa.uint64())),
        ("pages", pa.list_(pa.string())),
        ("device_type", pa.string()),
        ("country_code", pa.string()),
        ("received_at", TIMESTAMP),
    ]
)

# rrweb IncrementalSource values that are a person acting on the page.
SOURCE_MOUSE_MOVE: Final = 1
SOURCE_MOUSE_INTERACTION: Final = 2
SOURCE_SCROLL: Final = 3
SOURCE_INPUT: Final = 5
SOURCE_TOUCH_MOVE: Final = 6
SOURCE_DRAG: Final = 12
ACTIVE_SOURCES: Final = frozenset(
    {
        SOURCE_MOUSE_MOVE,
        SOURCE_MOUSE_INTERACTION,
        SOURCE_SCROLL,
        SOURCE_INPUT,
        SOURCE_TOUCH_MOVE,
        SOURCE_DRAG,
    }
)
# Sources whose data lists positions, each with its own time offset.
POSITION_SOURCES: Final = frozenset({SOURCE_MOUSE_MOVE, SOURCE_TOUCH_MOVE, SOURCE_DRAG})
MOUSE_CLICK: Final = 2  # rrweb MouseInteractions.Click
# rrweb sends positions every 500 ms by default; a larger offset is not believed,
# the event's own time counts instead.
MAX_POSITION_OFFSET_MS: Final = 60_000
MAX_UINT32: Final = 2**32 - 1

UNENCODABLE: Final = "unencodable"
STATS_FAILED: Final = "stats_failed"


def _coordinate(value: object) -> float | None:
    """A JSON number as a float (10 and 10.0 are one point); None for anything else."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int and abs(value) < 2**64:
        return float(value)
    return None


def _position_offset(position: object) -> float | None:
    """A position's believable time offset from its event, or None."""
    offset = position.get("timeOffset") if type(position) is dict else None
    if type(offset) is not int and type(offset) is not float:
        return None
    return offset if -MAX_POSITION_OFFSET_MS <= offset <= MAX_POSITION_OFFSET_MS else None


def _event_id(*parts: object) -> int:
    """A stable 64-bit id: xxh64 of the parts' reprs (floats and strings repr the same
    on every run and platform)."""
    return xxhash.xxh64_intdigest("\x1f".join(map(repr, parts)).encode("utf-8", "replace"))


class _Summary:
    """What one pass over a chunk's events finds."""

    def __init__(self, session_id: str, correction_ms: int) -> None:
        self.session_id = session_id
        self.correction_ms = correction_ms
        self.first: int | None = None
        self.last: int | None = None
        self.active: set[int] = set()
        self.clicks: list[tuple[int, Click, int]] = []  # (client ms, point, id)
        self.click_ids: dict[int, None] = {}
        self.error_ids: dict[int, None] = {}
        self.pages: dict[str, None] = {}

    def active_at(self, client_ms: float) -> None:
        second = math.floor(client_ms + self.correction_ms) // 1000
        if 0 <= second <= MAX_UINT32:
            self.active.add(second)

    def add(self, event: object) -> None:
        if type(event) is not dict:
            return
        timestamp = as_int(event.get("timestamp"))
        if timestamp is None:
            return
        if self.first is None or timestamp < self.first:
            self.first = timestamp
        if self.last is None or timestamp > self.last:
            self.last = timestamp
        data = event.get("data")
        if type(data) is not dict:
            return
        event_type = as_int(event.get("type"))
        if event_type == INCREMENTAL_SNAPSHOT:
            self.add_incremental(timestamp, data)
        elif event_type == META:
            self.add_page(data.get("href"))
        elif event_type == CUSTOM:
            payload = data.get("payload")
            payload = payload if type(payload) is dict else {}
            tag = data.get("tag")
            if tag == PAGEVIEW_TAG:
                for key in PAGEVIEW_URL_KEYS:
                    if self.add_page(payload.get(key)):
                        break
            elif tag == ERROR_TAG:
                message = payload.get("message")
                message = message if type(message) is str else ""
                self.error_ids[_event_id(self.session_id, timestamp, message)] = None

    def add_incremental(self, timestamp: int, data: dict[Any, Any]) -> None:
        source = as_int(data.get("source"))
        if source not in ACTIVE_SOURCES:
            return
        positions = data.get("positions") if source in POSITION_SOURCES else None
        counted = False
        if type(positions) is list:
            for position in positions:
                offset = _position_offset(position)
                if offset is not None:
                    self.active_at(timestamp + offset)
                    counted = True
        if not counted:
            self.active_at(timestamp)
        if source == SOURCE_MOUSE_INTERACTION and as_int(data.get("type")) == MOUSE_CLICK:
            x, y = _coordinate(data.get("x")), _coordinate(data.get("y"))
            click_id = _event_id(self.session_id, timestamp, x, y)
            self.click_ids[click_id] = None
            if x is not None and y is not None:
                self.clicks.append((timestamp, Click("", x, y, 0, 0, False), click_id))

    def add_page(self, url: object) -> bool:
        if type(url) is not str:
            return False
        self.pages[mask_url_path(url)] = None
        return True

    def rage_click_ids(self, rule: RageRule) -> list[int]:
        clicks = sorted(self.clicks, key=lambda click: click[0])
        points = [(timestamp, point) for timestamp, point, _ in clicks]
        rage = (clicks[position][2] for position in rage_click_positions(points, rule))
        return list(dict.fromkeys(rage))


class ReplayStats:
    """The replay_stats stage: `ReplayBatch -> ReplayBatch`, chunks become `stored`."""

    def __init__(
        self,
        rage_click_count: int = 3,
        rage_click_interval_ms: int = 1000,
        rage_click_distance_px: int = 30,
    ) -> None:
        self._rage = RageRule(rage_click_count, rage_click_interval_ms, rage_click_distance_px)

    def __call__(self, batch: ReplayBatch) -> ReplayBatch:
        stored = list(batch.stored)
        rejected = list(batch.rejected)
        for chunk in batch.chunks:
            outcome = self.store(chunk)
            if isinstance(outcome, StoredChunk):
                stored.append(outcome)
            else:
                rejected.append(outcome)
        return ReplayBatch(
            source=batch.source,
            first_offset=batch.first_offset,
            last_offset=batch.last_offset,
            chunks_in=batch.chunks_in,
            chunks=[],
            stored=stored,
            rejected=rejected,
        )

    def store(self, chunk: ReplayChunk) -> StoredChunk | Rejected:
        """The chunk's blob and row, or why it cannot be stored."""
        try:
            return self._store(chunk)
        except orjson.JSONEncodeError as exc:
            return _rejected(chunk, Reason(UNENCODABLE, str(exc)[:200]))
        except Exception as exc:  # a safety net: whatever the shape, the worker goes on
            return _rejected(chunk, Reason(STATS_FAILED, f"{type(exc).__name__}: {exc}"[:200]))

    def _store(self, chunk: ReplayChunk) -> StoredChunk | Rejected:
        summary = _Summary(chunk.session_id, chunk.clock_correction_ms)
        for event in chunk.events:
            summary.add(event)
        if summary.first is None or summary.last is None:
            return _rejected(chunk, Reason(MISSING_FIELD, "events[].timestamp: none in the chunk"))
        blob = encode_blob(chunk.chunk_id, chunk.seq, chunk.events)
        name = blob_name(chunk.site_id, chunk.session_id, summary.first, chunk.seq, chunk.chunk_id)
        correction = summary.correction_ms
        row = (
            chunk.site_id,
            chunk.session_id,
            chunk.chunk_id,
            chunk.seq,
            summary.first + correction,
            summary.last + correction,
            len(chunk.events),
            len(blob),
            name,
            sorted(summary.active),
            list(summary.click_ids),
            summary.rage_click_ids(self._rage),
            list(summary.error_ids),
            list(summary.pages),
            chunk.device_type,
            chunk.country_code,
            chunk.received_at,
        )
        return StoredChunk(name, blob, row)


def _rejected(chunk: ReplayChunk, reason: Reason) -> Rejected:
    return Rejected(
        STAGE_REPLAY_STORE,
        [reason],
        chunk.payload(),
        chunk.offset,
        received_at=chunk.received_at,
        site_id=chunk.site_id,
    )


def replay_chunks_table(stored: Sequence[StoredChunk]) -> pa.Table:
    """The rows of stored chunks as an Arrow table of `REPLAY_CHUNKS_SCHEMA`."""
    if not stored:
        return REPLAY_CHUNKS_SCHEMA.empty_table()
    columns = zip(*(item.row for item in stored), strict=True)
    return pa.Table.from_arrays(
        [
            pa.array(values, type=field.type)
            for values, field in zip(columns, REPLAY_CHUNKS_SCHEMA, strict=True)
        ],
        schema=REPLAY_CHUNKS_SCHEMA,
    )
