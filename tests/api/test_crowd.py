"""The minimum crowd (k-anonymity) through every read route of the query API.

With k = 3, the data holds rows from k - 1, k and k + 1 distinct sessions: the first
is never returned (REST, GraphQL), drawn (PNG) or exported, and every answer counts
what it held back. The heatmap cells go through the same insert as the pipeline's
heatmap step; a replayed window (the same sessions inserted again) never lifts a cell
over k.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.query.app import create_app
from api.query.heatmap_cells import HeatmapCell, HeatmapFilter, ScrollDepthPoint
from api.query.heatmap_png import describe_filter, render_heatmap_png, render_scroll_depth_png
from connectors.clickhouse import connect as clickhouse_connect
from foundation.settings import Settings
from operators.columns import SESSIONS_SCHEMA, rows_table
from operators.heatmap import SCROLL, HeatCounts, cell_key, heatmap_table
from operators.model import AnonymizedEvent
from tests.api.live_support import (
    SITE,
    anonymized_event,
    insert_events,
    live_settings,
    session_id_of,
)
from tests.api.query_support import NOW, FakeClock, bearer, make_token

K = 3
DAY = NOW.date()
AT_MS = int((NOW - timedelta(hours=1)).timestamp() * 1000)
WINDOW_MS = 60_000
PATH = "/page/1"
# (grid_x, grid_y) -> the sessions behind the cell: k - 1, k and k + 1.
CELLS = {(10, 1): [1, 2], (20, 2): [3, 4, 5], (30, 3): [6, 7, 8, 9]}
HELD_CELL = (10, 1)
# Scroll: each session's deepest row. Row 0 is reached by 4 sessions (k + 1), row 1 by
# 3 (k), rows 2 and 3 by 2 (k - 1).
DEEPEST_ROWS = {4: 0, 1: 1, 2: 3, 3: 3}
DAY_RANGE = {"from": DAY.isoformat(), "to": DAY.isoformat()}


def heat(window_start_ms: int) -> HeatCounts:
    counts: HeatCounts = Counter()
    for (gx, gy), sessions in CELLS.items():
        for session in sessions:
            key = cell_key(
                SITE, PATH, "desktop", window_start_ms, "click", gx, gy, WINDOW_MS,
                session_id_of(SITE, session),
            )  # fmt: skip
            counts[key] += 2
    for session, row in DEEPEST_ROWS.items():
        key = cell_key(
            SITE, PATH, "desktop", window_start_ms, SCROLL, 0, row, WINDOW_MS,
            session_id_of(SITE, session),
        )  # fmt: skip
        counts[key] += 1
    return counts


def insert_heat(settings: Settings, counts: HeatCounts) -> None:
    """As the pipeline's heatmap sink writes a closed window."""
    client = clickhouse_connect(
        settings.resolved_clickhouse_url, database=settings.clickhouse_database
    )
    try:
        client.insert_arrow("heatmap_aggregates", heatmap_table(counts, NOW))
    finally:
        client.close()


ENTRY_SESSIONS = {1: [1, 2], 2: [3, 4, 5], 3: [6, 7, 8, 9]}  # entry page -> sessions


def insert_sessions(settings: Settings, version: int) -> None:
    """One row per session, entering and leaving on its page (written twice: a replay)."""
    rows: list[dict[str, object]] = []
    for page, sessions in ENTRY_SESSIONS.items():
        for session in sessions:
            rows.append(
                {
                    "session_id": session_id_of(SITE, session),
                    "site_id": SITE,
                    "start_time": AT_MS + session,
                    "end_time": AT_MS + session + 1000,
                    "page_count": 1,
                    "event_count": 1,
                    "device_type": "desktop",
                    "country_code": "DE",
                    "duration_seconds": 1,
                    "has_errors": False,
                    "has_rage_clicks": False,
                    "entry_path": f"/page/{page}",
                    "exit_path": f"/page/{page}",
                    "rage_click_count": 0,
                    "error_count": 0,
                    "version": version,
                }
            )
    client = clickhouse_connect(
        settings.resolved_clickhouse_url, database=settings.clickhouse_database
    )
    try:
        client.insert_arrow("sessions", rows_table(rows, SESSIONS_SCHEMA))
    finally:
        client.close()


