"""Heatmap queries against a real chdb, the PNG renderers, and the `heatmap` command.

One chdb directory serves the whole module (chdb runs one directory per process at a
time, and starting it per test would cost more than the tests); the fixture closes its
client at the end so later modules can open theirs. The `heatmap` command runs in this
process over the same directory, which chdb allows.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from api.query.heatmap_cells import (
    DEVICE_TYPES,
    HeatmapCell,
    HeatmapFilter,
    ScrollDepthPoint,
    busiest_page,
    fetch_cells,
    fetch_scroll_depth,
)
from api.query.heatmap_png import (
    COLDEST,
    EMPTY_CELL,
    HOTTEST,
    MAX_GRID_HEIGHT_PX,
    describe_filter,
    heatmap_geometry,
    ramp_colour,
    render_heatmap_png,
    render_scroll_depth_png,
    scroll_depth_geometry,
)
from connectors.clickhouse import ClickHouseClient, apply_migrations, connect
from insightlite.cli.heatmap import add_parser, cmd_heatmap, heatmap_settings
from insightlite.cli.options import settings_from_args

DATABASE = "heatmaps_test"
SITE = "shop.example.com"
OTHER_SITE = "blog.example.net"
PRICING = "/pricing"
INJECTION_PATH = "/x' OR 1=1 --"
ESCAPES_PATH = "/a\tb\\c\nd'e"
DAY_1, DAY_2, DAY_3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


@dataclass(frozen=True)
class Row:
    url_path: str
    device: str
    day: date
    interaction_type: str
    grid_x: int
    grid_y: int
    count: int
    site_id: str = SITE


# Inserted as separate batches, so cells have several partial rows (separate parts, not
# yet merged), which only sum(...) GROUP BY reads correctly.
BATCHES: list[list[Row]] = [
    [
        Row(PRICING, "desktop", DAY_1, "click", 10, 2, 3),
        Row(PRICING, "desktop", DAY_1, "click", 50, 31, 100),
        Row(PRICING, "desktop", DAY_1, "move", 10, 2, 1000),
        Row(PRICING, "desktop", DAY_1, "scroll", 0, 0, 2),
        Row(PRICING, "desktop", DAY_1, "scroll", 0, 3, 1),
        Row("/", "desktop", DAY_1, "click", 50, 5, 20),
        Row(INJECTION_PATH, "desktop", DAY_1, "click", 1, 1, 9),
        Row(ESCAPES_PATH, "mobile", DAY_2, "click", 2, 2, 4),
        Row("/", "desktop", DAY_1, "move", 30, 3, 5000, site_id=OTHER_SITE),
    ],
    [
        Row(PRICING, "desktop", DAY_1, "click", 10, 2, 4),
        Row(PRICING, "desktop", DAY_2, "click", 50, 31, 200),
        Row(PRICING, "mobile", DAY_2, "click", 10, 2, 5),
        Row(PRICING, "desktop", DAY_2, "scroll", 0, 3, 2),
    ],
    [
        Row(PRICING, "tablet", DAY_3, "click", 10, 2, 7),
        Row(PRICING, "mobile", DAY_3, "click", 50, 31, 50),
        Row(PRICING, "other", DAY_3, "click", 99, 40, 1),
        Row(PRICING, "mobile", DAY_3, "scroll", 0, 5, 5),
    ],
]


def _arrow(rows: list[Row]) -> pa.Table:
    return pa.table(
        {
            "site_id": [row.site_id for row in rows],
            "url_path": [row.url_path for row in rows],
            "device_type": [row.device for row in rows],
            "date_bucket": pa.array([row.day for row in rows], pa.date32()),
            "interaction_type": [row.interaction_type for row in rows],
            "grid_x": pa.array([row.grid_x for row in rows], pa.uint16()),
            "grid_y": pa.array([row.grid_y for row in rows], pa.uint16()),
            "interaction_count": pa.array([row.count for row in rows], pa.uint64()),
        }
    )


@dataclass(frozen=True)
class Store:
    client: ClickHouseClient
    chdb_path: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    chdb_path = tmp_path_factory.mktemp("heatmaps") / "clickhouse"
    client = connect(f"chdb:{chdb_path}", database=DATABASE)
    try:
        apply_migrations(client)
        for batch in BATCHES:
            client.insert_arrow("heatmap_aggregates", _arrow(batch))
        yield Store(client, chdb_path)
    finally:
        client.close()


def cells_of(client: ClickHouseClient, **fields: Any) -> dict[tuple[int, int], int]:
    cells = fetch_cells(
        client, HeatmapFilter(**{"site_id": SITE, "url_path": PRICING, **fields}), min_crowd=1
    )
    return {(cell.grid_x, cell.grid_y): cell.count for cell in cells}


# --- filter validation ----------------------------------------------------------------


def test_filter_defaults_and_same_day_range() -> None:
    flt = HeatmapFilter(SITE, PRICING, date_from=DAY_1, date_to=DAY_1)
    assert flt.interaction_type == "click"
    assert flt.device_type is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"interaction_type": "tap"}, "interaction_type 'tap' is not one of"),
        ({"device_type": "phone"}, "device_type 'phone' is not one of"),
        ({"date_from": DAY_2, "date_to": DAY_1}, "date_from 2026-11-02 is after date_to"),
        ({"date_from": datetime(2026, 11, 1, 12)}, "date_from must be a date"),
        ({"site_id": "bad site!"}, "is not a site id"),
        ({"url_path": ""}, "url_path must be a non-empty string"),
    ],
)
def test_filter_rejects_bad_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HeatmapFilter(**{"site_id": SITE, "url_path": PRICING, **fields})


def test_device_types_match_the_enrich_stage() -> None:
    from operators.user_agent import DEVICE_TYPES as ENRICH_DEVICE_TYPES

    assert DEVICE_TYPES == ENRICH_DEVICE_TYPES


# --- queries ------------------------------------------------------------------------


def test_cells_sum_partial_rows_over_devices_and_days(store: Store) -> None:
    stored_rows = store.client.query(
        f"SELECT count() FROM {DATABASE}.heatmap_aggregates "
        "WHERE url_path = {path:String} AND interaction_type = 'click'",
        {"path": PRICING},
    ).rows[0][0]
    cells = cells_of(store.client)
    assert stored_rows > len(cells)  # the partial rows are still there, unmerged
    assert cells == {(10, 2): 3 + 4 + 5 + 7, (50, 31): 100 + 200 + 50, (99, 40): 1}
    ordered = fetch_cells(store.client, HeatmapFilter(SITE, PRICING), min_crowd=1)
    assert [(cell.grid_y, cell.grid_x) for cell in ordered] == [(2, 10), (31, 50), (40, 99)]


def test_cells_of_another_interaction_type_stay_apart(store: Store) -> None:
    assert cells_of(store.client, interaction_type="move") == {(10, 2): 1000}
    assert cells_of(store.client, interaction_type="rage_click") == {}


def test_device_filter(store: Store) -> None:
    assert cells_of(store.client, device_type="desktop") == {(10, 2): 7, (50, 31): 300}
    assert cells_of(store.client, device_type="mobile") == {(10, 2): 5, (50, 31): 50}
    assert cells_of(store.client, device_type="other") == {(99, 40): 1}


def test_date_range_is_inclusive(store: Store) -> None:
    assert cells_of(store.client, date_from=DAY_2, date_to=DAY_3) == {
        (10, 2): 12,
        (50, 31): 250,
        (99, 40): 1,
    }
    assert cells_of(store.client, date_from=DAY_2, date_to=DAY_2) == {(10, 2): 5, (50, 31): 200}
    assert cells_of(store.client, date_to=DAY_1) == {(10, 2): 7, (50, 31): 100}
    assert cells_of(store.client, date_from=DAY_3) == {(10, 2): 7, (50, 31): 50, (99, 40): 1}
    assert cells_of(store.client, device_type="desktop", date_from=DAY_3) == {}


def test_request_values_are_bound_as_data(store: Store) -> None:
    client = store.client
    for path in ("/pricing' OR '1'='1", "/pricing' --", "/pricing}", "{url_path:String}"):
        assert fetch_cells(client, HeatmapFilter(SITE, path), min_crowd=1) == []
    injected = fetch_cells(client, HeatmapFilter(SITE, INJECTION_PATH), min_crowd=1)
    assert injected == [HeatmapCell(1, 1, 9)]
    escaped = fetch_cells(
        client, HeatmapFilter(SITE, ESCAPES_PATH, device_type="mobile"), min_crowd=1
    )
    assert escaped == [HeatmapCell(2, 2, 4)]


def test_scroll_depth_is_the_suffix_sum(store: Store) -> None:
    # Views whose deepest row is 0: 2, row 3: 1 + 2, row 5: 5; 10 in all.
    points = fetch_scroll_depth(store.client, HeatmapFilter(SITE, PRICING), min_crowd=1)
    assert [(p.grid_y, p.views_reaching) for p in points] == [
        (0, 10),
        (1, 8),
        (2, 8),
        (3, 8),
        (4, 5),
        (5, 5),
    ]
    assert [p.share for p in points] == [1.0, 0.8, 0.8, 0.8, 0.5, 0.5]


def test_scroll_depth_applies_filters_and_ignores_the_type(store: Store) -> None:
    mobile = fetch_scroll_depth(
        store.client,
        HeatmapFilter(SITE, PRICING, interaction_type="move", device_type="mobile"),
        min_crowd=1,
    )
    assert [(p.grid_y, p.views_reaching, p.share) for p in mobile] == [
        (row, 5, 1.0) for row in range(6)
    ]
    day_2 = fetch_scroll_depth(
        store.client, HeatmapFilter(SITE, PRICING, date_from=DAY_2), min_crowd=1
    )
    # Day 2 on: 2 views end at row 3, 5 at row 5.
    day_2_curve = [(p.grid_y, p.views_reaching) for p in day_2]
    assert day_2_curve == [(0, 7), (1, 7), (2, 7), (3, 7), (4, 5), (5, 5)]
    assert fetch_scroll_depth(store.client, HeatmapFilter(SITE, "/"), min_crowd=1) == []


def test_busiest_page(store: Store) -> None:
    assert busiest_page(store.client) == (SITE, PRICING)
    assert busiest_page(store.client, "move") == (OTHER_SITE, "/")
    assert busiest_page(store.client, "rage_click") is None
    with pytest.raises(ValueError, match="not one of"):
        busiest_page(store.client, "tap")


# --- images -------------------------------------------------------------------------


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def pixel_at_centre(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, ...]:
    left, top, right, bottom = box
    colour = image.getpixel(((left + right) // 2, (top + bottom) // 2))
    assert isinstance(colour, tuple)
    return colour


def test_heatmap_png_size_and_colours_at_the_cells(store: Store) -> None:
    flt = HeatmapFilter(SITE, PRICING)
    cells = fetch_cells(store.client, flt, min_crowd=1)
    title = describe_filter(flt)
    geometry = heatmap_geometry(cells, title=title)
    image = decode(render_heatmap_png(cells, title=title))

    assert image.size == (geometry.image_width, geometry.image_height)
    assert geometry.width == 100 * 8
    assert geometry.bands == 41  # rows 0..40
    assert geometry.height == 41 * geometry.band_height
    assert pixel_at_centre(image, geometry.cell_box(50, 31)) == HOTTEST
    assert pixel_at_centre(image, geometry.cell_box(99, 40)) == COLDEST  # count 1
    middle = pixel_at_centre(image, geometry.cell_box(10, 2))
    assert middle not in (HOTTEST, COLDEST, EMPTY_CELL)
    for empty in ((0, 0), (49, 31), (51, 31), (50, 30), (50, 32), (10, 40)):
        assert pixel_at_centre(image, geometry.cell_box(*empty)) == EMPTY_CELL
    # The whole hot cell, and nothing of its neighbours, has the hottest colour.
    left, top, right, bottom = geometry.cell_box(50, 31)
    hot = {
        (x, y)
        for x in range(left - 2, right + 2)
        for y in range(top - 2, bottom + 2)
        if image.getpixel((x, y)) == HOTTEST
    }
    assert hot == {(x, y) for x in range(left, right) for y in range(top, bottom)}


def test_heatmap_png_is_deterministic_and_cells_may_repeat() -> None:
    cells = [HeatmapCell(3, 4, 10), HeatmapCell(7, 1, 2), HeatmapCell(3, 4, 5)]
    first = render_heatmap_png(cells, title="a\nb")
    assert first == render_heatmap_png(list(cells), title="a\nb")
    image = decode(first)
    geometry = heatmap_geometry(cells, title="a\nb")
    assert pixel_at_centre(image, geometry.cell_box(3, 4)) == HOTTEST  # 10 + 5
    assert pixel_at_centre(image, geometry.cell_box(7, 1)) == COLDEST


def test_empty_heatmap_renders_an_empty_grid() -> None:
    png = render_heatmap_png([], title="nothing here")
    geometry = heatmap_geometry([], title="nothing here")
    image = decode(png)
    assert image.size == (geometry.image_width, geometry.image_height)
    assert geometry.bands >= 8  # at least a few rows
    grid = image.crop(
        (
            geometry.left,
            geometry.top,
            geometry.left + geometry.width,
            geometry.top + geometry.height,
        )
    )
    assert grid.getcolors() == [(geometry.width * geometry.height, EMPTY_CELL)]


def test_deep_page_merges_rows_to_stay_under_the_height_cap() -> None:
    cells = [HeatmapCell(20, 0, 1), HeatmapCell(80, 20_000, 500), HeatmapCell(80, 20_001, 500)]
    geometry = heatmap_geometry(cells, title="deep")
    image = decode(render_heatmap_png(cells, title="deep"))
    assert geometry.rows_per_band > 1
    assert geometry.height <= MAX_GRID_HEIGHT_PX
    assert image.size[1] <= 4000
    assert pixel_at_centre(image, geometry.cell_box(80, 20_000)) == HOTTEST
    assert pixel_at_centre(image, geometry.cell_box(20, 0)) == COLDEST


def test_long_and_unusual_titles_render() -> None:
    title = "site /" + "very-long-segment/" * 40 + "\n路径 ✓ \t émoji 🎉"
    image = decode(render_heatmap_png([HeatmapCell(0, 0, 1)], title=title))
    assert image.size[0] == heatmap_geometry([], title=title).image_width


@pytest.mark.parametrize(
    "cell",
    [HeatmapCell(100, 0, 1), HeatmapCell(-1, 0, 1), HeatmapCell(0, -1, 1), HeatmapCell(0, 0, -1)],
)
def test_cells_outside_the_grid_are_refused(cell: HeatmapCell) -> None:
    with pytest.raises(ValueError):
        render_heatmap_png([cell], title="bad")


def test_ramp_ends() -> None:
    assert ramp_colour(0.0) == COLDEST
    assert ramp_colour(1.0) == HOTTEST
    assert ramp_colour(-3) == COLDEST
    assert ramp_colour(7) == HOTTEST


def test_scroll_depth_png(store: Store) -> None:
    points = fetch_scroll_depth(store.client, HeatmapFilter(SITE, PRICING), min_crowd=1)
    png = render_scroll_depth_png(points, title="scroll")
    assert png == render_scroll_depth_png(points, title="scroll")
    image = decode(png)
    geometry = scroll_depth_geometry(points, title="scroll")
    assert image.size == (geometry.image_width, geometry.image_height)

    def at(share_of_width: float, row: int) -> tuple[int, ...]:
        _, top, _, bottom = geometry.cell_box(0, row)
        x = geometry.left + int(share_of_width * geometry.width)
        colour = image.getpixel((x, (top + bottom) // 2))
        assert isinstance(colour, tuple)
        return colour

    assert at(0.01, 0) == HOTTEST and at(0.99, 0) == HOTTEST  # all views reach row 0
    assert at(0.25, 4) == ramp_colour(0.5)  # half of them reach row 4
    assert at(0.6, 4) == EMPTY_CELL
    assert at(0.01, 6) == EMPTY_CELL  # below the deepest row


def test_empty_scroll_depth_png() -> None:
    image = decode(render_scroll_depth_png([], title="none"))
    geometry = scroll_depth_geometry([], title="none")
    assert image.size == (geometry.image_width, geometry.image_height)
    with pytest.raises(ValueError):
        render_scroll_depth_png([ScrollDepthPoint(0, 1, 1.5)], title="bad")


# --- the command --------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="insightlite")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["heatmap", *argv])


@pytest.fixture
def run_heatmap(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The fixture's cells are backed by few sessions: show them all unless a test asks.
    monkeypatch.setenv("INSIGHTLITE_MIN_CROWD", "1")

    def run(*argv: str) -> int:
        common = ["--clickhouse", f"chdb:{store.chdb_path}", "--database", DATABASE]
        args = parse(*argv, *common, "--data-dir", str(tmp_path))
        return cmd_heatmap(args, settings_from_args(args))

    yield run


def test_command_writes_the_png_and_prints_the_total(
    run_heatmap: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pricing.png"
    code = run_heatmap("--site", SITE, "--path", PRICING, "--device", "desktop", "--out", str(out))
    printed = capsys.readouterr().out
    assert code == 0
    assert f"wrote {out}" in printed
    assert "total: 307 interactions" in printed
    assert decode(out.read_bytes()).size[0] == 888


def test_command_holds_back_cells_too_few_sessions_saw(
    run_heatmap: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSIGHTLITE_MIN_CROWD", "1000")
    out = tmp_path / "pricing.png"
    code = run_heatmap("--site", SITE, "--path", PRICING, "--device", "desktop", "--out", str(out))
    printed = capsys.readouterr()
    assert code == 1 and not out.exists()
    assert "held back:" in printed.err and "fewer than 1000 sessions" in printed.err
    assert "(307 clicks)" in printed.err


def test_command_scroll(
    run_heatmap: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scroll.png"
    code = run_heatmap(
        "--site",
        SITE,
        "--path",
        PRICING,
        "--type",
        "scroll",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
        "--out",
        str(out),
    )
    assert code == 0
    assert "total: 10 page views" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"\x89PNG")


def test_command_without_data_writes_nothing(
    run_heatmap: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.png"
    code = run_heatmap("--site", SITE, "--path", "/nowhere", "--out", str(out))
    assert code == 1
    assert "no click data" in capsys.readouterr().err
    assert not out.exists()


def test_command_rejects_a_reversed_date_range(
    run_heatmap: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.png"
    code = run_heatmap(
        "--site",
        SITE,
        "--path",
        PRICING,
        "--from",
        "2026-11-03",
        "--to",
        "2026-11-01",
        "--out",
        str(out),
    )
    assert code == 2
    assert "date_from 2026-11-03 is after date_to 2026-11-01" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--type", "tap"], "invalid choice: 'tap'"),
        (["--from", "2026-13-01"], "'2026-13-01' is not a date (expected YYYY-MM-DD)"),
        (["--device", "phone"], "invalid choice: 'phone'"),
    ],
)
def test_parser_rejects_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("--site", SITE, "--path", PRICING, "--out", "x.png", *argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_command_without_the_schema_says_what_to_do(
    store: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "x.png"
    args = parse(
        "--site", SITE, "--path", PRICING, "--out", str(out),
        "--clickhouse", f"chdb:{store.chdb_path}", "--database", "no_such_database",
    )  # fmt: skip
    assert cmd_heatmap(args, heatmap_settings(args)) == 1
    assert "insightlite schema apply" in capsys.readouterr().err
    assert not out.exists()
