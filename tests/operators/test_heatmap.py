from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from operators.heatmap import (
    DAY_MS,
    ClosedWindow,
    GridConfig,
    HeatCounts,
    HeatmapWindows,
    cell_key,
    grid_x,
    grid_y,
    heat_counter,
    heatmap_table,
)

MIN = 60_000
T0 = 20_000 * DAY_MS  # a UTC midnight


@pytest.mark.parametrize(
    ("x", "vw", "expected"),
    [
        (0, 1000, 0),
        (9.99, 1000, 0),
        (10, 1000, 1),
        (999, 1000, 99),
        (1000, 1000, 99),
        (5000, 1000, 99),
        (719, 1440, 49),
        (720, 1440, 50),
    ],
)
def test_grid_x_is_the_percent_of_the_viewport_width(x: float, vw: int, expected: int) -> None:
    assert grid_x(x, vw) == expected


@pytest.mark.parametrize(
    ("y", "height", "row"),
    [(0, 16, 0), (15.9, 16, 0), (16, 16, 1), (1000, 16, 62), (1000, 10, 100)],
)
def test_grid_y_is_the_row_of_cell_height(y: float, height: int, row: int) -> None:
    assert grid_y(y, height) == row


SESSION = "00000000-0000-4000-8000-000000000001"


def counts(ts: int, n: int = 1, site: str = "s", session: str = SESSION) -> HeatCounts:
    return Counter({cell_key(site, "/", "desktop", ts, "click", 1, 2, MIN, session): n})


def total_count(window: ClosedWindow) -> int:
    return sum(heat_counter(window.counts).values())


def test_windows_close_after_their_end_plus_lateness() -> None:
    windows = HeatmapWindows(GridConfig(window_ms=MIN, allowed_lateness_ms=MIN))
    assert windows.add(counts(T0 + 1000)) == []
    assert windows.add(counts(T0 + MIN + 1000)) == []  # window 0 ends at 1 min, + 1 min late
    (closed,) = windows.add(counts(T0 + 2 * MIN + 1000))
    assert (closed.start, closed.sequence, total_count(closed)) == (T0, 0, 1)
    # A late event for the written window: one more partial row, a new sequence,
    # written at once since its window has passed.
    (late,) = windows.add(counts(T0 + 5000, 2))
    assert (late.start, late.sequence, total_count(late)) == (T0, 1, 2)
    later = windows.add(counts(T0 + 10 * MIN))
    rest = windows.flush()
    total = sum(total_count(w) for w in [closed, late, *later, *rest])
    assert total == 1 + 1 + 1 + 2 + 1
    assert windows.open_windows == 0


@given(st.lists(st.tuples(st.integers(0, 30 * MIN), st.integers(1, 5)), max_size=60))
def test_every_count_is_written_exactly_once(points: list[tuple[int, int]]) -> None:
    windows = HeatmapWindows(GridConfig(window_ms=MIN, allowed_lateness_ms=2 * MIN))
    written: Counter[tuple[int, int]] = Counter()
    for ts, n in points:
        for window in windows.add(counts(T0 + ts, n)):
            written[(window.start, window.sequence)] += 1
            assert written[(window.start, window.sequence)] == 1  # names never repeat
    windows.flush()
    assert windows.open_windows == 0


def test_heatmap_table_sums_over_windows_and_dates() -> None:
    heat = counts(T0 + 1000, 2) + counts(T0 + 3 * MIN, 3) + counts(T0 - 1000, 1)
    table = heatmap_table(heat, datetime(2026, 1, 1, tzinfo=UTC))
    rows = table.to_pylist()
    assert [(r["date_bucket"], r["interaction_count"]) for r in rows] == [
        (date(2024, 10, 3), 1),
        (date(2024, 10, 4), 5),
    ]
    assert rows[0]["grid_x"] == 1 and rows[0]["grid_y"] == 2
    assert heatmap_table(Counter(), datetime(2026, 1, 1, tzinfo=UTC)).num_rows == 0


def test_heatmap_table_carries_each_cells_distinct_sessions() -> None:
    other = "00000000-0000-4000-8000-000000000002"
    heat = (
        counts(T0 + 1000, 2)
        + counts(T0 + 3 * MIN, 3, session=other)
        + counts(T0 + 4 * MIN, 1)  # the same session again, in another window
    )
    (row,) = heatmap_table(heat, datetime(2026, 1, 1, tzinfo=UTC)).to_pylist()
    assert row["interaction_count"] == 6
    assert row["session_ids"] == [SESSION, other]


def summed_by_cell(heat: HeatCounts) -> list[tuple[tuple[object, ...], int, list[str]]]:
    """What the table must hold, computed row by row: per cell (sorted) the count and
    the sorted distinct sessions."""
    counts: Counter[tuple[object, ...]] = Counter()
    sessions: dict[tuple[object, ...], set[str]] = {}
    for key, count in heat.items():
        counts[key[:7]] += count
        sessions.setdefault(key[:7], set()).add(key[8])
    return [(cell, counts[cell], sorted(sessions[cell])) for cell in sorted(counts)]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a.example", "b.example", "é.example"]),
            st.sampled_from(["/", "/p", "/p/é", "/Z"]),
            st.sampled_from(["desktop", "mobile"]),
            st.integers(0, 3 * DAY_MS),
            st.sampled_from(["click", "move", "scroll", "rage_click_fixed"]),
            st.integers(0, 99),
            st.integers(0, 65_535),
            st.sampled_from([SESSION, "00000000-0000-4000-8000-000000000002", "ffff"]),
            st.integers(1, 4),
        ),
        max_size=80,
    )
)
def test_heatmap_table_groups_like_the_row_by_row_sum(rows: list[tuple[object, ...]]) -> None:
    heat: HeatCounts = Counter()
    for site, path, device, ts, kind, gx, gy, session, n in rows:
        heat[cell_key(site, path, device, ts, kind, gx, gy, MIN, session)] += n  # type: ignore[arg-type]
    table = heatmap_table(heat, datetime(2026, 1, 1, tzinfo=UTC))
    got = [
        (
            (
                r["site_id"],
                r["url_path"],
                r["device_type"],
                (r["date_bucket"] - date(1970, 1, 1)).days,
                r["interaction_type"],
                r["grid_x"],
                r["grid_y"],
            ),
            r["interaction_count"],
            r["session_ids"],
        )
        for r in table.to_pylist()
    ]
    assert got == summed_by_cell(heat)
