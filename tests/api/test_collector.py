"""The collector against a real Kafka broker: what it accepts, what it refuses, and why."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest
from confluent_kafka.admin import NewTopic
from starlette.applications import Starlette

from api.collector.app import create_app
from api.collector.envelope import client_ip, parse_networks, rate_limit_key
from api.collector.ratelimit import TokenBuckets
from connectors.kafka.topics import RAW_EVENTS, create_topics, topic_name
from devtools.generator import generate_records
from devtools.load import (
    Unsendable,
    collector_batches,
    live_raw_record,
    post_to_collector,
    produce_to_kafka,
)
from devtools.local_kafka import LocalKafka, free_port
from foundation.settings import ConfigError, Settings, load_settings
from insightlite.cli.generate import add_load_options, run_generate_to
from tests.api.collector_replay_support import FakeClock, serving
from tests.api.collector_visitors import expected_visitor
from tests.kafka_fixture import TopicFactory, read_topic

pytestmark = pytest.mark.anyio

RECEIVED_AT = 1_764_067_200_000
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
PEER = ("198.51.100.7", 51000)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_event(
    session_id: str = "", site_id: str = "shop.example.com", **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "v": 1,
        "event_id": str(uuid.uuid4()),
        "site_id": site_id,
        "session_id": session_id or str(uuid.uuid4()),
        "type": "pageview",
        "ts": RECEIVED_AT - 1_000,
        "url": "https://shop.example.com/",
    }
    event.update(extra)
    return event


class Harness:
    """One collector app on the session broker with its own raw_events topic."""

    def __init__(self, app: Starlette, settings: Settings, clock: FakeClock) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.raw_topic = topic_name(settings, RAW_EVENTS)

    def visitor(self, ip: str, ua: str = "", site_id: str = "shop.example.com") -> dict[str, Any]:
        """The visitor fields the collector should write for this client, derived
        independently of the app with the key of its day from the key directory."""
        return expected_visitor(self.settings, site_id, ip, ua, self.clock.now_ms())

    def client(self, peer: tuple[str, int] = PEER) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=peer)
        return httpx.AsyncClient(transport=transport, base_url="http://collector.test")

    def records(self, count: int) -> list[tuple[bytes | None, dict[str, Any]]]:
        messages = read_topic(self.settings.kafka_bootstrap_servers, self.raw_topic, count)
        return [(message.key(), orjson.loads(message.value() or b"")) for message in messages]


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_collector(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory, tmp_path: Path
) -> Iterator[MakeHarness]:
    apps: list[Starlette] = []

    def make(*, delivery_timeout_s: float = 10.0, **overrides: Any) -> Harness:
        prefix = kafka_topics.prefix()
        settings = load_settings(
            kafka_bootstrap_servers=overrides.pop("kafka_bootstrap_servers", None)
            or kafka_broker.bootstrap_servers,
            kafka_topic_prefix=prefix,
            visitor_key_store=overrides.pop("visitor_key_store", None)
            or str(tmp_path / f"keys-{len(apps)}"),
            **overrides,
        )
        raw = topic_name(settings, RAW_EVENTS)
        if settings.kafka_bootstrap_servers == kafka_broker.bootstrap_servers:
            kafka_topics.admin.create_topics([NewTopic(raw, 2, 1)])[raw].result(timeout=30)
            kafka_topics.wait_listed(raw)
        clock = FakeClock(RECEIVED_AT, 1_000.0)
        app = create_app(
            settings,
            now_ms=clock.now_ms,
            monotonic=clock.monotonic,
            delivery_timeout_s=delivery_timeout_s,
        )
        apps.append(app)
        return Harness(app, settings, clock)

    yield make
    for app in apps:
        app.state.collector.sink.close(timeout=5)


@pytest.fixture
async def collector(make_collector: MakeHarness) -> AsyncIterator[Harness]:
    yield make_collector()


# --- accepted ------------------------------------------------------------------


async def test_batch_is_written_to_raw_events_keyed_by_session(collector: Harness) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    events = [make_event(first), make_event(first, type="click", x=1, y=2, vw=800, vh=600)]
    events.append(make_event(second, ip="6.6.6.6", received_at=1))  # spoofed: overwritten
    async with collector.client() as client:
        response = await client.post("/ingest", json=events, headers={"User-Agent": CHROME})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3}
    assert response.headers["access-control-allow-origin"] == "*"

    records = collector.records(3)
    by_event = {value["event_id"]: (key, value) for key, value in records}
    for sent in events:
        key, value = by_event[sent["event_id"]]
        assert key == sent["session_id"].encode()
        assert "ip" not in value and "ua" not in value
        assert value["visitor"] == collector.visitor(PEER[0], CHROME)
        assert value["received_at"] == RECEIVED_AT
        assert {k: v for k, v in value.items() if k not in ("visitor", "received_at")} == {
            k: v for k, v in sent.items() if k not in ("ip", "ua", "received_at")
        }


async def test_gzip_body_is_accepted(collector: Harness) -> None:
    events = [make_event() for _ in range(20)]
    async with collector.client() as client:
        response = await client.post(
            "/ingest",
            content=gzip.compress(orjson.dumps(events)),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    assert response.status_code == 202, response.text
    assert {value["event_id"] for _, value in collector.records(20)} == {
        event["event_id"] for event in events
    }


@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", None])
async def test_send_beacon_bodies_are_accepted(
    collector: Harness, content_type: str | None
) -> None:
    # navigator.sendBeacon posts a string as text/plain (no CORS preflight), a Blob
    # without a type with no Content-Type at all.
    headers = {"Content-Type": content_type} if content_type else {}
    async with collector.client() as client:
        response = await client.post(
            "/ingest", content=orjson.dumps([make_event()]), headers=headers
        )
    assert response.status_code == 202, response.text
    assert len(collector.records(1)) == 1


async def test_cors_preflight(collector: Harness) -> None:
    async with collector.client() as client:
        response = await client.options(
            "/ingest",
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,content-encoding",
            },
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed and "content-encoding" in allowed
    assert "access-control-allow-credentials" not in response.headers


# --- refused -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[{", "not valid JSON"),
        (b'{"site_id": "a"}', "must be a JSON array of events, not a JSON object"),
        (b"[]", "no events"),
        (b"[1]", "event 0 is a JSON number, not an object"),
        (b'[{"site_id": "a"}, {"session_id": "s"}]', "event 1 has no site_id string"),
        (b'[{"site_id": 7}]', "event 0 has no site_id string"),
        (
            b"[" + b",".join([b'{"site_id":"a"}'] * 501) + b"]",
            "501 events in one request; at most 500",
        ),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_bad_envelopes_get_400_with_the_reason(
    collector: Harness, body: bytes, reason: str
) -> None:
    async with collector.client() as client:
        response = await client.post(
            "/ingest", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert response.headers["access-control-allow-origin"] == "*"


async def test_site_outside_the_allowlist_gets_400(make_collector: MakeHarness) -> None:
    harness = make_collector(site_allowlist="shop.example.com")
    async with harness.client() as client:
        response = await client.post(
            "/ingest", json=[make_event(), make_event(site_id="evil.example.net")]
        )
    assert response.status_code == 400
    assert "event 1: site_id 'evil.example.net' is not accepted" in response.json()["error"]


async def test_broken_gzip_gets_400(collector: Harness) -> None:
    body = gzip.compress(orjson.dumps([make_event()]))
    async with collector.client() as client:
        for broken in (b"not gzip at all", body[: len(body) // 2]):
            response = await client.post(
                "/ingest", content=broken, headers={"Content-Encoding": "gzip"}
            )
            assert response.status_code == 400
            assert "gzip" in response.json()["error"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Content-Type": "application/x-www-form-urlencoded"}, "Content-Type"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, "Content-Type"),
        ({"Content-Type": "application/json", "Content-Encoding": "br"}, "Content-Encoding"),
    ],
)
async def test_unsupported_media_gets_415(
    collector: Harness, headers: dict[str, str], reason: str
) -> None:
    async with collector.client() as client:
        response = await client.post("/ingest", content=b"[]", headers=headers)
    assert response.status_code == 415
    assert reason in response.json()["error"]


async def test_body_over_the_limit_gets_413(make_collector: MakeHarness) -> None:
    harness = make_collector(collector_max_body_bytes=4096)
    big = [make_event(props={"pad": "x" * 5000})]
    async with harness.client() as client:
        response = await client.post("/ingest", json=big)
    assert response.status_code == 413
    assert "larger than 4096 bytes" in response.json()["error"]


async def test_gzip_bomb_gets_413_without_inflating(make_collector: MakeHarness) -> None:
    harness = make_collector(collector_max_body_bytes=64 * 1024)
    bomb = gzip.compress(b"[" + b" " * (60 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 64 * 1024  # small on the wire, 60 MiB inflated
    async with harness.client() as client:
        started = time.perf_counter()
        response = await client.post("/ingest", content=bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed body is larger than 65536 bytes" in response.json()["error"]
    assert time.perf_counter() - started < 1.0  # stopped at the cap, not inflated whole


# --- rate limits ---------------------------------------------------------------


async def test_site_rate_limit_answers_429_with_retry_after(make_collector: MakeHarness) -> None:
    harness = make_collector(
        collector_site_rate=10,
        collector_site_burst=20,
        collector_ip_rate=1000,
        collector_ip_burst=1000,
    )
    async with harness.client() as client:
        assert (
            await client.post("/ingest", json=[make_event() for _ in range(20)])
        ).status_code == 202
        refused = await client.post("/ingest", json=[make_event() for _ in range(5)])
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"  # 5 events at 10/s: 0.5 s, rounded up
        assert "this site" in refused.json()["error"]
        # Another site has its own bucket.
        other = await client.post("/ingest", json=[make_event(site_id="blog.example.org")])
        assert other.status_code == 202
        harness.clock.advance(0.5)
        assert (
            await client.post("/ingest", json=[make_event() for _ in range(5)])
        ).status_code == 202


async def test_ip_rate_limit_answers_429_per_client(make_collector: MakeHarness) -> None:
    harness = make_collector(collector_ip_rate=1, collector_ip_burst=5)
    async with harness.client() as client:
        assert (
            await client.post("/ingest", json=[make_event() for _ in range(5)])
        ).status_code == 202
        refused = await client.post("/ingest", json=[make_event() for _ in range(3)])
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "3"
        assert "this client IP" in refused.json()["error"]
    async with harness.client(peer=("203.0.113.50", 4000)) as other_client:
        assert (await other_client.post("/ingest", json=[make_event()])).status_code == 202
    harness.clock.advance(3)
    async with harness.client() as client:
        assert (
            await client.post("/ingest", json=[make_event() for _ in range(3)])
        ).status_code == 202


async def test_a_full_bucket_admits_a_batch_larger_than_its_burst(
    make_collector: MakeHarness,
) -> None:
    harness = make_collector(collector_ip_rate=10, collector_ip_burst=5)
    async with harness.client() as client:
        assert (
            await client.post("/ingest", json=[make_event() for _ in range(8)])
        ).status_code == 202
        refused = await client.post("/ingest", json=[make_event()])
        assert refused.status_code == 429  # in debt: 3 events over, 0.4 s to one token
        assert refused.headers["retry-after"] == "1"


def test_token_buckets_keep_memory_bounded() -> None:
    buckets = TokenBuckets(rate=10, burst=10, max_keys=100)
    for index in range(1_000):
        buckets.take(f"10.0.{index // 256}.{index % 256}", 5, now=0.0)
    assert len(buckets) == 100  # an address scan cannot grow it past max_keys
    # Once refilled, idle buckets are dropped as new ones come and go.
    for index in range(200):
        buckets.take(f"fresh-{index}", 1, now=100.0 + index)
    assert len(buckets) <= 3


# --- client IP -----------------------------------------------------------------


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    make_collector: MakeHarness,
) -> None:
    harness = make_collector(collector_trusted_proxies="10.0.0.0/8")
    forwarded = {"X-Forwarded-For": "1.1.1.1, 203.0.113.9, 10.0.0.5"}
    async with harness.client(peer=("10.1.2.3", 443)) as via_proxy:
        assert (
            await via_proxy.post("/ingest", json=[make_event()], headers=forwarded)
        ).status_code == 202
    async with harness.client(peer=PEER) as direct:
        assert (
            await direct.post("/ingest", json=[make_event()], headers=forwarded)
        ).status_code == 202
    hashes = sorted(value["visitor"]["ip_hash"] for _, value in harness.records(2))
    # Through the proxy: the right-most untrusted entry (1.1.1.1 was written by the
    # client itself). Directly: the peer, whatever the header says.
    expected = [harness.visitor(ip)["ip_hash"] for ip in ("203.0.113.9", PEER[0])]
    assert hashes == sorted(expected)


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "203.0.113.9:5555, 10.0.0.2", "203.0.113.9"),
        ("10.0.0.1", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the left-most
        ("10.0.0.1", "203.0.113.9, garbage", "10.0.0.1"),  # unreadable: stop at trusted
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),  # untrusted peer
        ("::ffff:10.0.0.1", "203.0.113.9", "203.0.113.9"),  # v4-mapped proxy address
    ],
)
def test_client_ip_rules(peer: str, header: str | None, expected: str) -> None:
    assert client_ip(peer, header, parse_networks(["10.0.0.0/8"])) == expected


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # same subscriber, same bucket
        ("::ffff:198.51.100.7", "::ffff:198.51.100.7"),
        ("", ""),
    ],
)
def test_ipv6_clients_are_rate_limited_per_64(ip: str, key: str) -> None:
    assert rate_limit_key(ip) == key


# --- Kafka down ----------------------------------------------------------------


async def test_unreachable_kafka_gets_503_and_not_ready(make_collector: MakeHarness) -> None:
    harness = make_collector(
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", delivery_timeout_s=1.0
    )
    async with harness.client() as client:
        assert (await client.get("/health")).status_code == 200
        response = await client.post("/ingest", json=[make_event(), make_event()])
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "retry later" in response.json()["error"]
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        metrics = (await client.get("/metrics")).text
    assert 'insightlite_collector_requests_total{status="503"} 1.0' in metrics
    assert 'insightlite_collector_kafka_produce_errors_total{error="msg_timed_out"} 2.0' in metrics


async def test_health_ready_and_metrics(collector: Harness) -> None:
    async with collector.client() as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200 and ready.json() == {"ready": True}
        await client.post("/ingest", json=[make_event(), make_event()])
        await client.post("/ingest", content=b"{}")
        metrics = (await client.get("/metrics")).text
    assert "insightlite_collector_events_accepted_total 2.0" in metrics
    assert 'insightlite_collector_requests_total{status="202"} 1.0' in metrics
    assert 'insightlite_collector_rejected_requests_total{reason="not_an_array"} 1.0' in metrics
    assert "insightlite_collector_request_seconds_count 2.0" in metrics


async def test_broker_outage_gives_503_then_recovers(tmp_path: Any) -> None:
    # A broker of its own: the session broker must stay up for the other tests.
    broker = LocalKafka()
    broker.start()
    try:
        settings = load_settings(
            kafka_bootstrap_servers=broker.bootstrap_servers,
            visitor_key_store=str(tmp_path / "keys"),
        )
        create_topics(settings.model_copy(update={"kafka_partitions": 1}))
        app = create_app(settings, delivery_timeout_s=2.0)
        transport = httpx.ASGITransport(app=app, client=PEER)
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            assert (
                await client.post("/ingest", json=[make_event(event_id="before")])
            ).status_code == 202
            broker.kill()
            down = await client.post("/ingest", json=[make_event(event_id="during")])
            assert down.status_code == 503 and down.headers["retry-after"] == "5"
            broker.restart()
            deadline = time.monotonic() + 30
            while (await client.get("/ready")).status_code != 200:
                assert time.monotonic() < deadline, "collector never became ready again"
                await anyio.sleep(0.5)
            after = await client.post("/ingest", json=[make_event(event_id="after")])
            assert after.status_code == 202, after.text
        app.state.collector.sink.close(timeout=5)
        records = read_topic(broker.bootstrap_servers, topic_name(settings, RAW_EVENTS), 2)
        assert [orjson.loads(m.value() or b"")["event_id"] for m in records] == ["before", "after"]
    finally:
        broker.stop()


# --- a real HTTP server ----------------------------------------------------------


def test_over_real_http_forwarded_for_from_loopback_is_not_believed(
    make_collector: MakeHarness,
) -> None:
    harness = make_collector()
    with serving(harness) as base, httpx.Client(base_url=base, timeout=20) as client:
        response = client.post(
            "/ingest",
            content=gzip.compress(orjson.dumps([make_event()])),
            headers={
                "Content-Encoding": "gzip",
                "Content-Type": "text/plain",
                "X-Forwarded-For": "203.0.113.9",
                "User-Agent": CHROME,
            },
        )
        assert response.status_code == 202, response.text
        too_big = client.post("/ingest", content=b"[" + b" " * (2 * 1024 * 1024) + b"]")
        assert too_big.status_code == 413
        assert client.get("/ready").status_code == 200
    ((_, value),) = harness.records(1)
    # The peer: no trusted proxy is configured.
    assert value["visitor"] == harness.visitor("127.0.0.1", CHROME)


# --- load sources ----------------------------------------------------------------


def test_collector_batches_group_events_per_session() -> None:
    records = list(generate_records(2_000, seed=5, now_ms=RECEIVED_AT))
    unsendable = Unsendable()
    batches = list(collector_batches(records, 7, unsendable))
    assert sum(len(batch.events) for batch in batches) + unsendable.count == 2_000
    assert unsendable.count > 0  # the generator plants unparsable records
    for batch in batches:
        assert 1 <= len(batch.events) <= 7
        sessions = {event.get("session_id") for event in batch.events}
        # Malformed records without a string session id travel together under "".
        assert sessions == {batch.session_id} or (batch.session_id == "" and len(sessions) == 1)
        for event in batch.events:
            assert not {"ip", "ua", "received_at"} & event.keys()  # the collector's to add


def test_load_source_posts_to_a_real_collector(make_collector: MakeHarness) -> None:
    harness = make_collector(
        collector_trusted_proxies="127.0.0.1", collector_ip_rate=100_000, collector_ip_burst=100_000
    )
    now = time.time_ns() // 1_000_000
    records = list(generate_records(400, seed=9, now_ms=now))
    clients = [orjson.loads(r) for r in records if r.startswith(b"{")]
    sites = {c["site_id"] for c in clients if isinstance(c.get("site_id"), str)}
    unsendable = Unsendable()
    with serving(harness) as base:
        summary = asyncio.run(
            post_to_collector(
                collector_batches(records, 20, unsendable),
                url=f"{base}/ingest",
                rate=4_000,
                concurrency=8,
                forwarded_for=True,
                now_ms=lambda: RECEIVED_AT,
            )
        )
    assert summary.ok, summary.report()
    assert summary.events_accepted == summary.events_sent == 400 - unsendable.count
    assert summary.percentile_ms(0.99) >= summary.percentile_ms(0.5) > 0
    written = [value for _, value in harness.records(summary.events_accepted)]
    # --forwarded-for: the collector (trusting 127.0.0.1) saw the generator's addresses.
    expected = {
        harness.visitor(c["ip"], site_id=c["site_id"])["ip_hash"]
        for c in clients
        if isinstance(c.get("site_id"), str) and isinstance(c.get("ip"), str)
    }
    loopback = {harness.visitor("127.0.0.1", site_id=site)["ip_hash"] for site in sites}
    written_hashes = {value["visitor"]["ip_hash"] for value in written}
    assert written_hashes <= expected
    assert not written_hashes & loopback


def test_load_source_to_kafka(kafka_broker: LocalKafka, kafka_topics: TopicFactory) -> None:
    settings = load_settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
        kafka_partitions=2,
    )
    create_topics(settings)
    kafka_topics.wait_listed(topic_name(settings, RAW_EVENTS))
    records = list(generate_records(300, seed=4, now_ms=RECEIVED_AT))
    live_now = RECEIVED_AT + 60_000
    summary = produce_to_kafka(records, settings, now_ms=lambda: live_now)
    assert summary.ok and summary.acknowledged == 300, summary.report()
    written = read_topic(kafka_broker.bootstrap_servers, topic_name(settings, RAW_EVENTS), 300)
    # Every record arrives once, made live; malformed ones go as they are (the pipeline
    # dead-letters them with their reasons).
    assert sorted(m.value() or b"" for m in written) == sorted(
        live_raw_record(record, live_now)[1] for record in records
    )
    first = orjson.loads(records[0])
    (landed,) = [
        orjson.loads(m.value() or b"")
        for m in written
        if first["event_id"].encode() in (m.value() or b"")
    ][:1]
    assert landed["received_at"] == live_now
    assert landed["ts"] - live_now == first["ts"] - first["received_at"]
    assert written[0].key() is not None


def _generate_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    generate = parser.add_subparsers(dest="command").add_parser("generate")
    generate.add_argument("--events", type=int, required=True)
    generate.add_argument("--out", required=True)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--now")
    add_load_options(generate)
    return parser.parse_args(["generate", *argv])


def test_load_options_are_checked(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
    )
    with pytest.raises(ConfigError, match="needs --rate"):
        run_generate_to(
            _generate_args("--events", "5", "--to-collector", "http://127.0.0.1:9/"), settings
        )
    with pytest.raises(ConfigError, match="--out writes a file"):
        run_generate_to(_generate_args("--events", "5", "--to-kafka", "--out", "x"), settings)
    with pytest.raises(SystemExit):
        _generate_args("--events", "5", "--to-kafka", "--to-collector", "http://127.0.0.1:9/")
    with pytest.raises(SystemExit):
        _generate_args("--events", "5", "--to-collector", "ftp://127.0.0.1/", "--rate", "1")
    assert _generate_args("--events", "1", "--to-collector", "http://127.0.0.1:9").to_collector == (
        "http://127.0.0.1:9/ingest"
    )
    # The topics do not exist under this prefix: a clear error, exit 1.
    assert run_generate_to(_generate_args("--events", "5", "--to-kafka"), settings) == 1
    assert "does not exist: run `insightlite kafka init`" in capsys.readouterr().err
