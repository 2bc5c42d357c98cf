"""``POST /replay`` against a real Kafka broker: the record it writes to ``replay_events``
(through the topic and producer size settings, over real HTTP too), its answer when
Kafka does not take it, and its own rate limits. Refusals: test_collector_replay_refusals.py.
"""

from __future__ import annotations

import asyncio
import base64
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from api.collector.producer import (
    KafkaRecordProducer,
    ProduceError,
    RecordTooLarge,
    producer_config,
    replay_producer_config,
)
from connectors.kafka.topics import describe_topics, replay_max_message_bytes
from devtools.local_kafka import free_port
from tests.api.collector_replay_support import (
    BROWSER_UA,
    RECEIVED_AT,
    SESSION,
    MakeHarness,
    chunk_bytes,
    gzipped,
    make_chunk,
    metrics_of,
    serving,
)
from tests.kafka_fixture import TopicFactory

JSON_BODY = {"Content-Type": "application/json"}

pytest_plugins = ["tests.api.collector_replay_fixtures"]
pytestmark = pytest.mark.anyio

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
PROXY = ("10.1.2.3", 443)
CLIENT_IP = "86.130.1.2"  # GB in the demo GeoIP database


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- accepted ------------------------------------------------------------------


async def test_chunk_is_written_with_the_collectors_fields_and_no_ip_or_ua(
    replay_collector: MakeHarness, geoip_db: Path
) -> None:
    harness = replay_collector(geoip_db=str(geoip_db), collector_trusted_proxies="10.0.0.0/8")
    sent = make_chunk()
    # What a browser must not choose (or have written): its address, its user agent,
    # the clock and the facts the collector derives.
    spoofed = {
        "ip": "6.6.6.6",
        "ua": "spoofed-agent/1.0",
        "received_at": 1,
        "country_code": "US",
        "device_type": "desktop",
    }
    headers = {
        "Content-Type": "text/plain;charset=UTF-8",
        "User-Agent": IPHONE,
        "X-Forwarded-For": f"198.18.0.9, {CLIENT_IP}",
    }
    async with harness.client(peer=PROXY) as client:
        response = await client.post(
            "/replay", content=gzipped({**sent, **spoofed}), headers=headers
        )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1}
    assert response.headers["access-control-allow-origin"] == "*"

    ((key, value),) = harness.records(1)
    assert key == sent["session_id"].encode()
    record = orjson.loads(value)
    assert record == {
        **sent,
        "received_at": RECEIVED_AT,
        "country_code": "GB",
        "device_type": "mobile",
    }
    for secret in (CLIENT_IP, PROXY[0], "198.18.0.9", "6.6.6.6", IPHONE, "iPhone", "spoofed"):
        assert secret.encode() not in value
        assert secret.encode() not in (key or b"")


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0.0.0",
        "",
    ],
    ids=["known-bot", "headless", "empty"],
)
async def test_a_bots_chunk_is_answered_202_and_never_written(
    replay_collector: MakeHarness, agent: str
) -> None:
    harness = replay_collector()
    async with harness.client() as client:
        response = await client.post(
            "/replay", content=chunk_bytes(), headers={**JSON_BODY, "User-Agent": agent}
        )
        person = await client.post("/replay", content=chunk_bytes(), headers=JSON_BODY)
        metrics = await metrics_of(client)
    assert response.status_code == 202 and response.json() == {"accepted": 0}
    assert person.json() == {"accepted": 1}
    assert harness.written() == 1  # the person's chunk only
    assert "insightlite_collector_replay_filtered_chunks_total{reason=" in metrics