def crowd_events() -> list[AnonymizedEvent]:
    """Page views of /page/1 (k - 1 sessions), /page/2 (k), /page/3 (k + 1), and error
    groups hit by k - 1 and k sessions."""
    events: list[AnonymizedEvent] = []
    for page, sessions in ((1, [1, 2]), (2, [3, 4, 5]), (3, [6, 7, 8, 9])):
        for session in sessions:
            events.append(
                anonymized_event(SITE, session, page, AT_MS + session, event_type="pageview")
            )
    for number, sessions in ((10, [1, 2]), (11, [3, 4, 5])):
        for session in sessions:
            event = anonymized_event(SITE, session, number, AT_MS + session, event_type="error")
            data = json.dumps({"error": {"message": f"boom {number}"}})
            events.append(event._replace(event_data=data, error_class="TypeError"))
    return events


@pytest.fixture(scope="module")
def crowd_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("crowd")
    settings = live_settings(
        data_dir, min_crowd=K, api_export_url=str(data_dir / "exports"), api_dashboard_dir=""
    )
    events = crowd_events()
    insert_events(settings, events)
    insert_events(settings, events)  # a replay: the same events again
    insert_sessions(settings, version=1)
    insert_sessions(settings, version=2)  # a later row of the same sessions
    insert_heat(settings, heat(AT_MS))
    # A replayed window of the same sessions, under another name: counts add, sessions not.
    insert_heat(settings, heat(AT_MS + WINDOW_MS))
    return settings


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(NOW.timestamp())


