"""The answer cache: TTL and LRU by the injected clock, a real Redis layer shared by
replicas, staleness bounded by the TTL, sites never sharing entries, failures passing
through, and what the HTTP API serves while data changes underneath."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from api.query.app import redis_client
from api.query.cache import Codec, ResponseCache, cache_key
from connectors.clickhouse import connect
from tests.api.query_support import FakeClock, PipelineData, api_settings, bearer, make_token, serve

pytest_plugins = ["tests.api.redis_fixture", "tests.api.query_fixtures"]

TEXT = Codec[str](lambda value: value.encode(), lambda data: data.decode())


class Counter:
    """A computation that says how often it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: str) -> Callable[[], Awaitable[str]]:
        async def compute() -> str:
            self.calls += 1
            await asyncio.sleep(0)
            return value

        return compute


def test_keys_hold_the_site_and_every_parameter() -> None:
    base = {"path": "/", "type": "click", "device": None, "date_from": "2026-11-01"}
    key = cache_key("shop.example.com", "heatmap", base)
    assert key.startswith("shop.example.com:heatmap:")
    assert cache_key("blog.example.org", "heatmap", base) != key
    assert cache_key("shop.example.com", "scroll_depth", base) != key
    for name, other in (("path", "/cart"), ("type", "move"), ("device", "mobile")):
        assert cache_key("shop.example.com", "heatmap", {**base, name: other}) != key
    # Order of parameters does not matter; values do.
    assert cache_key("shop.example.com", "heatmap", dict(reversed(base.items()))) == key


def test_local_layer_expires_by_the_clock_and_evicts_least_recent(clock: FakeClock) -> None:
    outcomes: list[tuple[str, str]] = []
    cache = ResponseCache(
        ttl_seconds=300,
        max_entries=2,
        clock=clock,
        on_result=lambda kind, outcome: outcomes.append((kind, outcome)),
    )
    compute = Counter()

    async def scenario() -> list[str]:
        answers = [
            await cache.get_or_compute("a", "k", compute("a1"), TEXT),
            await cache.get_or_compute("a", "k", compute("a2"), TEXT),  # hit
        ]
        clock.advance(299.9)
        answers.append(await cache.get_or_compute("a", "k", compute("a3"), TEXT))  # hit
        clock.advance(0.1)
        answers.append(await cache.get_or_compute("a", "k", compute("a4"), TEXT))  # expired
        await cache.get_or_compute("b", "k", compute("b1"), TEXT)
        await cache.get_or_compute("c", "k", compute("c1"), TEXT)  # evicts "a"
        answers.append(await cache.get_or_compute("a", "k", compute("a5"), TEXT))
        return answers

    assert asyncio.run(scenario()) == ["a1", "a1", "a1", "a4", "a5"]
    assert compute.calls == 5
    assert [outcome for _, outcome in outcomes] == [
        "miss",
        "local",
        "local",
        "miss",
        "miss",
        "miss",
        "miss",
    ]


def test_zero_ttl_turns_caching_off(clock: FakeClock) -> None:
    cache = ResponseCache(ttl_seconds=0, clock=clock)
    compute = Counter()

    async def scenario() -> None:
        for _ in range(3):
            await cache.get_or_compute("a", "k", compute("x"), TEXT)

    asyncio.run(scenario())
    assert compute.calls == 3


def test_concurrent_misses_compute_once(clock: FakeClock) -> None:
    cache = ResponseCache(ttl_seconds=60, clock=clock)
    compute = Counter()

    async def scenario() -> list[str]:
        return list(
            await asyncio.gather(
                *(cache.get_or_compute("a", "k", compute("x"), TEXT) for _ in range(20))
            )
        )

    assert asyncio.run(scenario()) == ["x"] * 20
    assert compute.calls == 1


def test_failures_are_not_cached(clock: FakeClock) -> None:
    cache = ResponseCache(ttl_seconds=60, clock=clock)
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await cache.get_or_compute("a", "k", failing, TEXT)

    asyncio.run(scenario())
    assert calls == 2


def test_redis_layer_is_shared_and_keeps_the_creation_time(
    redis_url: str, clock: FakeClock
) -> None:
    """A second replica reads the first one's answer from Redis; its local copy expires
    when the original would, so no answer outlives the TTL from its computation."""
    compute = Counter()

    async def scenario() -> list[str]:
        client = redis_client(redis_url)
        try:
            outcomes: list[str] = []
            replica_a = ResponseCache(ttl_seconds=300, redis=client, clock=clock)
            replica_b = ResponseCache(
                ttl_seconds=300,
                redis=client,
                clock=clock,
                on_result=lambda kind, outcome: outcomes.append(outcome),
            )
            answers = [await replica_a.get_or_compute("site:k:1", "k", compute("v1"), TEXT)]
            clock.advance(200)
            answers.append(await replica_b.get_or_compute("site:k:1", "k", compute("v2"), TEXT))
            clock.advance(99)
            answers.append(await replica_b.get_or_compute("site:k:1", "k", compute("v3"), TEXT))
            clock.advance(1)  # 300 s after v1 was computed: stale in both layers
            answers.append(await replica_b.get_or_compute("site:k:1", "k", compute("v4"), TEXT))
            assert outcomes == ["redis", "local", "miss"]
            stored = await client.get("insightlite:cache:v1:site:k:1")
            assert stored is not None and stored.endswith(b"v4")
            return answers
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == ["v1", "v1", "v1", "v4"]
    assert compute.calls == 2