@pytest.mark.parametrize(
    ("encode", "headers"),
    [
        (orjson.dumps, {"Content-Type": "application/json"}),
        (orjson.dumps, {}),
        (gzipped, {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
        (gzipped, {}),
    ],
    ids=["json", "json-untyped", "gzip-by-header", "gzip-by-magic-untyped"],
)
async def test_json_and_gzip_bodies_are_accepted(
    replay_collector: MakeHarness,
    encode: Callable[[dict[str, Any]], bytes],
    headers: dict[str, str],
) -> None:
    harness = replay_collector()
    sent = make_chunk()
    async with harness.client() as client:
        response = await client.post("/replay", content=encode(sent), headers=headers)
        assert response.status_code == 202, response.text
        metrics = await metrics_of(client)
    ((_, value),) = harness.records(1)
    record = orjson.loads(value)
    assert record["events"] == sent["events"]
    # No GeoIP database: the country is there, unknown; a desktop browser's agent.
    assert (record["country_code"], record["device_type"]) == ("", "desktop")
    assert "insightlite_collector_replay_chunks_accepted_total 1.0" in metrics
    assert 'insightlite_collector_replay_requests_total{status="202"} 1.0' in metrics
    assert "insightlite_collector_replay_request_seconds_count 1.0" in metrics
    # /ingest's series count only /ingest: its dashboards and alerts stay true.
    assert 'insightlite_collector_requests_total{status="202"}' not in metrics
    assert "insightlite_collector_events_accepted_total 0.0" in metrics


async def test_an_address_the_database_does_not_know_has_an_empty_country(
    replay_collector: MakeHarness, geoip_db: Path
) -> None:
    harness = replay_collector(geoip_db=str(geoip_db))
    async with harness.client(peer=("41.0.0.9", 1000)) as client:  # an unlisted range
        response = await client.post("/replay", content=gzipped(make_chunk()))
    assert response.status_code == 202, response.text
    ((_, value),) = harness.records(1)
    assert orjson.loads(value)["country_code"] == ""


async def test_cors_preflight(replay_collector: MakeHarness) -> None:
    harness = replay_collector()
    async with harness.client() as client:
        response = await client.options(
            "/replay",
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


async def test_unreachable_kafka_gets_503_but_bad_chunks_still_get_400(
    replay_collector: MakeHarness,
) -> None:
    harness = replay_collector(
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", delivery_timeout_s=1.0
    )
    async with harness.client() as client:
        response = await client.post("/replay", content=gzipped(make_chunk()))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "retry later" in response.json()["error"]
        bad = await client.post("/replay", content=chunk_bytes(session_id="x"))
        assert bad.status_code == 400
        metrics = await metrics_of(client)
    assert 'insightlite_collector_replay_requests_total{status="503"} 1.0' in metrics
    assert (
        'insightlite_collector_replay_kafka_produce_errors_total{error="msg_timed_out"} 1.0'
        in metrics
    )


# --- rate limits ---------------------------------------------------------------


async def test_site_rate_limit_in_chunks(replay_collector: MakeHarness) -> None:
    harness = replay_collector(
        collector_replay_site_rate=1,
        collector_replay_site_burst=2,
        collector_replay_ip_rate=100,
        collector_replay_ip_burst=100,
    )
    async with harness.client() as client:
        for _ in range(2):
            assert (await client.post("/replay", content=chunk_bytes())).status_code == 202
        refused = await client.post("/replay", content=chunk_bytes())
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "too many replay chunks from this site: retry after 1 s"
        other_site = await client.post("/replay", content=chunk_bytes(site_id="blog.example.org"))
        assert other_site.status_code == 202
        harness.clock.advance(1)
        assert (await client.post("/replay", content=chunk_bytes())).status_code == 202
        metrics = await metrics_of(client)
    assert 'replay_rejected_requests_total{reason="rate_limited_site"} 1.0' in metrics


async def test_ip_rate_limit_in_chunks_is_apart_from_ingest(replay_collector: MakeHarness) -> None:
    harness = replay_collector(
        collector_replay_ip_rate=0.5,
        collector_replay_ip_burst=1,
        collector_ip_rate=1,
        collector_ip_burst=1,
    )
    event = {
        "v": 1,
        "event_id": str(uuid.uuid4()),
        "site_id": "shop.example.com",
        "session_id": SESSION,
        "type": "pageview",
        "ts": RECEIVED_AT,
        "url": "https://shop.example.com/",
    }
    async with harness.client() as client:
        # A refused chunk spends no token.
        assert (await client.post("/replay", content=chunk_bytes(events=[]))).status_code == 400
        assert (await client.post("/replay", content=chunk_bytes())).status_code == 202
        refused = await client.post("/replay", content=chunk_bytes())
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"  # one chunk at 0.5/s
        assert "this client IP" in refused.json()["error"]
        # The same client's events have buckets of their own...
        assert (await client.post("/ingest", json=[event])).status_code == 202
    async with harness.client(peer=("203.0.113.50", 4000)) as other_client:
        assert (await other_client.post("/replay", content=chunk_bytes())).status_code == 202
    harness.clock.advance(2)
    async with harness.client() as client:
        # ...and an empty /ingest bucket does not hold back the same client's chunks.
        assert (await client.post("/ingest", json=[event])).status_code == 202
        assert (await client.post("/ingest", json=[event])).status_code == 429
        assert (await client.post("/replay", content=chunk_bytes())).status_code == 202
    assert harness.written() == 3


# --- large chunks, through the topics as create_topics makes them ----------------

MIB = 1024 * 1024


def large_chunk(decompressed_bytes: int) -> dict[str, Any]:
    """A chunk of about ``decompressed_bytes`` of JSON that compression barely shrinks
    (base64 of seeded random bytes, as inlined images are): its Kafka batch stays larger
    than the broker's and the producer's default 1 MB limits after lz4."""
    rng = random.Random(20_251_201)
    text_chars = 64 * 1024
    events = [
        {
            "type": 3,
            "timestamp": RECEIVED_AT - 1_000 + index,
            "data": {
                "source": 0,
                "text": base64.b64encode(rng.randbytes(text_chars * 3 // 4)).decode(),
            },
        }
        for index in range(decompressed_bytes // text_chars + 1)
    ]
    return make_chunk(events=events)


def test_a_chunk_over_1_mib_reaches_replay_events_over_real_http(
    replay_collector: MakeHarness, kafka_topics: TopicFactory
) -> None:
    harness = replay_collector(collector_replay_max_body_bytes=4 * MIB)
    settings = harness.settings
    (info,) = [i for i in describe_topics(settings) if i.name == harness.topic]
    assert info.max_message_bytes == replay_max_message_bytes(settings)

    sent = large_chunk(2 * MIB + MIB // 2)
    body = gzipped(sent)
    assert MIB < len(body) < 4 * MIB
    with (
        serving(harness) as base,
        httpx.Client(base_url=base, timeout=30, headers={"User-Agent": BROWSER_UA}) as client,
    ):
        response = client.post(
            "/replay",
            content=body,
            headers={"Content-Type": "text/plain", "User-Agent": IPHONE},
        )
        assert response.status_code == 202, response.text
    ((key, value),) = harness.records(1)
    assert key == sent["session_id"].encode()
    assert len(value) > 2 * MIB
    record = orjson.loads(value)
    assert record["events"] == sent["events"]
    assert (record["country_code"], record["device_type"]) == ("", "mobile")
    assert b"127.0.0.1" not in value and IPHONE.encode() not in value

    # Both size settings are needed: the collector's /ingest producer (default
    # message.max.bytes) refuses the record, and a topic with the broker's default
    # record limit refuses its batch.
    (plain_topic,) = kafka_topics("plain")
    for config, topic, refused in (
        (producer_config(settings), harness.topic, RecordTooLarge),
        (replay_producer_config(settings), plain_topic, ProduceError),
    ):
        producer = KafkaRecordProducer(config, topic)
        try:
            with pytest.raises(refused):
                asyncio.run(producer.send([(key, value)]))
        finally:
            producer.close(timeout=5)
