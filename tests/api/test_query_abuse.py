"""The query API under abuse: costly GraphQL queries refused before they run and charged
to the rate limiter, introspection off, one token's requests and queries bounded so
another token is still served, and refused requests limited per client address."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from connectors.clickhouse import ClickHouseClient, connect
from foundation.settings import Settings
from tests.api.query_support import (
    FakeClock,
    PipelineData,
    api_settings,
    bearer,
    build_app,
    make_token,
    serve,
)

pytest_plugins = ["tests.api.redis_fixture", "tests.api.query_fixtures"]

SHOP = "shop.example.com"
BLOG = "blog.example.org"
STATS = f"/v1/sites/{SHOP}/stats"
HEAVY_FIELDS = (
    'stats(from: "{d}") {{ pageviews }} timeseries(from: "{d}") {{ interval }} '
    'breakdown(by: PAGE, from: "{d}") {{ by }} errors(from: "{d}") {{ message }} '
    'heatmap(path: "/", from: "{d}") {{ total }} '
    'scrollDepth(path: "/", from: "{d}") {{ totalViews }} sessions(from: "{d}") {{ nextCursor }}'
)
# 2 + 2 + 2 + 1 + 1 + 1 + 1 ClickHouse queries per site alias.
HEAVY_COST = 10


def abusive_query(aliases: int = 19) -> str:
    """The reported attack: 19 site aliases x 7 heavy fields, each alias with its own
    range so no answer comes from the cache."""
    sites = [
        f'a{i}: site(id: "{SHOP}") {{ ' + HEAVY_FIELDS.format(d=f"2026-11-{i + 1:02d}") + " }"
        for i in range(aliases)
    ]
    return "{ " + " ".join(sites) + " }"


class Gate:
    """Counts the ClickHouse queries the app runs and can hold those of one site."""

    def __init__(self, data: PipelineData) -> None:
        self.settings = data.settings
        self.queries = 0
        self.held_site: str | None = None
        self.open = threading.Event()
        self.open.set()
        self.waiting = 0
        self.most_waiting = 0
        self.lock = threading.Lock()

    def hold(self, site: str) -> None:
        self.held_site = site
        self.open.clear()

    def release(self) -> None:
        self.open.set()

    def client(self) -> ClickHouseClient:
        inner = connect(
            self.settings.resolved_clickhouse_url, database=self.settings.clickhouse_database
        )
        return cast(ClickHouseClient, GatedClient(self, inner))

    def before_query(self, params: Mapping[str, Any] | None) -> None:
        with self.lock:
            self.queries += 1
        values = params or {}
        if self.held_site is None or self.held_site not in (
            values.get("site"),
            values.get("site_id"),
        ):
            return
        with self.lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        try:
            assert self.open.wait(timeout=60), "the gate was never opened"
        finally:
            with self.lock:
                self.waiting -= 1


class GatedClient:
    """A real chdb client whose reads pass through a :class:`Gate` first (everything
    else goes straight to the client)."""

    def __init__(self, gate: Gate, inner: ClickHouseClient) -> None:
        self._gate = gate
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        self._gate.before_query(params)
        return self._inner.query(sql, params)

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        self._gate.before_query(params)
        return self._inner.query_arrow(sql, params)


@pytest.fixture
def gate(pipeline_data: PipelineData) -> Gate:
    return Gate(pipeline_data)


def gated(data: PipelineData, clock: FakeClock, gate: Gate, **settings: Any) -> Any:
    values: dict[str, Any] = {"cache_ttl_seconds": 0}
    values.update(settings)
    return serve(data, clock, api_settings(data, **values), client_factory=gate.client)


def post_graphql(client: TestClient, token: str, query: str, **extra: Any) -> Any:
    return client.post("/graphql", json={"query": query, **extra}, headers=bearer(token))


def test_abusive_query_is_refused_before_any_clickhouse_query(
    pipeline_data: PipelineData, clock: FakeClock, gate: Gate
) -> None:
    with gated(pipeline_data, clock, gate) as client:
        token = make_token(clock, tier="free", jti="abuser")
        response = post_graphql(client, token, abusive_query())
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        (error,) = body["errors"]
        cost = 19 * HEAVY_COST
        assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": cost, "maximum": 20}
        assert (
            error["message"] == f"the query costs {cost}, more than the free tier's maximum of 20"
        )
        assert gate.queries == 0
        assert response.headers["RateLimit-Remaining"] == "59"  # a refused query takes one
        # The same query fits an enterprise token's maximum (500) and runs.
        rich = make_token(clock, tier="enterprise", jti="rich")
        answered = post_graphql(client, rich, abusive_query())
        assert "errors" not in answered.json()
        assert gate.queries == 19 * HEAVY_COST
        assert answered.headers["RateLimit-Remaining"] == str(6000 - cost)
        metrics = client.get("/metrics").text
        assert 'insightlite_api_graphql_cost_rejections_total{tier="free"} 1.0' in metrics


def test_a_query_takes_its_cost_in_tokens(
    pipeline_data: PipelineData, clock: FakeClock, gate: Gate
) -> None:
    with gated(pipeline_data, clock, gate, api_rate_limit_free=25) as client:
        token = make_token(clock, tier="free", jti="payer")
        remaining = []
        for _ in range(2):
            response = post_graphql(client, token, abusive_query(aliases=1))
            assert "errors" not in response.json()
            remaining.append(response.headers["RateLimit-Remaining"])
        assert remaining == ["15", "5"]
        queries_before = gate.queries
        refused = post_graphql(client, token, abusive_query(aliases=1))
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert refused.headers["Retry-After"] == "12"  # 5 more tokens at one per 2.4 s
        assert gate.queries == queries_before  # nothing ran
        # A cheap query still fits, and a malformed one takes one token too.
        assert (
            post_graphql(client, token, "{ " + f'site(id: "{SHOP}")' + " { id } }").status_code
            == 200
        )
        bad = post_graphql(client, token, "{ site(id: ) }")
        assert bad.status_code == 200 and bad.headers["RateLimit-Remaining"] == "3"
        clock.advance(16.8)  # 7 more tokens
        assert post_graphql(client, token, abusive_query(aliases=1)).status_code == 200


def test_an_empty_bucket_answers_429_before_parsing(
    pipeline_data: PipelineData, clock: FakeClock, gate: Gate
) -> None:
    with gated(pipeline_data, clock, gate, api_rate_limit_free=1) as client:
        token = make_token(clock, tier="free", jti="empty")
        assert post_graphql(client, token, "{ __typename }").status_code == 200
        refused = post_graphql(client, token, "{ not even graphql")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"


def test_costs_are_shared_through_redis(
    pipeline_data: PipelineData, clock: FakeClock, gate: Gate, redis_url: str
) -> None:
    settings = api_settings(
        pipeline_data, api_rate_limit_pro=30, redis_url=redis_url, cache_ttl_seconds=0
    )
    token = make_token(clock, tier="pro", jti="replicated-cost")
    with serve(pipeline_data, clock, settings, client_factory=gate.client) as first:
        assert post_graphql(first, token, abusive_query(aliases=2)).status_code == 200
    with serve(pipeline_data, clock, settings, client_factory=gate.client) as second:
        assert post_graphql(second, token, abusive_query(aliases=1)).status_code == 200
        assert post_graphql(second, token, abusive_query(aliases=1)).status_code == 429


def test_heavy_rest_routes_take_more_tokens(pipeline_data: PipelineData, clock: FakeClock) -> None:
    with serve(pipeline_data, clock, api_settings(pipeline_data, api_rate_limit_free=60)) as client:
        token = make_token(clock, tier="free", jti="rest-costs")
        headers = bearer(token)
        assert client.get(STATS, headers=headers).headers["RateLimit-Remaining"] == "59"
        png = client.get(f"/v1/sites/{SHOP}/heatmap.png?path=/", headers=headers)
        assert png.status_code == 200 and png.headers["RateLimit-Remaining"] == "57"
        export = client.post(
            f"/v1/sites/{SHOP}/exports",
            json={"kind": "sessions", "format": "csv", "from": "2026-11-24", "to": "2026-11-25"},
            headers=headers,
        )
        assert export.status_code == 202 and export.headers["RateLimit-Remaining"] == "47"


@pytest.mark.parametrize(
    ("settings", "status_or_code"),
    [({}, "refused"), ({"api_graphql_introspection": True}, "answered")],
)
def test_introspection_is_off_unless_turned_on(
    pipeline_data: PipelineData, clock: FakeClock, settings: dict[str, Any], status_or_code: str
) -> None:
    with serve(pipeline_data, clock, api_settings(pipeline_data, **settings)) as client:
        token = make_token(clock)
        body = post_graphql(client, token, "{ __schema { queryType { name } } }").json()
        if status_or_code == "refused":
            assert "introspection" in body["errors"][0]["message"].lower()
        else:
            assert body["data"]["__schema"]["queryType"]["name"] == "Query"
        # __typename is not introspection of the schema, and stays allowed.
        assert post_graphql(client, token, "{ __typename }").json()["data"] == {
            "__typename": "Query"
        }
        # The depth limit covers introspection fields too.
        deep = (
            "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }"
        )
        errors = post_graphql(client, token, deep).json()["errors"]
        assert any("maximum operation depth of 6" in error["message"] for error in errors)


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to get somewhere (a deadlock guard, not a measurement)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()), daemon=True)
    thread.start()
    return thread, results


def test_one_tokens_heavy_queries_do_not_starve_another(
    pipeline_data: PipelineData, clock: FakeClock, gate: Gate
) -> None:
    """One token's GraphQL query asks for four fields at once while its site's queries
    are held: only two of them run (two of the four pool clients); another token's
    request is answered meanwhile."""
    with gated(pipeline_data, clock, gate, api_clickhouse_pool_size=4) as client:
        heavy = make_token(clock, jti="heavy")
        other = make_token(clock, jti="other")
        query = (
            "{ " + f'site(id: "{SHOP}")' + ' { heatmap(path: "/") { total } scrollDepth(path: "/") '
            "{ totalViews } sessions { nextCursor } errors { message } } }"
        )
        gate.hold(SHOP)
        thread, results = in_background(lambda: post_graphql(client, heavy, query))
        wait_until(lambda: gate.waiting == 2)
        served, served_results = in_background(
            lambda: client.get(f"/v1/sites/{BLOG}/stats", headers=bearer(other))
        )
        served.join(timeout=30)
        assert served_results and served_results[0].status_code == 200
        gate.release()
        thread.join(timeout=30)
        assert "errors" not in results[0].json()
        assert gate.most_waiting == 2


def test_too_many_requests_of_one_token_in_progress_answer_429(
    pipeline_data: PipelineData, clock: FakeClock, gate: Gate
) -> None:
    with gated(
        pipeline_data, clock, gate, api_clickhouse_pool_size=4, api_max_requests_per_token=2
    ) as client:
        token = make_token(clock, jti="busy")
        slots = client.app.state.services.slots
        key = "sub:tester:jti:busy"
        gate.hold(SHOP)
        running = [
            in_background(lambda: client.get(STATS, headers=bearer(token))) for _ in range(2)
        ]
        wait_until(lambda: slots.in_progress(key) == 2)
        refused = client.get(STATS, headers=bearer(token))
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_in_progress"
        assert refused.headers["Retry-After"] == "1"
        # Another token is not affected.
        assert (
            client.get(f"/v1/sites/{BLOG}/stats", headers=bearer(make_token(clock))).status_code
            == 200
        )
        gate.release()
        for thread, results in running:
            thread.join(timeout=30)
            assert results[0].status_code == 200
        assert slots.in_progress(key) == 0
        assert client.get(STATS, headers=bearer(token)).status_code == 200


@pytest.fixture
def address_settings(pipeline_data: PipelineData) -> Settings:
    return api_settings(pipeline_data, api_rate_limit_refused_per_address=3)


def test_refused_requests_are_limited_per_address(
    pipeline_data: PipelineData, clock: FakeClock, address_settings: Settings
) -> None:
    app = build_app(pipeline_data, clock, address_settings)
    with (
        TestClient(app, raise_server_exceptions=False, client=("203.0.113.7", 40000)) as guesser,
        TestClient(app, raise_server_exceptions=False, client=("198.51.100.2", 40000)) as neighbour,
    ):
        good = bearer(make_token(clock))
        statuses = [
            guesser.get(STATS).status_code,  # 401: no token
            guesser.get(STATS, headers=bearer("not-a-token")).status_code,  # 401
            guesser.get(STATS, headers=good).status_code,  # 200 does not count
            guesser.get(
                f"/v1/sites/{SHOP}/stats", headers=bearer(make_token(clock, sites=[BLOG]))
            ).status_code,  # 403
        ]
        assert statuses == [401, 401, 200, 403]
        refused = guesser.get(STATS, headers=good)  # the bucket is empty now
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "rate_limited",
            "message": "too many refused requests from this address",
        }
        assert refused.headers["Retry-After"] == "20"
        assert guesser.post("/graphql", json={"query": "{ __typename }"}).status_code == 429
        assert guesser.get("/health").status_code == 200  # monitoring stays reachable
        # Another address has a bucket of its own.
        assert neighbour.get(STATS, headers=good).status_code == 200
        clock.advance(20)
        assert guesser.get(STATS, headers=good).status_code == 200
        metrics = guesser.get("/metrics").text
        assert "insightlite_api_address_rate_limit_rejections_total 2.0" in metrics
