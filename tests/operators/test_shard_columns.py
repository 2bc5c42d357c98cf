"""The session shard's column work against the per-row rules it replaces: heat cells
(operators/heatmap.grid_x, grid_y, cell_key) and the pages' bottom edges."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from operators.columns import anonymized_table
from operators.heatmap import (
    FIXED_SUFFIX,
    GridConfig,
    HeatCounts,
    cell_key,
    grid_x,
    grid_y,
    heat_counter,
)
from operators.model import AnonymizedEvent
from operators.shard_columns import page_bottoms, pointer_heat

T0 = 1_764_072_000_000
SESSIONS = ["5b0f8a5e-1a2b-4c3d-8e9f-001122334455", "c1d2e3f4-0000-4000-8000-000000000009"]


def event(
    kind: str,
    ts: int,
    x: float | None,
    y: float | None,
    width: int,
    height: int,
    fixed: bool,
    scroll_y: float | None,
    session: str,
) -> AnonymizedEvent:
    return AnonymizedEvent(
        "0d3c2f4e-0000-4000-8000-000000000001",
        session,
        "shop.example.com",
        ts,
        kind,
        "{}",
        "/p",
        "",
        "desktop",
        width,
        height,
        1,
        2,
        "GB",
        "",
        ts,
        x,
        y,
        scroll_y,
        fixed,
        0,
    )


NUMBERS = st.integers(0, 100_000) | st.floats(0, 100_000, allow_nan=False)
EVENTS = st.builds(
    event,
    st.sampled_from(["click", "move", "pageview", "scroll", "custom"]),
    st.integers(T0 - 3 * 86_400_000, T0),
    NUMBERS | st.none(),
    NUMBERS | st.none(),
    st.integers(0, 20_000),
    st.integers(0, 20_000),
    st.booleans(),
    NUMBERS | st.none(),
    st.sampled_from(SESSIONS),
)


@given(st.lists(EVENTS, max_size=40), st.integers(1, 64), st.sampled_from([1000, 60_000]))
def test_pointer_cells_are_the_per_row_cells(
    events: list[AnonymizedEvent], cell_height: int, window_ms: int
) -> None:
    grid = GridConfig(cell_height_px=cell_height, window_ms=window_ms)
    rows = [i for i, e in enumerate(events) if e.event_type in ("click", "move")]
    sites = [f"site-{i % 3}" for i in rows]
    expected: HeatCounts = Counter()
    for i, site in zip(rows, sites, strict=True):
        e = events[i]
        x, y = e.x or 0, e.y or 0
        kind = e.event_type + (FIXED_SUFFIX if e.fixed else "")
        cell = cell_key(
            site,
            e.url_path,
            e.device_type,
            e.timestamp,
            kind,
            grid_x(x, e.viewport_width),
            grid_y(y, cell_height),
            window_ms,
            e.session_id,
        )
        expected[cell] += 1
    got = pointer_heat(anonymized_table(events), rows, sites, grid)
    assert heat_counter(got) == expected


@given(st.lists(EVENTS, max_size=40))
def test_page_bottoms_are_the_per_row_bottoms(events: list[AnonymizedEvent]) -> None:
    expected = [
        int((e.scroll_y or 0) + e.viewport_height)
        if e.event_type == "scroll"
        else (e.viewport_height if e.viewport_height else -1)
        for e in events
    ]
    assert page_bottoms(anonymized_table(events)) == expected
