"""Heatmap grids: cells of points, and tumbling event-time windows of counts.

Grid: `grid_x = min(99, floor(100 * x / vw))` (percent of the viewport width)
and `grid_y = floor(y / cell_height)` (16 px rows by default). Points on fixed
or sticky elements are in viewport coordinates and get their own interaction
types (`click_fixed`, `move_fixed`, `rage_click_fixed`), never mixed with
document points.

Counts are pre-aggregated per batch (`HeatCounts`), so what crosses between
workers is one small dict per batch, never one item per event. The window
step sums them over tumbling event-time windows (60 s by default) so that the
SummingMergeTree table gets few rows; a late increment for a window already
written just becomes one more partial row, which the table sums.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

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


def heatmap_table(counts: HeatCounts, now: datetime) -> pa.Table:
    """`heatmap_aggregates` rows, summed over windows and sessions (neither is a
    column), each with the sorted ids of the sessions behind it.

    Built column by column: a page's mouse moves make close to one row per
    event, so this runs almost as often as the events themselves.
    """
    summed: dict[tuple[str, str, str, int, str, int, int], int] = {}
    sessions: dict[tuple[str, str, str, int, str, int, int], set[str]] = {}
    for key, count in counts.items():
        cell = key[:7]
        summed[cell] = summed.get(cell, 0) + count
        if len(key) > 8:
            sessions.setdefault(cell, set()).add(key[8])
    cells = sorted(summed)
    if not cells:
        return HEATMAP_INSERT_SCHEMA.empty_table()
    sites, paths, devices, days, kinds, xs, ys = zip(*cells, strict=True)
    columns = {
        "site_id": pa.array(sites, pa.string()),
        "url_path": pa.array(paths, pa.string()),
        "device_type": pa.array(devices, pa.string()),
        # date32 is days since the epoch: the key's day as it is.
        "date_bucket": pa.array(days, pa.int32()).cast(pa.date32()),
        "interaction_type": pa.array(kinds, pa.string()),
        "grid_x": pa.array(xs, pa.uint16()),
        "grid_y": pa.array(ys, pa.uint16()),
        "interaction_count": pa.array([summed[cell] for cell in cells], pa.uint64()),
        "last_updated": pa.array([int(now.timestamp())] * len(cells), pa.int64()).cast(
            HEATMAP_SCHEMA.field("last_updated").type
        ),
        "session_ids": pa.array(
            [sorted(sessions.get(cell, ())) for cell in cells], pa.list_(pa.string())
        ),
    }
    return pa.Table.from_arrays(
        [columns[name] for name in HEATMAP_INSERT_SCHEMA.names], schema=HEATMAP_INSERT_SCHEMA
    )


# How long the number of times a window was written is remembered: past the
# oldest event the validator accepts (3 days), with a margin.
EMITTED_MEMORY_MS = 4 * DAY_MS


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """The counts of one window, written once; `sequence` > 0 for the late
    partial rows of a window already written."""

    start: int
    sequence: int
    counts: HeatCounts


@dataclass
class WindowState:
    open: dict[int, HeatCounts] = field(default_factory=dict)
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

    def add(self, counts: HeatCounts) -> list[ClosedWindow]:
        """Add increments; return the windows that closed."""
        window_ms = self.config.window_ms
        open_windows = self.state.open
        max_ts = self.state.max_ts
        for key, count in counts.items():
            start = key[7]
            window = open_windows.get(start)
            if window is None:
                window = open_windows[start] = Counter()
            window[key] += count
            if start + window_ms - 1 > max_ts:
                max_ts = start + window_ms - 1
        self.state.max_ts = max_ts
        return self._close(max_ts - self.config.allowed_lateness_ms)

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
        return ClosedWindow(start, sequence, self.state.open.pop(start))

    def flush(self) -> list[ClosedWindow]:
        """Every window still open (end of input)."""
        return [self._emit(start) for start in sorted(self.state.open)]

    @property
    def open_windows(self) -> int:
        return len(self.state.open)
