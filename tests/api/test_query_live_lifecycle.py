"""The live stream's source over its life: a Kafka broker that is down when the first
connection comes (the API keeps serving, the stream starts once the broker is up), and
the API stopping with connections open."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from connectors.kafka.topics import PROCESSED_EVENTS, create_topics, topic_name
from devtools.local_kafka import LocalKafka, free_port
from tests.api.live_support import (
    OTHER_SITE,
    SITE,
    anonymized_event,
    closed_with,
    collect,
    event_count,
    events_of,
    live_settings,
    now_ms,
    produce,
    serve_live,
    streaming,
    token,
)
from tests.api.query_support import FakeClock
from tests.kafka_fixture import TopicFactory

READING = "insightlite_api_live_source_reading"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-lifecycle")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


def test_a_broker_down_delays_the_stream_not_the_api(
    data_dir: Path, clock: FakeClock, kafka_broker: LocalKafka
) -> None:
    # kafka_broker: only so the test is skipped where no broker can run.
    port = free_port()
    settings = live_settings(
        data_dir,
        kafka_bootstrap_servers=f"127.0.0.1:{port}",
        kafka_topic_prefix=f"down-{port}.",
        kafka_partitions=1,
    )
    broker = LocalKafka(port=port)
    with serve_live(settings, clock) as server, streaming(server, token(clock)) as ws:
        # Ready anyway, with summaries, while nothing answers on the port.
        assert collect(ws, lambda m: any(x["type"] == "summary" for x in m))
        assert server.metric(READING) == 0
        health = httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10)
        assert health.status_code == 200
        try:
            broker.start()
            create_topics(settings)
            # The consumer retries with backoff, and reads once the topic is there.
            server.wait_metric(READING, lambda value: value == 1)
            event = anonymized_event(SITE, 1, 0, now_ms(clock))
            produce(broker.bootstrap_servers, topic_name(settings, PROCESSED_EVENTS), [event])
            received = events_of(collect(ws, event_count(1)))
        finally:
            broker.stop()
    assert [e["event_id"] for e in received] == [event.event_id]


def test_stopping_the_api_with_connections_open_is_clean(
    data_dir: Path,
    clock: FakeClock,
    kafka_topics: TopicFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = live_settings(
        data_dir,
        kafka_bootstrap_servers=kafka_topics.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
        kafka_partitions=1,
    )
    create_topics(settings)
    kafka_topics.wait_listed(topic_name(settings, PROCESSED_EVENTS))
    caplog.set_level(logging.INFO)
    with serve_live(settings, clock) as server:
        hub = server.app.state.live_hub
        with (
            streaming(server, token(clock)) as shop,
            streaming(server, token(clock), OTHER_SITE) as blog,
        ):
            event = anonymized_event(SITE, 1, 0, now_ms(clock))
            produce(
                settings.kafka_bootstrap_servers, topic_name(settings, PROCESSED_EVENTS), [event]
            )
            assert events_of(collect(shop, event_count(1)))[0]["event_id"] == event.event_id
            assert hub.source_running
            server.stop()
            # The server said it is going away (uvicorn's 1012, or the stream's 1001).
            assert closed_with(shop)[0] in (1001, 1012)
            assert closed_with(blog)[0] in (1001, 1012)
        assert not hub.source_running
        assert server.metric("insightlite_api_live_connections") == 0
        assert server.metric(READING) == 0
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
