"""The Bytewax side of sessions and heatmaps: sharding, the keyed steps, outputs.

anonymized batch ─ shard (by session id, one item per shard per batch)
    ─ sessions (keyed by shard: dedup, sessions, heat counts)
        ├─ deduplicated events ─► events outputs
        ├─ session rows ─► sessions table
        └─ heat counts ─ split by site ─ heatmap_windows (keyed by site) ─► heatmap table
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import bytewax.operators as op
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from bytewax.dataflow import Stream
from bytewax.operators import StatefulBatchLogic

from flows.batcher import Clock
from foundation.metrics import RunTotals
from operators.batching import Chunk, Span
from operators.columnar.batch import ColumnBatch
from operators.columns import SESSIONS_SCHEMA, rows_table
from operators.heatmap import (
    ClosedWindow,
    GridConfig,
    HeatmapWindows,
    WindowState,
    heatmap_tables,
)
from operators.sessionize import SessionConfig, SessionShard, ShardOutput, ShardState

KIND_EVENTS = "events"
KIND_SESSIONS = "sessions"
KIND_HEAT = "heat"
ShardItem = tuple[Span, pa.Table]  # an ANONYMIZED_SCHEMA table
ShardResult = tuple[str, Span, object]


@dataclass(frozen=True)
class SessionsSpec:
    sessions: SessionConfig
    grid: GridConfig
    shards: int = 16
    keep_snapshots: bool = False  # only a run with recovery needs the state snapshots

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= 4096:
            raise ValueError("session_shards must be between 1 and 4096")


def shard_of(session_id: str, shards: int) -> int:
    # xxhash, not hash(): every worker process must agree on the shard.
    return xxhash.xxh32_intdigest(session_id) % shards


def split_by_shard(batch: ColumnBatch, shards: int) -> list[tuple[str, ShardItem]]:
    """The batch's rows per shard, the shard computed once per distinct session id."""
    table = batch.table
    if table.num_rows == 0:
        return []
    encoded = pc.dictionary_encode(table["session_id"]).combine_chunks()
    of_session = np.array(
        [shard_of(sid, shards) for sid in encoded.dictionary.to_pylist()], dtype=np.int64
    )
    row_shards = of_session[np.asarray(encoded.indices, dtype=np.int64)]
    items = []
    for shard in np.unique(row_shards).tolist():
        # A copy per shard, not a slice: pickling a slice (to another worker, into a
        # snapshot) writes the whole buffers it points into.
        rows = table if shards == 1 else table.take(np.flatnonzero(row_shards == shard))
        span = Span(f"{batch.source}.s{shard:03d}", batch.first_offset, batch.last_offset)
        items.append((f"s{shard:03d}", (span, rows)))
    return items


class _ShardLogic(StatefulBatchLogic[ShardItem, ShardResult, bytes | None]):
    def __init__(
        self, spec: SessionsSpec, clock: Clock, totals: RunTotals, state: ShardState | None
    ) -> None:
        self.shard = SessionShard(spec.sessions, spec.grid, state)
        self.spec = spec
        self.clock = clock
        self.totals = totals
        self.live_every = timedelta(milliseconds=spec.sessions.live_update_ms)
        self.next_live: datetime | None = None
        self.span: Span | None = None

    def _results(self, out: ShardOutput, span: Span | None) -> list[ShardResult]:
        span = span or self.span or Span("shard", 0, 0)
        results: list[ShardResult] = []
        if out.events.num_rows:
            results.append((KIND_EVENTS, span, out.events))
        if out.session_rows:
            results.append((KIND_SESSIONS, span, out.session_rows))
        heat = out.heat
        if heat.num_rows:
            results.append((KIND_HEAT, span, heat))
        if out.duplicates:
            self.totals.add_duplicates(out.duplicates)
        return results

    def on_batch(self, values: list[ShardItem]) -> tuple[Iterable[ShardResult], bool]:
        results: list[ShardResult] = []
        for span, events in values:
            self.span = span
            results += self._results(self.shard.process(events), span)
        if self.next_live is None:
            self.next_live = self.clock() + self.live_every
        return results, StatefulBatchLogic.RETAIN

    def on_notify(self) -> tuple[Iterable[ShardResult], bool]:
        self.next_live = None
        return self._results(self.shard.live_rows(), None), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[ShardResult], bool]:
        self.next_live = None
        return self._results(self.shard.flush(), None), StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        return self.next_live if self.shard.open_sessions else None

    def snapshot(self) -> bytes | None:
        # Pickled at once, so later changes cannot leak into the snapshot.
        return pickle.dumps(self.shard.state) if self.spec.keep_snapshots else None