def test_forgetting_a_site_drops_its_answers_in_both_layers_only(
    redis_url: str, clock: FakeClock
) -> None:
    """After an erasure: no answer of the site is served again, from this process or
    from Redis; other sites' answers stay."""
    compute = Counter()

    async def scenario() -> list[str]:
        client = redis_client(redis_url)
        try:
            cache = ResponseCache(ttl_seconds=300, redis=client, clock=clock)
            other_replica = ResponseCache(ttl_seconds=300, redis=client, clock=clock)
            await cache.get_or_compute("gone.example:k:1", "k", compute("old"), TEXT)
            await cache.get_or_compute("gone.example:k:2", "k", compute("old"), TEXT)
            await cache.get_or_compute("kept.example:k:1", "k", compute("kept"), TEXT)
            await cache.forget_site("gone.example")
            assert await client.get("insightlite:cache:v1:gone.example:k:1") is None
            return [
                await cache.get_or_compute("gone.example:k:1", "k", compute("new"), TEXT),
                await other_replica.get_or_compute("gone.example:k:2", "k", compute("new"), TEXT),
                await other_replica.get_or_compute("kept.example:k:1", "k", compute("x"), TEXT),
            ]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == ["new", "new", "kept"]
    assert compute.calls == 5


def test_redis_outage_passes_through(clock: FakeClock) -> None:
    compute = Counter()

    async def scenario() -> list[str]:
        client = redis_client("redis://127.0.0.1:9/0")
        try:
            cache = ResponseCache(ttl_seconds=60, redis=client, clock=clock)
            first = await cache.get_or_compute("a", "k", compute("x"), TEXT)
            second = await cache.get_or_compute("a", "k", compute("y"), TEXT)  # local hit
            return [first, second]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == ["x", "x"]
    assert compute.calls == 1


def _add_clicks(data: PipelineData, site: str, path: str, count: int) -> None:
    """New heatmap counts written meanwhile, as the pipeline would."""
    client = connect(
        data.settings.resolved_clickhouse_url, database=data.settings.clickhouse_database
    )
    try:
        client.insert_arrow(
            "heatmap_aggregates",
            pa.table(
                {
                    "site_id": [site],
                    "url_path": [path],
                    "device_type": ["desktop"],
                    "date_bucket": pa.array([data.day], pa.date32()),
                    "interaction_type": ["click"],
                    "grid_x": pa.array([99], pa.uint16()),
                    "grid_y": pa.array([9999], pa.uint16()),
                    "interaction_count": pa.array([count], pa.uint64()),
                    "last_updated": pa.array([datetime.now(UTC)], pa.timestamp("s", tz="UTC")),
                }
            ),
        )
    finally:
        client.close()


@pytest.mark.parametrize("with_redis", [False, True])
def test_http_answers_are_cached_until_the_ttl(
    pipeline_data: PipelineData, clock: FakeClock, request: pytest.FixtureRequest, with_redis: bool
) -> None:
    redis_url = request.getfixturevalue("redis_url") if with_redis else ""
    # A page of its own per run: the counts added here stay in the session's data.
    site, path = "docs.example.net", f"/cache-test-page-{with_redis}"
    settings = api_settings(pipeline_data, cache_ttl_seconds=300, redis_url=redis_url)
    token = bearer(make_token(clock))
    url = f"/v1/sites/{site}/heatmap?path={path}"
    with serve(pipeline_data, clock, settings) as client:
        assert client.get(url, headers=token).json()["total"] == 0
        _add_clicks(pipeline_data, site, path, 7)
        # Within the TTL the cached answer is served: stale by at most the TTL.
        clock.advance(299)
        assert client.get(url, headers=token).json()["total"] == 0
        clock.advance(1)
        assert client.get(url, headers=token).json()["total"] == 7
        # The same page of another site is another entry.
        other = client.get(f"/v1/sites/shop.example.com/heatmap?path={path}", headers=token)
        assert other.json()["total"] == 0
        metrics = client.get("/metrics").text
        assert 'insightlite_api_cache_lookups_total{kind="heatmap",outcome="local"} 1.0' in metrics
        assert 'insightlite_api_cache_lookups_total{kind="heatmap",outcome="miss"} 3.0' in metrics
    if with_redis:
        # A fresh replica finds the answers in Redis.
        with serve(pipeline_data, clock, settings) as replica:
            assert replica.get(url, headers=token).json()["total"] == 7
            metrics = replica.get("/metrics").text
            assert 'cache_lookups_total{kind="heatmap",outcome="redis"} 1.0' in metrics
