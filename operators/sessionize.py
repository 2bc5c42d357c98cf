"""Sessions, deduplication and heatmap counts for one shard of session ids.

Events are routed to a fixed number of shards by session id, a batch's
events for one shard travelling together. A shard keeps one `SessionState`
per open session id and expires it itself:

- event time only: a session id closes once the shard's watermark (the
  largest event time it has seen, minus the allowed lateness) passes its last
  event plus the inactivity gap (30 min), or its first event plus the length
  cap (24 h) plus the gap. Closing computes the final rows from the events
  sorted by time, so arrival order does not matter.
- an event id already seen for an open session, or within the retention after
  its session closed, is a duplicate and is dropped (counted once).
- an event that arrives after its session id closed (or so late that its
  session would have closed) starts a new session, whose id is derived from
  the original id and its start (see `derived_session_id`), so a rerun gives
  the same ids.

Outputs: the deduplicated events; session rows (live ones while a session
grows, at most every `live_update_ms` of processing time, and the final one
with a higher version); heatmap counts: clicks and moves at once, rage clicks
and scroll depth when the session closes.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import xxhash

from foundation.units import MINUTE_MS
from operators.columns import ANONYMIZED_SCHEMA, anonymized_table, without_rows
from operators.heatmap import (
    FIXED_SUFFIX,
    HEAT_COUNTS_SCHEMA,
    RAGE_CLICK,
    SCROLL,
    GridConfig,
    HeatCounts,
    cell_key,
    grid_x,
    grid_y,
    heat_counts_table,
)
from operators.model import AnonymizedEvent
from operators.session_state import (
    KIND_CLICK,
    KIND_CODES,
    KIND_CUSTOM,
    KIND_MOVE,
    KIND_PAGEVIEW,
    KIND_SCROLL,
    Click,
    PageView,
    RageRule,
    Scroll,
    SessionState,
    derived_session_id,
    holds_id,
    split_segments,
    summarize_segment,
)
from operators.shard_columns import (
    SHARD_COLUMNS,
    click_columns,
    page_bottoms,
    pointer_heat,
    shard_values,
)

FINAL_VERSION = 1 << 40  # final rows outrank every live row of the same session


@dataclass(frozen=True)
class SessionConfig:
    """Settings of the session stage (all durations in event-time milliseconds,
    but `live_update_ms`, which is processing time)."""

    inactivity_gap_ms: int = 30 * MINUTE_MS
    max_length_ms: int = 24 * 60 * MINUTE_MS
    allowed_lateness_ms: int = 5 * MINUTE_MS
    dedup_retention_ms: int = 60 * MINUTE_MS
    live_update_ms: int = 5_000
    rage: RageRule = field(default_factory=RageRule)

    def __post_init__(self) -> None:
        for name in ("inactivity_gap_ms", "max_length_ms", "live_update_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.allowed_lateness_ms < 0 or self.dedup_retention_ms < 0:
            raise ValueError("allowed lateness and dedup retention must not be negative")
        if self.max_length_ms < self.inactivity_gap_ms:
            raise ValueError("the session length cap must not be shorter than the gap")


@dataclass(slots=True)
class Tombstone:
    """What is remembered of a closed session id: its event ids, for a while."""

    ids: array[int] | set[int]
    expires_bucket: int


@dataclass
class ShardState:
    open: dict[str, SessionState] = field(default_factory=dict)
    closed: dict[str, Tombstone] = field(default_factory=dict)
    # deadline minute → session ids that may close then (lazy: rechecked on close)
    deadlines: dict[int, set[str]] = field(default_factory=dict)
    expiries: dict[int, set[str]] = field(default_factory=dict)
    max_ts: int = -(2**62)
    duplicates: int = 0


@dataclass
class ShardOutput:
    # The events kept (duplicates dropped), an ANONYMIZED_SCHEMA table.
    events: pa.Table = field(default_factory=ANONYMIZED_SCHEMA.empty_table)
    session_rows: list[dict[str, Any]] = field(default_factory=list)
    # Heat counts: tables of clicks and moves, and the cells closing sessions add.
    heat_parts: list[pa.Table] = field(default_factory=list)
    closing_heat: HeatCounts = field(default_factory=Counter)
    duplicates: int = 0
    closed_sessions: int = 0

    @property
    def heat(self) -> pa.Table:
        """Every heat count of this output, a HEAT_COUNTS_SCHEMA table."""
        parts = [part for part in self.heat_parts if part.num_rows]
        if self.closing_heat:
            parts.append(heat_counts_table(self.closing_heat))
        if not parts:
            return HEAT_COUNTS_SCHEMA.empty_table()
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)


class SessionShard:
    """Sessionization, deduplication and heatmap counting for one shard."""

    def __init__(
        self, config: SessionConfig, grid: GridConfig, state: ShardState | None = None
    ) -> None:
        self.config = config
        self.grid = grid
        self.state = state or ShardState()

    # --- input ---------------------------------------------------------------

    def process(self, events: pa.Table | list[AnonymizedEvent]) -> ShardOutput:
        """Take a batch of anonymized events (a table, or the per-row stages' tuples)."""
        table = events if isinstance(events, pa.Table) else anonymized_table(events)
        out = ShardOutput()
        state = self.state
        open_sessions = state.open
        dropped: list[int] = []
        # Kept clicks and moves, and the site of their session: counted on columns.
        pointer_rows: list[int] = []
        pointer_sites: list[str] = []
        cell_h = self.grid.cell_height_px
        gap = self.config.inactivity_gap_ms
        id_hash = xxhash.xxh64_intdigest
        columns = [shard_values(table, name) for name in SHARD_COLUMNS]
        # Read per click only: (x, y, viewport width, fixed); per view or scroll, the
        # page's bottom edge in px, worked out on the columns.
        xs, ys, widths, fixed_points = click_columns(table)
        bottoms = page_bottoms(table)
        rows = zip(*columns, bottoms, strict=True)
        for index, (
            sid,
            event_id,
            site_id,
            ts,
            event_type,
            url_path,
            device_type,
            country_code,
            bottom,
        ) in enumerate(rows):
            key = id_hash(event_id)  # xxh64 of the event id
            session = open_sessions.get(sid)
            if session is None:
                tombstone = state.closed.get(sid)
                if tombstone is not None and holds_id(tombstone.ids, key):
                    out.duplicates += 1
                    dropped.append(index)
                    continue
                session = self._open(sid, site_id, ts)
            elif session.has_seen(key):
                out.duplicates += 1
                dropped.append(index)
                continue
            kind = KIND_CODES.get(event_type, KIND_CUSTOM)
            detail: PageView | Click | Scroll | None = None
            if kind in (KIND_CLICK, KIND_MOVE):
                pointer_rows.append(index)
                pointer_sites.append(session.site_id)
                if kind == KIND_CLICK:
                    x, y = float(xs[index]), float(ys[index])
                    gx, gy = grid_x(x, int(widths[index])), grid_y(y, cell_h)
                    detail = Click(url_path, x, y, gx, gy, bool(fixed_points[index]))
            elif kind == KIND_PAGEVIEW:
                detail = PageView(url_path, bottom)
            elif kind == KIND_SCROLL:
                detail = Scroll(bottom)
            session.add(ts, key, kind, device_type, country_code, detail)
            if session.deadline_bucket != (session.max_ts + gap) // MINUTE_MS:
                self._schedule(sid, session)
            if ts > state.max_ts:
                state.max_ts = ts
        out.events = without_rows(table, dropped)
        out.heat_parts.append(pointer_heat(table, pointer_rows, pointer_sites, self.grid))
        state.duplicates += out.duplicates
        self._close_due(out)
        return out

    def _open(self, sid: str, site_id: str, ts: int) -> SessionState:
        state = self.state
        tombstone = state.closed.get(sid)
        session = SessionState(sid, site_id)
        if tombstone is not None:
            # The id's earlier run is closed: keep recognising its events.
            session.derived_only = True
            session.seen = set(tombstone.ids)
        elif ts + self.config.inactivity_gap_ms <= self.watermark:
            # So late that a session holding it would already have closed (its
            # tombstone may have expired): it cannot take the original id.
            session.derived_only = True
        state.open[sid] = session
        return session

    def _deadline(self, session: SessionState) -> int:
        gap = self.config.inactivity_gap_ms
        return min(session.max_ts + gap, session.min_ts + self.config.max_length_ms + gap)

    def _schedule(self, sid: str, session: SessionState) -> None:
        bucket = self._deadline(session) // MINUTE_MS
        if bucket != session.deadline_bucket:
            deadlines = self.state.deadlines
            if session.deadline_bucket in deadlines:
                deadlines[session.deadline_bucket].discard(sid)
            deadlines.setdefault(bucket, set()).add(sid)
            session.deadline_bucket = bucket

    # --- closing -------------------------------------------------------------

    @property
    def watermark(self) -> int:
        return self.state.max_ts - self.config.allowed_lateness_ms

    def _close_due(self, out: ShardOutput) -> None:
        watermark = self.watermark
        limit = watermark // MINUTE_MS
        state = self.state
        for bucket in sorted(b for b in state.deadlines if b <= limit):
            for sid in state.deadlines.pop(bucket):
                session = state.open.get(sid)
                if session is None:
                    continue
                if self._deadline(session) <= watermark:
                    self._close(sid, session, out)
                else:
                    session.deadline_bucket = -1
                    self._schedule(sid, session)
        for bucket in sorted(b for b in state.expiries if b <= limit):
            for sid in state.expiries.pop(bucket):
                tombstone = state.closed.get(sid)
                if tombstone is not None and tombstone.expires_bucket == bucket:
                    del state.closed[sid]

    def _close(self, sid: str, session: SessionState, out: ShardOutput) -> None:
        state = self.state
        del state.open[sid]
        self._emit(session, out, final=True)
        expires = (session.max_ts + self.config.dedup_retention_ms) // MINUTE_MS
        ids = session.seen if session.seen is not None else session.order
        state.closed[sid] = Tombstone(ids, expires)
        state.expiries.setdefault(expires, set()).add(sid)
        out.closed_sessions += 1

    def flush(self) -> ShardOutput:
        """Close every open session (end of input)."""
        out = ShardOutput()
        for sid, session in list(self.state.open.items()):
            self._close(sid, session, out)
        self.state.deadlines.clear()
        return out

    # --- output --------------------------------------------------------------

    def live_rows(self) -> ShardOutput:
        """Current rows of the sessions that changed since their last row."""
        out = ShardOutput()
        for session in self.state.open.values():
            if session.dirty:
                self._emit(session, out, final=False)
        return out

    def _emit(self, session: SessionState, out: ShardOutput, *, final: bool) -> None:
        config = self.config
        segments = split_segments(
            session, session.sorted_indices(), config.inactivity_gap_ms, config.max_length_ms
        )
        if not final and len(segments) > 1:
            # Which segment keeps the original id can still change: write only final rows.
            return
        session.dirty = False
        for number, segment in enumerate(segments):
            start = session.ts[segment[0]]
            if number == 0 and not session.derived_only:
                session_id = session.session_id
            else:
                session_id = derived_session_id(session.session_id, start)
            version = (FINAL_VERSION if final else 0) | len(segment)
            summary = summarize_segment(session, segment, session_id, config.rage, version)
            out.session_rows.append(summary.row)
            if final:
                self._final_heat(session, summary.row, summary, out.closing_heat)

    def _final_heat(
        self, session: SessionState, row: dict[str, Any], summary: Any, heat: HeatCounts
    ) -> None:
        device = row["device_type"]
        site = session.site_id
        sid = session.session_id
        window_ms = self.grid.window_ms
        cell_h = self.grid.cell_height_px
        for ts, click in summary.rage_clicks:
            interaction = RAGE_CLICK + (FIXED_SUFFIX if click.fixed else "")
            heat[
                cell_key(
                    site,
                    click.path,
                    device,
                    ts,
                    interaction,
                    click.grid_x,
                    click.grid_y,
                    window_ms,
                    session.session_id,
                )
            ] += 1
        for view_ts, path, bottom in summary.page_depths:
            if bottom >= 0:
                row_index = min(65_535, bottom // cell_h)
                heat[
                    cell_key(site, path, device, view_ts, SCROLL, 0, row_index, window_ms, sid)
                ] += 1

    @property
    def open_sessions(self) -> int:
        return len(self.state.open)
