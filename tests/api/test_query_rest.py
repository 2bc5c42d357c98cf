"""REST answers over real pipeline output, checked against ClickHouse read directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.query.heatmap_cells import HeatmapFilter, fetch_cells, fetch_scroll_depth
from connectors.clickhouse import ClickHouseClient, connect
from tests.api.query_support import (
    DAY,
    NOW,
    FakeClock,
    PipelineData,
    bearer,
    make_token,
    serve,
)

pytest_plugins = ["tests.api.query_fixtures"]

SITE = "shop.example.com"


@contextmanager
def direct(data: PipelineData) -> Iterator[ClickHouseClient]:
    client = connect(
        data.settings.resolved_clickhouse_url, database=data.settings.clickhouse_database
    )
    try:
        yield client
    finally:
        client.close()


def scalar(client: ClickHouseClient, sql: str, params: dict[str, Any] | None = None) -> Any:
    return client.query(sql.replace("{db}", client.database), params or {}).rows[0][0]


@pytest.fixture(scope="module")
def api(pipeline_data: PipelineData) -> Iterator[tuple[TestClient, dict[str, str]]]:
    # Module scope: one app for the module's read-only checks, at a clock that stays put.
    clock = FakeClock(NOW.timestamp())
    with serve(pipeline_data, clock) as client:
        yield client, bearer(make_token(clock))


def get(api: tuple[TestClient, dict[str, str]], url: str, **params: Any) -> Any:
    client, headers = api
    response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_heatmap_cells_match_the_table(api: Any, pipeline_data: PipelineData) -> None:
    site, path = pipeline_data.busiest_site, pipeline_data.busiest_path
    answer = get(api, f"/v1/sites/{site}/heatmap", path=path, type="click")
    with direct(pipeline_data) as client:
        cells = fetch_cells(client, HeatmapFilter(site_id=site, url_path=path), min_crowd=1)
        rage = fetch_cells(
            client,
            HeatmapFilter(
                site_id=site, url_path=path, interaction_type="move", device_type="desktop"
            ),
            min_crowd=1,
        )
    assert answer["cells"] == {
        "x": [c.grid_x for c in cells],
        "y": [c.grid_y for c in cells],
        "count": [c.count for c in cells],
    }
    assert answer["total"] == sum(c.count for c in cells) > 0
    assert answer["columns"] == 100 and answer["cell_height_px"] == 16
    assert answer["date_to"] == DAY.isoformat()
    assert answer["date_from"] == (DAY - timedelta(days=29)).isoformat()
    moves = get(api, f"/v1/sites/{site}/heatmap", path=path, type="move", device="desktop")
    assert moves["total"] == sum(c.count for c in rage)
    # Days without data give an empty grid, not an error.
    empty = get(
        api, f"/v1/sites/{site}/heatmap", path=path, **{"from": "2020-01-01", "to": "2020-01-31"}
    )
    assert empty["cells"] == {"x": [], "y": [], "count": []} and empty["total"] == 0


def test_scroll_depth_matches_the_table(api: Any, pipeline_data: PipelineData) -> None:
    site, path = pipeline_data.busiest_site, pipeline_data.busiest_path
    answer = get(api, f"/v1/sites/{site}/scroll-depth", path=path)
    with direct(pipeline_data) as client:
        points = fetch_scroll_depth(client, HeatmapFilter(site_id=site, url_path=path), min_crowd=1)
    assert answer["total_views"] == points[0].views_reaching > 0
    assert [p["views_reaching"] for p in answer["points"]] == [p.views_reaching for p in points]
    assert answer["points"][0]["share"] == 1.0
    shares = [p["share"] for p in answer["points"]]
    assert shares == sorted(shares, reverse=True)
    assert answer["points"][3]["depth_px"] == 48


def test_heatmap_png(api: Any, pipeline_data: PipelineData) -> None:
    client, headers = api
    site, path = pipeline_data.busiest_site, pipeline_data.busiest_path
    for kind in ("click", "scroll", "rage_click"):
        response = client.get(
            f"/v1/sites/{site}/heatmap.png", params={"path": path, "type": kind}, headers=headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_sessions_pages_cover_every_session_once(api: Any, pipeline_data: PipelineData) -> None:
    with direct(pipeline_data) as client:
        expected = scalar(
            client,
            "SELECT count() FROM {db}.sessions FINAL WHERE site_id = {s:String}",
            {"s": SITE},
        )
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 37}
        if cursor:
            params["cursor"] = cursor
        page = get(api, f"/v1/sites/{SITE}/sessions", **params)
        seen.extend(page["sessions"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["sessions"]) == 37
    ids = [session["id"] for session in seen]
    assert len(ids) == len(set(ids)) == expected > 37
    assert pages == -(-expected // 37)
    starts = [session["start_time"] for session in seen]
    assert starts == sorted(starts, reverse=True)


def test_session_filters(api: Any, pipeline_data: PipelineData) -> None:
    with direct(pipeline_data) as client:
        with_errors = scalar(
            client,
            "SELECT count() FROM {db}.sessions FINAL WHERE site_id = {s:String} AND has_errors",
            {"s": SITE},
        )
        long_mobile_rage = scalar(
            client,
            "SELECT count() FROM {db}.sessions FINAL WHERE site_id = {s:String} "
            "AND device_type = 'mobile' AND has_rage_clicks AND duration_seconds >= 30",
            {"s": SITE},
        )
        top_country = client.query(
            "SELECT country_code, count() AS n FROM {db}.sessions FINAL "
            "WHERE site_id = {s:String} AND country_code != '' GROUP BY country_code "
            "ORDER BY n DESC, country_code LIMIT 1".replace("{db}", client.database),
            {"s": SITE},
        ).rows[0]
    page = get(api, f"/v1/sites/{SITE}/sessions", has_errors="true", limit=500)
    assert len(page["sessions"]) == with_errors > 0
    assert all(session["has_errors"] for session in page["sessions"])
    page = get(
        api,
        f"/v1/sites/{SITE}/sessions",
        device="mobile",
        has_rage_clicks="true",
        min_duration=30,
        limit=500,
    )
    assert len(page["sessions"]) == long_mobile_rage
    assert all(s["device"] == "mobile" and s["duration_seconds"] >= 30 for s in page["sessions"])
    country, count = top_country
    page = get(api, f"/v1/sites/{SITE}/sessions", country=country.lower(), limit=500)
    assert len(page["sessions"]) == count
    assert {session["country"] for session in page["sessions"]} == {country}


def test_one_session_with_its_events(api: Any, pipeline_data: PipelineData) -> None:
    client, headers = api
    page = get(api, f"/v1/sites/{SITE}/sessions", has_errors="true", limit=1)
    session = page["sessions"][0]
    detail = get(api, f"/v1/sites/{SITE}/sessions/{session['id']}")
    assert detail["session"] == session
    events = detail["events"]
    assert len(events) == session["event_count"]
    times = [event["timestamp"] for event in events]
    assert times == sorted(times)
    assert session["start_time"] <= times[0] and times[-1] <= session["end_time"]
    assert any(event["type"] == "error" and "error" in event["data"] for event in events)
    truncated = get(api, f"/v1/sites/{SITE}/sessions/{session['id']}", limit=2)
    assert len(truncated["events"]) == 2 and truncated["events_truncated"] is True
    # Another site's session, or none at all: 404.
    for path in (
        f"/v1/sites/blog.example.org/sessions/{session['id']}",
        f"/v1/sites/{SITE}/sessions/00000000-0000-4000-8000-000000000000",
    ):
        missing = client.get(path, headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {"error": "not_found", "message": "no such session"}


def test_stats_match_direct_queries(api: Any, pipeline_data: PipelineData) -> None:
    with direct(pipeline_data) as client:
        params = {"s": SITE}
        pageviews = scalar(
            client,
            "SELECT count() FROM {db}.events FINAL WHERE site_id = {s:String} "
            "AND event_type = 'pageview'",
            params,
        )
        visitors = scalar(
            client,
            "SELECT sum(v) FROM (SELECT uniqExact(ip_hash) AS v FROM {db}.events FINAL "
            "WHERE site_id = {s:String} AND event_type = 'pageview' "
            "GROUP BY toDate(timestamp))",
            params,
        )
        sessions, bounces, duration = client.query(
            "SELECT count(), countIf(page_count <= 1), avg(duration_seconds) FROM "
            f"{client.database}.sessions FINAL WHERE site_id = {{s:String}}",
            params,
        ).rows[0]
        desktop_pageviews = scalar(
            client,
            "SELECT count() FROM {db}.events FINAL WHERE site_id = {s:String} "
            "AND event_type = 'pageview' AND device_type = 'desktop'",
            params,
        )
    stats = get(api, f"/v1/sites/{SITE}/stats")
    assert stats["pageviews"] == pageviews > 0
    assert stats["visitors"] == visitors > 0
    assert stats["sessions"] == sessions
    assert stats["bounce_rate"] == round(bounces / sessions, 4)
    assert stats["avg_duration_seconds"] == pytest.approx(duration, abs=0.01)
    desktop = get(api, f"/v1/sites/{SITE}/stats", device="desktop")
    assert desktop["pageviews"] == desktop_pageviews < pageviews
    # Nothing before the data.
    before = get(api, f"/v1/sites/{SITE}/stats", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert before["pageviews"] == before["sessions"] == 0 and before["bounce_rate"] == 0.0


def test_timeseries_adds_up_to_the_totals(api: Any) -> None:
    totals = get(api, f"/v1/sites/{SITE}/stats")
    for interval, points in (("day", 30), ("week", None), ("hour", 24)):
        params: dict[str, Any] = {"interval": interval}
        if interval == "hour":
            params.update({"from": DAY.isoformat(), "to": DAY.isoformat()})
        series = get(api, f"/v1/sites/{SITE}/stats/timeseries", **params)
        if points is not None:
            assert len(series["points"]) == points
        starts = [point["start"] for point in series["points"]]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        assert sum(point["pageviews"] for point in series["points"]) == totals["pageviews"]
        assert sum(point["sessions"] for point in series["points"]) == totals["sessions"]
    weekly = get(api, f"/v1/sites/{SITE}/stats/timeseries", interval="week")
    assert all(point["start"].startswith("20") for point in weekly["points"])


def test_breakdowns(api: Any, pipeline_data: PipelineData) -> None:
    totals = get(api, f"/v1/sites/{SITE}/stats")
    by_device = get(api, f"/v1/sites/{SITE}/stats/breakdown", by="device")
    assert sum(row["pageviews"] for row in by_device["rows"]) == totals["pageviews"]
    assert sum(row["sessions"] for row in by_device["rows"]) == totals["sessions"]
    by_page = get(api, f"/v1/sites/{SITE}/stats/breakdown", by="page", limit=3)
    assert len(by_page["rows"]) == 3
    views = [row["pageviews"] for row in by_page["rows"]]
    assert views == sorted(views, reverse=True)
    by_country = get(api, f"/v1/sites/{SITE}/stats/breakdown", by="country", limit=100)
    assert any(len(row["value"]) == 2 for row in by_country["rows"])
    one_page = get(api, f"/v1/sites/{SITE}/stats", path=by_page["rows"][0]["value"])
    assert one_page["pageviews"] == by_page["rows"][0]["pageviews"]


def test_errors_grouped(api: Any, pipeline_data: PipelineData) -> None:
    site = "blog.example.org"
    with direct(pipeline_data) as client:
        total = scalar(
            client,
            "SELECT count() FROM {db}.events FINAL WHERE site_id = {s:String} "
            "AND event_type = 'error'",
            {"s": site},
        )
    answer = get(api, f"/v1/sites/{site}/errors", limit=1000)
    groups = answer["groups"]
    assert sum(group["occurrences"] for group in groups) == total > 0
    assert all(1 <= group["sessions"] <= group["occurrences"] for group in groups)
    assert all(group["first_seen"] <= group["last_seen"] for group in groups)
    counts = [group["occurrences"] for group in groups]
    assert counts == sorted(counts, reverse=True)
    assert {group["error_class"] for group in groups} - {
        "chunk_load",
        "network",
        "cross_origin_script",
        "type_error",
        "reference_error",
        "syntax_error",
        "range_error",
        "security_error",
        "unhandled_rejection",
        "other",
    } == set()


def test_operations_routes(api: Any) -> None:
    client, _ = api
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "insightlite_api_requests_total" in metrics.text
    assert "insightlite_api_request_duration_seconds_bucket" in metrics.text
    assert 'route="/v1/sites/{site}/stats"' in metrics.text
    document = client.get("/openapi.json").json()
    assert "/v1/sites/{site}/heatmap" in document["paths"]
    assert "/v1/sites/{site}/exports/{export_id}" in document["paths"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert client.get("/nowhere").status_code == 404


def test_ready_reports_an_unreachable_store(pipeline_data: PipelineData, clock: FakeClock) -> None:
    from api.query.app import create_app
    from tests.api.query_support import api_settings

    def broken() -> ClickHouseClient:
        return connect("clickhouse://default:@127.0.0.1:9/insightlite?connect_timeout=0.2")

    app = create_app(api_settings(pipeline_data), clock=clock, client_factory=broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json() == {
            "error": "not_ready",
            "message": "the analytics store does not answer",
        }
        stats = client.get(f"/v1/sites/{SITE}/stats", headers=bearer(make_token(clock)))
        assert stats.status_code == 503
        assert stats.json()["error"] == "unavailable"
        assert "127.0.0.1" not in stats.text
