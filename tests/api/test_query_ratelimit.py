"""Rate limits: the token bucket's arithmetic, atomicity across limiters sharing a real
Redis, the in-memory fallback, and what clients see (429, Retry-After, RateLimit-*)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as redis_asyncio
from fastapi.testclient import TestClient

from api.query.app import redis_client
from api.query.ratelimit import InMemoryRateLimiter, RateLimitDecision, RedisRateLimiter
from tests.api.query_support import FakeClock, PipelineData, api_settings, bearer, make_token, serve

pytest_plugins = ["tests.api.redis_fixture", "tests.api.query_fixtures"]

STATS = "/v1/sites/shop.example.com/stats"


def test_bucket_allows_a_burst_then_the_steady_rate(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock=clock)
    decisions = [limiter.hit_sync("k", 60) for _ in range(61)]
    assert all(decision.allowed for decision in decisions[:60])
    assert [decision.remaining for decision in decisions[:3]] == [59, 58, 57]
    refused = decisions[60]
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.retry_after_seconds == pytest.approx(1.0)  # one token per second
    assert refused.reset_seconds == pytest.approx(60.0)
    assert refused.headers() == {
        "RateLimit-Limit": "60",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "60",
        "Retry-After": "1",
    }
    clock.advance(0.999)
    assert not limiter.hit_sync("k", 60).allowed
    clock.advance(0.001)
    assert limiter.hit_sync("k", 60).allowed
    # Another key has its own bucket.
    assert limiter.hit_sync("other", 60).remaining == 59
    # A full period later the bucket is full again.
    clock.advance(60)
    assert limiter.hit_sync("k", 60).remaining == 59


def test_in_memory_limiter_drops_least_recent_keys(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock=clock, max_keys=2)
    limiter.hit_sync("a", 1)
    limiter.hit_sync("b", 1)
    limiter.hit_sync("c", 1)  # "a" is forgotten: only ever more lenient
    assert limiter.hit_sync("a", 1).allowed
    assert not limiter.hit_sync("c", 1).allowed


def test_redis_limiter_matches_the_in_memory_one(redis_url: str, clock: FakeClock) -> None:
    async def scenario() -> tuple[list[RateLimitDecision], list[RateLimitDecision]]:
        client = redis_asyncio.from_url(redis_url)
        try:
            limiter = RedisRateLimiter(client, clock=clock)
            memory = InMemoryRateLimiter(clock=clock)
            from_redis, from_memory = [], []
            for step in range(25):
                if step == 12:
                    clock.advance(6)  # 10 per minute: one token every 6 s
                from_redis.append(await limiter.hit("token", 10))
                from_memory.append(memory.hit_sync("token", 10))
            return from_redis, from_memory
        finally:
            await client.aclose()

    from_redis, from_memory = asyncio.run(scenario())
    assert from_redis == from_memory
    assert sum(decision.allowed for decision in from_redis) == 10 + 1  # burst + one refill


def test_two_limiters_sharing_redis_count_atomically(redis_url: str, clock: FakeClock) -> None:
    """Two limiter instances (two API replicas), each on its own connection pool and
    event loop thread, hammer one key at the same frozen instant: exactly the limit is
    allowed in total, whatever the interleaving."""
    limit, per_replica = 150, 300
    allowed: list[int] = []
    spans: list[tuple[float, float]] = []
    barrier = threading.Barrier(2)

    def replica() -> None:
        async def run() -> int:
            client = redis_client(redis_url, max_connections=16)
            try:
                limiter = RedisRateLimiter(client, clock=clock)
                await limiter.hit("warm-up", limit)  # connections open before the race
                barrier.wait()
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(limiter.hit("shared-token", limit) for _ in range(per_replica))
                )
                spans.append((started, time.perf_counter()))
                return sum(result.allowed for result in results)
            finally:
                await client.aclose()

        allowed.append(asyncio.run(run()))

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 2
    assert sum(allowed) == limit
    # The two ran at the same time (otherwise the test would prove nothing).
    assert max(start for start, _ in spans) < min(end for _, end in spans)


def test_redis_outage_falls_back_to_memory(clock: FakeClock) -> None:
    fallbacks: list[int] = []

    async def scenario() -> list[RateLimitDecision]:
        # A port nothing listens on (the discard port on loopback).
        client = redis_asyncio.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
        try:
            limiter = RedisRateLimiter(client, clock=clock, on_fallback=lambda: fallbacks.append(1))
            return [await limiter.hit("k", 2) for _ in range(3)]
        finally:
            await client.aclose()

    decisions = asyncio.run(scenario())
    assert [decision.allowed for decision in decisions] == [True, True, False]
    assert len(fallbacks) == 3


@pytest.fixture
def free_tier_client(pipeline_data: PipelineData, clock: FakeClock) -> Iterator[TestClient]:
    with serve(pipeline_data, clock, api_settings(pipeline_data, api_rate_limit_free=3)) as client:
        yield client


def test_http_429_with_headers(free_tier_client: TestClient, clock: FakeClock) -> None:
    token = make_token(clock, tier="free", jti="limited")
    seen = []
    for _ in range(3):
        response = free_tier_client.get(STATS, headers=bearer(token))
        assert response.status_code == 200
        seen.append(response.headers["RateLimit-Remaining"])
        assert response.headers["RateLimit-Limit"] == "3"
    assert seen == ["2", "1", "0"]
    refused = free_tier_client.get(STATS, headers=bearer(token))
    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited", "message": "too many requests"}
    assert refused.headers["Retry-After"] == "20"  # 60 s / 3 requests
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Reset"] == "60"
    # Refusals count nothing: after the wait, exactly one more request passes.
    clock.advance(20)
    assert free_tier_client.get(STATS, headers=bearer(token)).status_code == 200
    assert free_tier_client.get(STATS, headers=bearer(token)).status_code == 429
    # Another token of the same subject has a bucket of its own.
    other = make_token(clock, tier="free", jti="another")
    assert free_tier_client.get(STATS, headers=bearer(other)).status_code == 200


def test_every_counted_response_carries_the_headers(
    free_tier_client: TestClient, clock: FakeClock
) -> None:
    token = make_token(clock, tier="free", jti="headers", permissions=["stats:read"])
    responses = [
        free_tier_client.get(STATS, headers=bearer(token)),  # 200
        free_tier_client.get("/v1/sites/shop.example.com/sessions", headers=bearer(token)),  # 403
        free_tier_client.get(STATS + "?from=nonsense", headers=bearer(token)),  # 422
    ]
    assert [response.status_code for response in responses] == [200, 403, 422]
    assert [response.headers["RateLimit-Remaining"] for response in responses] == ["2", "1", "0"]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    metrics = free_tier_client.get("/metrics").text
    free_tier_client.get(STATS, headers=bearer(token))
    after = free_tier_client.get("/metrics").text
    assert 'insightlite_api_rate_limit_rejections_total{tier="free"} 1.0' in after
    assert "rate_limit_rejections_total{" not in metrics or 'tier="free"} 1.0' not in metrics


def test_http_limits_shared_through_redis(
    pipeline_data: PipelineData, clock: FakeClock, redis_url: str
) -> None:
    """Two app instances (replicas) with one Redis share each token's bucket."""
    settings = api_settings(pipeline_data, api_rate_limit_pro=4, redis_url=redis_url)
    token = make_token(clock, tier="pro", jti="replicated")
    with serve(pipeline_data, clock, settings) as first:
        statuses = [first.get(STATS, headers=bearer(token)).status_code for _ in range(2)]
    with serve(pipeline_data, clock, settings) as second:
        statuses += [second.get(STATS, headers=bearer(token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200, 200, 429]


def test_costs_and_peeks_in_redis_match_the_in_memory_limiter(
    redis_url: str, clock: FakeClock
) -> None:
    """A hit of cost N takes N tokens, a peek takes none, in both stores alike."""
    steps = [("hit", 4), ("peek", 6), ("hit", 6), ("peek", 1), ("hit", 1), ("advance", 12)]
    steps += [("peek", 2), ("hit", 2), ("hit", 1)]

    async def scenario() -> tuple[list[RateLimitDecision], list[RateLimitDecision]]:
        client = redis_asyncio.from_url(redis_url)
        try:
            limiter = RedisRateLimiter(client, clock=clock)
            memory = InMemoryRateLimiter(clock=clock)
            from_redis, from_memory = [], []
            for action, amount in steps:
                if action == "advance":
                    clock.advance(amount)  # 10 per minute: one token every 6 s
                    continue
                for store, results in ((limiter, from_redis), (memory, from_memory)):
                    call = store.hit if action == "hit" else store.peek
                    results.append(await call("token", 10, amount))
            return from_redis, from_memory
        finally:
            await client.aclose()

    from_redis, from_memory = asyncio.run(scenario())
    assert from_redis == from_memory
    assert [decision.allowed for decision in from_redis] == [
        True,  # 4 of 10
        True,  # 6 are there
        True,  # 6 taken: 0 left
        False,
        False,
        True,  # 12 s later: 2 back
        True,
        False,
    ]
    assert from_redis[3].retry_after_seconds == pytest.approx(6.0)
    assert from_redis[1].remaining == 6  # a peek takes nothing
    with pytest.raises(ValueError, match="cost"):
        InMemoryRateLimiter(clock=clock).hit_sync("token", 10, 11)
