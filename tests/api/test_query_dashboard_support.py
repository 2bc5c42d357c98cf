"""What the dashboard reads over a real pipeline run (``pipeline_data``): entry page,
exit page and referrer breakdowns, pages per session, an example session per error
group and the sessions list's page filter, each checked against the tables read here
directly and computed in Python, and the same over GraphQL."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.clickhouse import connect
from tests.api.query_support import (
    NOW,
    FakeClock,
    PipelineData,
    api_settings,
    bearer,
    make_token,
    serve,
)

pytest_plugins = ["tests.api.query_fixtures"]

SITE = "shop.example.com"
# The whole run: the generator's events end at NOW and start a few days before.
RANGE = {"from": (NOW - timedelta(days=6)).date().isoformat(), "to": NOW.date().isoformat()}
_HOST = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)")


@pytest.fixture(scope="module")
def api(pipeline_data: PipelineData) -> Iterator[tuple[TestClient, dict[str, str]]]:
    clock = FakeClock(NOW.timestamp())
    with serve(pipeline_data, clock) as client:
        yield client, bearer(make_token(clock))


@pytest.fixture(scope="module")
def tables(pipeline_data: PipelineData) -> dict[str, list[tuple[Any, ...]]]:
    """The site's sessions (final rows) and page view and error events, read once."""
    settings = pipeline_data.settings
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:

        def read(sql: str) -> list[tuple[Any, ...]]:
            return client.query(sql.replace("{db}", client.database), {"site": SITE}).rows

        return {
            "sessions": read(
                "SELECT toString(session_id), start_time, page_count, duration_seconds, "
                "device_type, country_code, entry_path, exit_path "
                "FROM {db}.sessions FINAL WHERE site_id = {site:String}"
            ),
            "pageviews": read(
                "SELECT DISTINCT toString(event_id), toString(session_id), timestamp, url_path, "
                "referrer, ip_hash, device_type FROM {db}.events "
                "WHERE site_id = {site:String} AND event_type = 'pageview'"
            ),
            "errors": read(
                "SELECT DISTINCT toString(event_id), toString(session_id), timestamp, "
                "error_class, substringUTF8(JSONExtractString(event_data, 'error', 'message'), "
                "1, 500) FROM {db}.events WHERE site_id = {site:String} AND event_type = 'error'"
            ),
        }
    finally:
        client.close()


