"""Heatmap grids: cells of points, and tumbling event-time windows of counts.

Grid: `grid_x = min(99, floor(100 * x / vw))` (percent of the viewport width)
and `grid_y = floor(y / cell_height)` (16 px rows by default). Points on fixed
or sticky elements are in viewport coordinates and get their own interaction
types (`click_fixed`, `move_fixed`, `rage_click_fixed`), never mixed with
document points.

Counts are pre-aggregated per batch into an Arrow table of cells and counts
(`HEAT_COUNTS_SCHEMA`, grouped on columns), so what crosses between workers is
one small table per batch, never one item per event. The window step sums them
over tumbling event-time windows (60 s by default) so that the SummingMergeTree
table gets few rows; a late increment for a window already written just becomes
one more partial row, which the table sums. `HeatCounts` (a Counter of cell keys)
is the same data row by row, for the few cells a closing session adds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from foundation.units import DAY_MS
from operators.columns import HEATMAP_SCHEMA

# What the heatmap step inserts: the table's columns plus the sessions behind each
# cell, which the table folds into its `sessions` uniqExact state (migration 0003).
HEATMAP_INSERT_SCHEMA = HEATMAP_SCHEMA.append(pa.field("session_ids", pa.list_(pa.string())))

GRID_COLUMNS = 100
MAX_GRID_Y = 65_535

CLICK = "click"
MOVE = "move"
RAGE_CLICK = "rage_click"
SCROLL = "scroll"
FIXED_SUFFIX = "_fixed"
INTERACTION_TYPES = (
    CLICK,
    MOVE,
    RAGE_CLICK,
    SCROLL,
    *(kind + FIXED_SUFFIX for kind in (CLICK, MOVE, RAGE_CLICK)),
)

# (site_id, url_path, device_type, day (days since epoch), interaction_type,
#  grid_x, grid_y, window_start_ms, session_id)
# The session id is part of the key so that each written cell carries the set of
# sessions behind it: the minimum crowd (k-anonymity) is counted in distinct
# sessions, exactly and idempotently (a set written twice is the same set).
CellKey = tuple[str, str, str, int, str, int, int, int, str]
HeatCounts = Counter[CellKey]
CELL_KEY_COLUMNS = (
    "site_id",
    "url_path",
    "device_type",
    "day",
    "interaction_type",
    "grid_x",
    "grid_y",
    "window_start",
    "session_id",
)
HEAT_COUNTS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("url_path", pa.string()),
        ("device_type", pa.string()),
        ("day", pa.int32()),
        ("interaction_type", pa.string()),
        ("grid_x", pa.uint16()),
        ("grid_y", pa.uint16()),
        ("window_start", pa.int64()),
        ("session_id", pa.string()),
        ("count", pa.uint64()),
    ]
)
_CELL_COLUMNS = list(CELL_KEY_COLUMNS[:7])


def heat_counts_table(counts: HeatCounts) -> pa.Table:
    """Counted cell keys as a HEAT_COUNTS_SCHEMA table."""
    if not counts:
        return HEAT_COUNTS_SCHEMA.empty_table()
    columns = list(zip(*counts.keys(), strict=True))
    columns.append(tuple(counts.values()))
    return pa.Table.from_arrays(
        [
            pa.array(values, field.type)
            for values, field in zip(columns, HEAT_COUNTS_SCHEMA, strict=True)
        ],
        schema=HEAT_COUNTS_SCHEMA,
    )


def heat_counter(table: pa.Table) -> HeatCounts:
    """A HEAT_COUNTS_SCHEMA table as a Counter of cell keys (summing repeated keys)."""
    counts: HeatCounts = Counter()
    keys = zip(*(table[name].to_pylist() for name in CELL_KEY_COLUMNS), strict=True)
    for key, count in zip(keys, table["count"].to_pylist(), strict=True):
        counts[key] += count
    return counts


@dataclass(frozen=True)
class GridConfig:
    cell_height_px: int = 16
    window_ms: int = 60_000
    allowed_lateness_ms: int = 300_000

    def __post_init__(self) -> None:
        if self.cell_height_px < 1:
            raise ValueError("heatmap_cell_height_px must be at least 1")
        if self.window_ms < 1000:
            raise ValueError("heatmap_window_seconds must be at least 1")
        if self.allowed_lateness_ms < 0:
            raise ValueError("allowed lateness must not be negative")


def grid_x(x: float, vw: int) -> int:
    return min(GRID_COLUMNS - 1, int(GRID_COLUMNS * x // vw)) if vw > 0 else 0


def grid_y(y: float, cell_height_px: int) -> int:
    return min(MAX_GRID_Y, int(y // cell_height_px))


def cell_key(
    site: str,
    path: str,
    device: str,
    ts: int,
    interaction: str,
    gx: int,
    gy: int,
    window_ms: int,
    session_id: str,
) -> CellKey:
    return (site, path, device, ts // DAY_MS, interaction, gx, gy, ts - ts % window_ms, session_id)


def _ranks(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Each value's rank among the column's distinct values (sorted), as int64."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type):
        return np.asarray(column, dtype=np.int64)
    encoded = pc.dictionary_encode(column)
    order = np.asarray(pc.array_sort_indices(encoded.dictionary), dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[np.asarray(encoded.indices, dtype=np.int64)]


def heatmap_table(counts: pa.Table | HeatCounts, now: datetime) -> pa.Table:
    """`heatmap_aggregates` rows, summed over windows and sessions (neither is a
    column), sorted by cell, each with the sorted ids of the sessions behind it."""
    table = counts if isinstance(counts, pa.Table) else heat_counts_table(counts)
    return heatmap_tables([table], now)[0]


def heatmap_tables(parts: list[pa.Table], now: datetime) -> list[pa.Table]:
    """``heatmap_table`` of each of several heat count tables, grouped together: one
    numpy sort for all of them (a window holds a few hundred rows, and several windows
    close at once, so per-call costs would dominate)."""
    sizes = [part.num_rows for part in parts]
    if not any(sizes):
        return [HEATMAP_INSERT_SCHEMA.empty_table() for _ in parts]
    table = pa.concat_tables([part.select(HEAT_COUNTS_SCHEMA.names) for part in parts])
    part_of = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
    ranks = [part_of] + [_ranks(table[name]) for name in (*_CELL_COLUMNS, "session_id")]
    order = np.lexsort(ranks[::-1])  # the part, the cell's columns, then the session
    cell_ranks = np.stack([rank[order] for rank in ranks[:-1]])
    new_cell = np.ones(len(order), dtype=bool)
    new_cell[1:] = (cell_ranks[:, 1:] != cell_ranks[:, :-1]).any(axis=0)
    sessions = ranks[-1][order]
    new_session = new_cell.copy()
    new_session[1:] |= sessions[1:] != sessions[:-1]
    starts = np.flatnonzero(new_cell)
    sums = np.add.reduceat(np.asarray(table["count"], dtype=np.uint64)[order], starts)
    # The distinct sessions of each cell: the first row of each (cell, session) run.
    per_cell = np.add.reduceat(new_session.astype(np.int64), starts)
    offsets = np.concatenate([[0], np.cumsum(per_cell)]).astype(np.int32)
    cells = table.take(pa.array(order[starts]))
    columns = {
        "site_id": cells["site_id"],
        "url_path": cells["url_path"],
        "device_type": cells["device_type"],
        # date32 is days since the epoch: the key's day as it is.
        "date_bucket": cells["day"].cast(pa.int32()).cast(pa.date32()),
        "interaction_type": cells["interaction_type"],
        "grid_x": cells["grid_x"],
        "grid_y": cells["grid_y"],
        "interaction_count": pa.array(sums, pa.uint64()),
        "last_updated": pa.array([int(now.timestamp())] * len(starts), pa.int64()).cast(
            HEATMAP_SCHEMA.field("last_updated").type
        ),
        "session_ids": pa.ListArray.from_arrays(
            pa.array(offsets),
            table["session_id"].take(pa.array(order[new_session])).combine_chunks(),
        ),
    }
    rows = pa.Table.from_arrays(
        [columns[name] for name in HEATMAP_INSERT_SCHEMA.names], schema=HEATMAP_INSERT_SCHEMA
    )
    if len(parts) == 1:
        return [rows]
    # Rows are in part order; each part's rows are copied out (a slice would be
    # pickled with the buffers of every part, on its way to the sink's worker).
    bounds = np.searchsorted(part_of[order[starts]], np.arange(len(parts) + 1)).tolist()
    return [rows.take(pa.array(np.arange(bounds[i], bounds[i + 1]))) for i in range(len(parts))]


# How long the number of times a window was written is remembered: past the
# oldest event the validator accepts (3 days), with a margin.
EMITTED_MEMORY_MS = 4 * DAY_MS


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """The counts of one window (a HEAT_COUNTS_SCHEMA table), written once;
    `sequence` > 0 for the late partial rows of a window already written."""

    start: int
    sequence: int
    counts: pa.Table


@dataclass
class WindowState:
    # window start -> the heat count tables added to it
    open: dict[int, list[pa.Table]] = field(default_factory=dict)
    emitted: dict[int, int] = field(default_factory=dict)
    max_ts: int = -1


class HeatmapWindows:
    """Sums increments per tumbling event-time window; a window is written once
    the largest event time seen passes its end plus the allowed lateness.

    Each written window is named by (start, sequence), so that a replay after a
    crash writes the same window under the same name, and the sink's insert
    deduplication drops the repeat instead of counting it twice.
    """

    def __init__(self, config: GridConfig, state: WindowState | None = None) -> None:
        self.config = config
        self.state = state or WindowState()

    def add(self, counts: pa.Table | HeatCounts) -> list[ClosedWindow]:
        """Add increments; return the windows that closed."""
        table = counts if isinstance(counts, pa.Table) else heat_counts_table(counts)
        window_ms = self.config.window_ms
        open_windows = self.state.open
        if table.num_rows:
            starts = np.asarray(table["window_start"], dtype=np.int64)
            distinct = np.unique(starts)
            for start in distinct.tolist():
                part = table if len(distinct) == 1 else table.filter(starts == start)
                open_windows.setdefault(start, []).append(part)
            self.state.max_ts = max(self.state.max_ts, int(distinct[-1]) + window_ms - 1)
        return self._close(self.state.max_ts - self.config.allowed_lateness_ms)

    def _close(self, watermark: int) -> list[ClosedWindow]:
        window_ms = self.config.window_ms
        ready = [start for start in self.state.open if start + window_ms <= watermark]
        return [self._emit(start) for start in sorted(ready)]

    def _emit(self, start: int) -> ClosedWindow:
        emitted = self.state.emitted
        sequence = emitted.get(start, 0)
        emitted[start] = sequence + 1
        if len(emitted) > 4 * len(self.state.open) + 1024:
            horizon = self.state.max_ts - EMITTED_MEMORY_MS
            for old in [s for s in emitted if s < horizon]:
                del emitted[old]
        return ClosedWindow(start, sequence, pa.concat_tables(self.state.open.pop(start)))

    def flush(self) -> list[ClosedWindow]:
        """Every window still open (end of input)."""
        return [self._emit(start) for start in sorted(self.state.open)]

    @property
    def open_windows(self) -> int:
        return len(self.state.open)