def serve_with(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def api(crowd_settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    yield from serve_with(crowd_settings, clock)


@pytest.fixture(scope="module")
def api_off(crowd_settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The same data with the minimum crowd off (k = 1)."""
    yield from serve_with(crowd_settings.with_overrides(min_crowd=1), clock)


@pytest.fixture(scope="module")
def headers(clock: FakeClock) -> dict[str, str]:
    return bearer(make_token(clock))


def get(client: TestClient, headers: dict[str, str], route: str, **params: Any) -> Any:
    response = client.get(f"/v1/sites/{SITE}{route}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json() if route != "/heatmap.png" else response.content


def test_heatmap_json_holds_back_cells_under_k(
    api: TestClient, api_off: TestClient, headers: dict[str, str]
) -> None:
    answer = get(api, headers, "/heatmap", path=PATH, **DAY_RANGE)
    shown = list(zip(answer["cells"]["x"], answer["cells"]["y"], strict=True))
    assert shown == [(20, 2), (30, 3)]  # k and k + 1 sessions
    # Two windows of the same sessions: counts double, the cell stays under k.
    assert answer["cells"]["count"] == [3 * 2 * 2, 4 * 2 * 2]
    assert answer["total"] == 28
    assert answer["suppressed"] == {"min_crowd": K, "rows": 1, "sessions": 2, "interactions": 8}
    everything = get(api_off, headers, "/heatmap", path=PATH, **DAY_RANGE)
    assert len(everything["cells"]["x"]) == 3
    assert everything["suppressed"]["rows"] == 0


def test_scroll_depth_ends_where_fewer_than_k_sessions_reached(
    api: TestClient, headers: dict[str, str]
) -> None:
    answer = get(api, headers, "/scroll-depth", path=PATH, **DAY_RANGE)
    # Rows 0 (k + 1 sessions) and 1 (k) are shown; rows 2 and 3 (k - 1) are not.
    assert [point["row"] for point in answer["points"]] == [0, 1]
    assert answer["total_views"] == 8  # 4 page views, in two windows
    assert answer["suppressed"] == {"min_crowd": K, "rows": 2, "sessions": 2, "interactions": 4}


def test_png_draws_only_cells_that_reach_k(
    api: TestClient, api_off: TestClient, headers: dict[str, str]
) -> None:
    png = get(api, headers, "/heatmap.png", path=PATH, **DAY_RANGE)
    title = describe_filter(HeatmapFilter(SITE, PATH, "click", None, DAY, DAY))
    counts = {(20, 2): 12, (30, 3): 16}
    shown = [HeatmapCell(x, y, count) for (x, y), count in counts.items()]
    held = HeatmapCell(*HELD_CELL, 8)
    assert png == render_heatmap_png(shown, title=title)
    assert png != render_heatmap_png([held, *shown], title=title)
    assert get(api_off, headers, "/heatmap.png", path=PATH, **DAY_RANGE) == render_heatmap_png(
        [held, *shown], title=title
    )


def test_scroll_png_draws_only_rows_that_reach_k(api: TestClient, headers: dict[str, str]) -> None:
    png = get(api, headers, "/heatmap.png", path=PATH, type="scroll", **DAY_RANGE)
    title = describe_filter(HeatmapFilter(SITE, PATH, "scroll", None, DAY, DAY))
    points = [ScrollDepthPoint(0, 8, 1.0), ScrollDepthPoint(1, 6, 0.75)]
    assert png == render_scroll_depth_png(points, title=title)


@pytest.mark.parametrize(
    ("by", "shown", "held"),
    [
        ("page", ["/page/3", "/page/2"], {"rows": 1, "sessions": 2, "interactions": 2}),
        ("country", ["DE"], {"rows": 0, "sessions": 0, "interactions": 0}),
        ("entry_page", ["/page/3", "/page/2"], {"rows": 1, "sessions": 2, "interactions": 2}),
        ("exit_page", ["/page/3", "/page/2"], {"rows": 1, "sessions": 2, "interactions": 2}),
        ("referrer", ["www.example.net"], {"rows": 0, "sessions": 0, "interactions": 0}),
    ],
)
def test_breakdown_rows_need_k_sessions(
    api: TestClient, headers: dict[str, str], by: str, shown: list[str], held: dict[str, int]
) -> None:
    answer = get(api, headers, "/stats/breakdown", by=by, **DAY_RANGE)
    assert [row["value"] for row in answer["rows"]] == shown
    assert answer["suppressed"] == {"min_crowd": K, **held}


def test_error_groups_need_k_sessions(api: TestClient, headers: dict[str, str]) -> None:
    answer = get(api, headers, "/errors", **DAY_RANGE)
    assert [(group["message"], group["sessions"]) for group in answer["groups"]] == [("boom 11", 3)]
    assert answer["suppressed"] == {"min_crowd": K, "rows": 1, "sessions": 2, "interactions": 2}


def test_graphql_holds_back_the_same_rows(api: TestClient, headers: dict[str, str]) -> None:
    query = """
      query ($site: String!, $path: String!, $day: Date!) {
        site(id: $site) {
          heatmap(path: $path, from: $day, to: $day) {
            cells { x y count } suppressed { minCrowd rows sessions interactions }
          }
          breakdown(by: PAGE, from: $day, to: $day) { rows { value } suppressed { rows } }
          errors(from: $day, to: $day) { message }
          errorsSuppressed(from: $day, to: $day) { rows sessions }
        }
      }
    """
    variables = {"site": SITE, "path": PATH, "day": DAY.isoformat()}
    response = api.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    site = response.json()["data"]["site"]
    assert site["heatmap"]["cells"] == {"x": [20, 30], "y": [2, 3], "count": [12, 16]}
    assert site["heatmap"]["suppressed"] == {
        "minCrowd": K,
        "rows": 1,
        "sessions": 2,
        "interactions": 8,
    }
    assert [row["value"] for row in site["breakdown"]["rows"]] == ["/page/3", "/page/2"]
    assert site["breakdown"]["suppressed"] == {"rows": 1}
    assert site["errors"] == [{"message": "boom 11"}]
    assert site["errorsSuppressed"] == {"rows": 1, "sessions": 2}


def test_heatmap_export_leaves_out_cells_under_k(
    api: TestClient, headers: dict[str, str], crowd_settings: Settings
) -> None:
    body = {"kind": "heatmap", "format": "csv", **DAY_RANGE}
    created = api.post(f"/v1/sites/{SITE}/exports", json=body, headers=headers)
    assert created.status_code == 202, created.text
    route = f"/v1/sites/{SITE}/exports/{created.json()['id']}"
    deadline = time.monotonic() + 30
    state = api.get(route, headers=headers).json()
    while state["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        state = api.get(route, headers=headers).json()
    assert state["state"] == "done", state
    (exported,) = state["files"]
    with open(exported["path"], newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    cells = {
        (row["interaction_type"], int(row["grid_x"]), int(row["grid_y"])): int(
            row["interaction_count"]
        )
        for row in rows
    }
    # Click cells of k and k + 1 sessions, and the scroll rows kept by k sessions or
    # more (row 0: 1 session on its own, row 1: 1, row 3: 2: each under k as a cell).
    assert cells == {("click", 20, 2): 12, ("click", 30, 3): 16}