def get(api: tuple[TestClient, dict[str, str]], url: str, **params: Any) -> Any:
    client, headers = api
    response = client.get(f"/v1/sites/{SITE}{url}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_range(moment: datetime) -> bool:
    first = datetime.fromisoformat(RANGE["from"]).replace(tzinfo=UTC)
    return (
        first
        <= utc(moment)
        < datetime.fromisoformat(RANGE["to"]).replace(tzinfo=UTC) + timedelta(days=1)
    )


def figures(sessions: list[tuple[Any, ...]]) -> tuple[int, float, float]:
    """Sessions, bounce rate and average duration, as the API rounds them."""
    count = len(sessions)
    bounces = sum(1 for row in sessions if row[2] <= 1)
    duration = sum(row[3] for row in sessions) / count
    return count, round(bounces / count, 4), round(duration, 2)


def page_figures(pageviews: list[tuple[Any, ...]], path: str) -> tuple[int, int]:
    """A page's page views and visitors (distinct IP hashes per day, summed)."""
    views = [row for row in pageviews if row[3] == path and in_range(row[2])]
    return len({row[0] for row in views}), len({(utc(row[2]).date(), row[5]) for row in views})


@pytest.mark.parametrize(("by", "column"), [("entry_page", 6), ("exit_page", 7)])
def test_entry_and_exit_pages(
    api: Any, tables: dict[str, list[tuple[Any, ...]]], by: str, column: int
) -> None:
    body = get(api, "/stats/breakdown", by=by, limit=1000, **RANGE)
    assert body["by"] == by
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in tables["sessions"]:
        if in_range(row[1]):
            grouped[row[column]].append(row)
    expected_order = sorted(grouped, key=lambda page: (-len(grouped[page]), page))
    assert [row["value"] for row in body["rows"]] == expected_order
    assert len(expected_order) > 3
    for row in body["rows"]:
        sessions, bounce_rate, duration = figures(grouped[row["value"]])
        pageviews, visitors = page_figures(tables["pageviews"], row["value"])
        assert row == {
            "value": row["value"],
            "sessions": sessions,
            "bounce_rate": bounce_rate,
            "avg_duration_seconds": duration,
            "pageviews": pageviews,
            "visitors": visitors,
        }
    # Every session counts once: the rows add up to the total, under any filter.
    for params in ({}, {"device": "mobile"}, {"country": "DE"}, {"path": "/"}):
        rows = get(api, "/stats/breakdown", by=by, limit=1000, **RANGE, **params)["rows"]
        total = get(api, "/stats", **RANGE, **params)["sessions"]
        assert sum(row["sessions"] for row in rows) == total > 0
    top = get(api, "/stats/breakdown", by=by, limit=2, **RANGE)["rows"]
    assert top == body["rows"][:2]


def first_referrers(pageviews: list[tuple[Any, ...]]) -> dict[str, tuple[str, Any, Any]]:
    """Per session id: the host of its first page view's referrer, that view's day and
    IP hash."""
    first: dict[str, tuple[Any, ...]] = {}
    for row in pageviews:
        if row[1] not in first or (row[2], row[0]) < (first[row[1]][2], first[row[1]][0]):
            first[row[1]] = row
    hosts = {}
    for session_id, row in first.items():
        match = _HOST.match(row[4])
        host = re.sub(r":[0-9]*\Z", "", match.group(1)).lower() if match else ""
        hosts[session_id] = (host, utc(row[2]).date(), row[5])
    return hosts


def test_referrers(api: Any, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    entered = first_referrers(tables["pageviews"])
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in tables["sessions"]:
        if in_range(row[1]) and row[0] in entered:
            grouped[entered[row[0]][0]].append(row)
    body = get(api, "/stats/breakdown", by="referrer", limit=1000, **RANGE)
    by_value = {row["value"]: row for row in body["rows"]}
    assert set(by_value) == set(grouped)
    # Direct visits, search engines and the generator's other sources, without ports.
    assert {"", "www.google.com", "duckduckgo.com", "news.ycombinator.com"} <= set(by_value)
    assert all(":" not in value and value == value.lower() for value in by_value)
    for host, sessions in grouped.items():
        count, bounce_rate, duration = figures(sessions)
        ids = {row[0] for row in sessions}
        assert by_value[host] == {
            "value": host,
            "sessions": count,
            "bounce_rate": bounce_rate,
            "avg_duration_seconds": duration,
            "pageviews": sum(row[2] for row in sessions),
            "visitors": len({entered[i][1:] for i in ids}),
        }
    ranks = [(-row["sessions"], -row["pageviews"], row["value"]) for row in body["rows"]]
    assert ranks == sorted(ranks)
    # Filters select the sessions (a page by their entry page).
    for params, keep in (
        ({"device": "desktop"}, lambda row: row[4] == "desktop"),
        ({"path": "/"}, lambda row: row[6] == "/"),
    ):
        rows = get(api, "/stats/breakdown", by="referrer", limit=1000, **RANGE, **params)["rows"]
        expected = sum(1 for group in grouped.values() for row in group if keep(row))
        assert sum(row["sessions"] for row in rows) == expected > 0


def test_pages_per_session(api: Any) -> None:
    for params in ({}, {"device": "mobile"}, {"path": "/"}):
        stats = get(api, "/stats", **RANGE, **params)
        assert stats["sessions"] > 0
        assert stats["pages_per_session"] == round(stats["pageviews"] / stats["sessions"], 2)
    assert get(api, "/stats", country="ZZ", **RANGE)["pages_per_session"] == 0.0
    points = get(api, "/stats/timeseries", interval="day", **RANGE)["points"]
    assert any(point["sessions"] == 0 for point in points)
    for point in points:
        expected = round(point["pageviews"] / point["sessions"], 2) if point["sessions"] else 0.0
        assert point["pages_per_session"] == expected


def test_each_error_group_names_its_latest_session(
    api: Any, tables: dict[str, list[tuple[Any, ...]]], pipeline_data: PipelineData
) -> None:
    groups = get(api, "/errors", limit=1000, **RANGE)["groups"]
    assert len(groups) > 3
    for group in groups:
        events = [
            row
            for row in tables["errors"]
            if (row[3], row[4]) == (group["error_class"], group["message"]) and in_range(row[2])
        ]
        latest = max(row[2] for row in events)
        assert group["example_session_id"] in {row[1] for row in events if row[2] == latest}
    # The same data names the same session, also when computed again (no cache).
    settings = api_settings(pipeline_data, cache_ttl_seconds=0)
    with serve(pipeline_data, FakeClock(NOW.timestamp()), settings) as fresh:
        for _ in range(2):
            again = fresh.get(
                f"/v1/sites/{SITE}/errors",
                params={"limit": 1000, **RANGE},
                headers=bearer(make_token(FakeClock(NOW.timestamp()))),
            )
            assert again.json()["groups"] == groups


def sessions_pages(api: Any, **params: Any) -> list[str]:
    """Every session id the list gives, page after page of 7."""
    found: list[str] = []
    cursor = None
    while True:
        extra: dict[str, str] = {} if cursor is None else {"cursor": cursor}
        body = get(api, "/sessions", limit=7, **RANGE, **params, **extra)
        found += [session["id"] for session in body["sessions"]]
        assert all(session["has_recording"] is False for session in body["sessions"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_sessions_that_viewed_a_page(api: Any, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    # The page with the most sessions viewing it without entering on it: viewing a page
    # and entering on it (what a page filter means elsewhere) differ there.
    entered: dict[str, set[str]] = defaultdict(set)
    for row in tables["sessions"]:
        entered[row[6]].add(row[0])
    viewed: dict[str, set[str]] = defaultdict(set)
    for row in tables["pageviews"]:
        viewed[row[3]].add(row[1])
    path = max(viewed, key=lambda page: (len(viewed[page] - entered[page]), page))
    assert viewed[path] - entered[path]
    newest_first = sorted(
        (row for row in tables["sessions"] if in_range(row[1])),
        key=lambda row: (utc(row[1]), row[0]),
        reverse=True,
    )
    for params, keep in (
        ({"path": path}, lambda row: True),
        ({"path": path, "device": "desktop"}, lambda row: row[4] == "desktop"),
        ({"path": "/", "has_recording": "false"}, lambda row: True),
    ):
        expected = [
            row[0] for row in newest_first if row[0] in viewed[params["path"]] and keep(row)
        ]
        assert len(expected) > 7  # more than one page
        assert sessions_pages(api, **params) == expected
    assert sessions_pages(api, path="/no/such/page") == []
    assert sessions_pages(api, path="/", has_recording="true") == []
    client, headers = api
    refused = client.get(f"/v1/sites/{SITE}/sessions", params={"path": "pricing"}, headers=headers)
    assert refused.status_code == 422


def graphql(api: Any, query: str) -> dict[str, Any]:
    client, headers = api
    response = client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    site: dict[str, Any] = body["data"]["site"]
    return site


def test_graphql_gives_the_same(api: Any) -> None:
    dates = f'from: "{RANGE["from"]}", to: "{RANGE["to"]}"'
    site = graphql(
        api,
        f'{{ site(id: "{SITE}") {{ '
        f"entry: breakdown(by: ENTRY_PAGE, limit: 5, {dates}) "
        "{ by rows { value sessions pageviews } } "
        f"exit: breakdown(by: EXIT_PAGE, limit: 5, {dates}) {{ rows {{ value sessions }} }} "
        f"ref: breakdown(by: REFERRER, limit: 5, {dates}, device: MOBILE) "
        "{ rows { value sessions pageviews visitors bounceRate avgDurationSeconds } } "
        f"stats({dates}) {{ pagesPerSession }} "
        f"timeseries({dates}) {{ points {{ pagesPerSession }} }} "
        f"errors(limit: 5, {dates}) {{ exampleSessionId }} "
        f'sessions(path: "/", hasRecording: false, limit: 5, {dates}) '
        "{ sessions { id hasRecording } } } }",
    )
    rest = {
        by: get(api, "/stats/breakdown", by=by, limit=5, **RANGE, **extra)["rows"]
        for by, extra in (("entry_page", {}), ("exit_page", {}), ("referrer", {"device": "mobile"}))
    }
    assert site["entry"]["by"] == "entry_page"
    assert site["entry"]["rows"] == [
        {key: row[key] for key in ("value", "sessions", "pageviews")} for row in rest["entry_page"]
    ]
    assert site["exit"]["rows"] == [
        {"value": row["value"], "sessions": row["sessions"]} for row in rest["exit_page"]
    ]
    assert site["ref"]["rows"] == [
        {
            "value": row["value"],
            "sessions": row["sessions"],
            "pageviews": row["pageviews"],
            "visitors": row["visitors"],
            "bounceRate": row["bounce_rate"],
            "avgDurationSeconds": row["avg_duration_seconds"],
        }
        for row in rest["referrer"]
    ]
    assert site["stats"]["pagesPerSession"] == get(api, "/stats", **RANGE)["pages_per_session"]
    points = get(api, "/stats/timeseries", **RANGE)["points"]
    assert [p["pagesPerSession"] for p in site["timeseries"]["points"]] == [
        p["pages_per_session"] for p in points
    ]
    groups = get(api, "/errors", limit=5, **RANGE)["groups"]
    assert [g["exampleSessionId"] for g in site["errors"]] == [
        g["example_session_id"] for g in groups
    ]
    listed = get(api, "/sessions", path="/", has_recording="false", limit=5, **RANGE)["sessions"]
    assert site["sessions"]["sessions"] == [{"id": s["id"], "hasRecording": False} for s in listed]