WrittenWindow = tuple[ClosedWindow, pa.Table]  # a closed window and its table rows


class _WindowLogic(StatefulBatchLogic[pa.Table, WrittenWindow, bytes | None]):
    def __init__(self, spec: SessionsSpec, clock: Clock, state: WindowState | None) -> None:
        self.windows = HeatmapWindows(spec.grid, state)
        self.spec = spec
        self.clock = clock

    def _written(self, closed: list[ClosedWindow]) -> list[WrittenWindow]:
        # The windows closed together are summed together.
        tables = heatmap_tables([window.counts for window in closed], self.clock())
        return list(zip(closed, tables, strict=True))

    def on_batch(self, values: list[pa.Table]) -> tuple[Iterable[WrittenWindow], bool]:
        closed: list[ClosedWindow] = []
        for counts in values:
            closed += self.windows.add(counts)
        return self._written(closed), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[WrittenWindow], bool]:
        return self._written(self.windows.flush()), StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes | None:
        return pickle.dumps(self.windows.state) if self.spec.keep_snapshots else None


def content_span(kind: str, content: object) -> Span:
    """A span naming output by what it holds: its insert deduplication token
    repeats only when exactly the same rows are written again."""
    digest = xxhash.xxh64_hexdigest(orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS))
    return Span(f"{kind}-{digest}", 0, 0)


def _load(resume: bytes | None) -> object | None:
    return pickle.loads(resume) if resume else None


def split_heat_by_site(counts: pa.Table) -> list[tuple[str, pa.Table]]:
    """A heat count table's rows per site (the heatmap windows are keyed by site)."""
    sites = pc.unique(counts["site_id"]).to_pylist()
    if len(sites) == 1:
        return [(sites[0], counts)]
    return [(site, counts.filter(pc.equal(counts["site_id"], site))) for site in sites]


@dataclass
class SessionStreams:
    events: Stream[Chunk]
    sessions: Stream[Chunk]
    heatmaps: Stream[Chunk]


def attach_sessions(
    anonymized: Stream[ColumnBatch], spec: SessionsSpec, clock: Clock, totals: RunTotals
) -> SessionStreams:
    shards = op.flat_map("shard", anonymized, lambda batch: split_by_shard(batch, spec.shards))

    def build_shard(resume: bytes | None) -> _ShardLogic:
        state = _load(resume)
        return _ShardLogic(spec, clock, totals, state if isinstance(state, ShardState) else None)

    results = op.key_rm("unshard", op.stateful_batch("sessions", shards, build_shard))

    def as_events(result: ShardResult) -> Chunk | None:
        kind, span, payload = result
        return Chunk((span,), payload) if kind == KIND_EVENTS else None

    def as_sessions(result: ShardResult) -> Chunk | None:
        kind, _span, payload = result
        if kind != KIND_SESSIONS or not isinstance(payload, list):
            return None
        return Chunk((content_span("sessions", payload),), rows_table(payload, SESSIONS_SCHEMA))

    def as_heat(result: ShardResult) -> list[tuple[str, pa.Table]]:
        kind, _span, payload = result
        return split_heat_by_site(payload) if kind == KIND_HEAT else []

    events = op.filter_map("deduplicated_events", results, as_events)
    sessions = op.filter_map("session_rows", results, as_sessions)
    heat = op.flat_map("heat_by_site", results, as_heat)

    def build_windows(resume: bytes | None) -> _WindowLogic:
        state = _load(resume)
        return _WindowLogic(spec, clock, state if isinstance(state, WindowState) else None)

    closed = op.stateful_batch("heatmap_windows", heat, build_windows)

    def heat_rows(item: tuple[str, WrittenWindow]) -> Chunk | None:
        site, (window, table) = item
        if table.num_rows == 0:
            return None
        # Named by site, window and sequence: a replay after a crash writes the
        # same window under the same name, and the insert is deduplicated.
        name = f"heat-{xxhash.xxh64_hexdigest(site)}-{window.start}-{window.sequence}"
        return Chunk((Span(name, 0, 0),), table)

    heatmaps = op.filter_map("heatmap_rows", closed, heat_rows)
    return SessionStreams(events=events, sessions=sessions, heatmaps=heatmaps)
