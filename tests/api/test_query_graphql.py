"""GraphQL over the same layer as REST: same answers, per-field permissions, coded
errors, masked internals, bounded queries, and the exported schema kept in sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.query.graphql import schema
from tests.api.query_support import NOW, FakeClock, PipelineData, bearer, make_token, serve

pytest_plugins = ["tests.api.query_fixtures"]

SITE = "shop.example.com"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api" / "query" / "schema.graphql"


@pytest.fixture(scope="module")
def client(pipeline_data: PipelineData) -> Iterator[TestClient]:
    with serve(pipeline_data, FakeClock(NOW.timestamp())) as test_client:
        yield test_client


def graphql(
    client: TestClient, query: str, *, token: str | None = None, variables: Any = None
) -> dict[str, Any]:
    token = token or make_token(FakeClock(NOW.timestamp()))
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_exported_schema_is_in_sync() -> None:
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "api/query/schema.graphql is stale: regenerate it with "
        'python -c "from api.query.graphql import schema; print(schema.as_str())" '
        "> api/query/schema.graphql"
    )


def test_answers_equal_rest(client: TestClient, pipeline_data: PipelineData) -> None:
    site, path = pipeline_data.busiest_site, pipeline_data.busiest_path
    body = graphql(
        client,
        """
        query($site: String!, $path: String!) {
          site(id: $site) {
            id
            stats { pageviews visitors sessions bounceRate avgDurationSeconds }
            heatmap(path: $path, type: CLICK) { total cells { x y count } }
            scrollDepth(path: $path) { totalViews points { row depthPx share } }
            breakdown(by: DEVICE) { rows { value pageviews sessions } }
            timeseries(interval: DAY) { points { start pageviews } }
            errors(limit: 5) { errorClass message occurrences sessions }
          }
        }
        """,
        variables={"site": site, "path": path},
    )
    assert "errors" not in body
    data = body["data"]["site"]
    headers = bearer(make_token(FakeClock(NOW.timestamp())))
    rest_stats = client.get(f"/v1/sites/{site}/stats", headers=headers).json()
    assert data["stats"]["pageviews"] == rest_stats["pageviews"]
    assert data["stats"]["bounceRate"] == rest_stats["bounce_rate"]
    rest_heatmap = client.get(f"/v1/sites/{site}/heatmap", params={"path": path}, headers=headers)
    assert data["heatmap"]["cells"] == rest_heatmap.json()["cells"]
    assert data["scrollDepth"]["points"][0]["share"] == 1.0
    assert sum(row["pageviews"] for row in data["breakdown"]["rows"]) == rest_stats["pageviews"]
    assert len(data["timeseries"]["points"]) == 30


def test_sessions_and_one_session(client: TestClient) -> None:
    body = graphql(
        client,
        """
        query($site: String!) {
          site(id: $site) { sessions(limit: 2, hasErrors: true) {
            nextCursor sessions { id startTime eventCount hasErrors } } }
        }
        """,
        variables={"site": SITE},
    )
    page = body["data"]["site"]["sessions"]
    assert len(page["sessions"]) == 2 and page["nextCursor"]
    first = page["sessions"][0]
    following = graphql(
        client,
        'query($c: String!) { site(id: "shop.example.com") { sessions(limit: 2, hasErrors: true, '
        "cursor: $c) { sessions { id } } } }",
        variables={"c": page["nextCursor"]},
    )
    later_ids = {s["id"] for s in following["data"]["site"]["sessions"]["sessions"]}
    assert later_ids and not later_ids & {s["id"] for s in page["sessions"]}
    detail = graphql(
        client,
        'query($id: ID!) { site(id: "shop.example.com") { session(id: $id) { '
        "session { id } events { type timestamp data } eventsTruncated } } }",
        variables={"id": first["id"]},
    )["data"]["site"]["session"]
    assert detail["session"]["id"] == first["id"]
    assert len(detail["events"]) == first["eventCount"]
    assert any(isinstance(event["data"], dict) for event in detail["events"])
    missing = graphql(
        client,
        '{ site(id: "shop.example.com") { session(id: "00000000-0000-4000-8000-000000000000") '
        "{ eventsTruncated } } }",
    )
    assert missing["data"]["site"]["session"] is None


def test_permissions_per_field(client: TestClient) -> None:
    token = make_token(FakeClock(NOW.timestamp()), permissions=["stats:read"])
    body = graphql(
        client,
        '{ site(id: "shop.example.com") { stats { pageviews } sessions { nextCursor } } }',
        token=token,
    )
    assert body["data"]["site"]["stats"]["pageviews"] > 0
    assert body["data"]["site"]["sessions"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert error["message"] == "permission sessions:read not granted by this token"
    assert error["path"] == ["site", "sessions"]


def test_site_not_granted(client: TestClient) -> None:
    token = make_token(FakeClock(NOW.timestamp()), sites=["blog.example.org"])
    body = graphql(client, '{ site(id: "shop.example.com") { stats { pageviews } } }', token=token)
    assert body["data"] == {"site": None}
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


SHOP = '{ site(id: "shop.example.com") { '


@pytest.mark.parametrize(
    "query",
    [
        '{ site(id: "bad site!") { id } }',
        SHOP + 'heatmap(path: "no-leading-slash") { total } } }',
        SHOP + 'stats(country: "USA") { pageviews } } }',
        SHOP + 'stats(from: "2026-02-01", to: "2026-01-01") { pageviews } } }',
        SHOP + "sessions(limit: 100000) { nextCursor } } }",
        SHOP + 'sessions(cursor: "garbage") { nextCursor } } }',
        SHOP + 'session(id: "not-a-uuid") { eventsTruncated } } }',
        SHOP + 'timeseries(interval: HOUR, from: "2026-01-01") { interval } } }',
    ],
)
def test_bad_arguments_are_bad_requests(client: TestClient, query: str) -> None:
    body = graphql(client, query)
    assert body["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert "SELECT" not in str(body)


def test_query_syntax_and_shape_errors_are_described(client: TestClient) -> None:
    body = graphql(client, "{ site(id: ) }")
    assert "Syntax Error" in body["errors"][0]["message"]
    body = graphql(client, '{ site(id: "shop.example.com") { nope } }')
    assert "nope" in body["errors"][0]["message"]


def test_unexpected_errors_are_masked(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    layer = client.app.state.services.layer  # type: ignore[attr-defined]

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: SELECT * FROM events")

    monkeypatch.setattr(layer, "stats", explode)
    body = graphql(client, '{ site(id: "shop.example.com") { stats { pageviews } } }')
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(body) and "SELECT" not in str(body)
    assert "secret internals" in caplog.text  # the operator still sees it in the log


def test_queries_are_bounded(client: TestClient) -> None:
    aliases = " ".join(f'a{i}: site(id: "shop.example.com") {{ id }}' for i in range(30))
    body = graphql(client, "{ " + aliases + " }")
    assert "aliases" in body["errors"][0]["message"].lower()


def test_http_level_authentication(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/graphql", headers=bearer(make_token(FakeClock(NOW.timestamp()))))
    assert response.status_code in (404, 405)
