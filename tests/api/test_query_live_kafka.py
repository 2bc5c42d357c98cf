"""The live stream on a Kafka deployment: a real broker's ``processed_events``, read by
the API's one consumer and fanned out by site, through the real app under uvicorn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.kafka.topics import PROCESSED_EVENTS, create_topics, topic_name
from foundation.settings import Settings
from tests.api.live_support import (
    OTHER_SITE,
    SITE,
    LiveServer,
    Message,
    anonymized_event,
    closed_with,
    collect,
    event_count,
    events_of,
    insert_events,
    live_settings,
    now_ms,
    produce,
    serve_live,
    session_id_of,
    streaming,
    token,
)
from tests.api.query_support import FakeClock
from tests.kafka_fixture import TopicFactory

SOURCE_EVENTS = "insightlite_api_live_source_events_total"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-kafka")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


def kafka_settings(data_dir: Path, kafka_topics: TopicFactory, **overrides: Any) -> Settings:
    """Settings on the test broker, with topics of this test's own (3 partitions)."""
    settings = live_settings(
        data_dir,
        kafka_bootstrap_servers=kafka_topics.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
        kafka_partitions=3,
        **overrides,
    )
    create_topics(settings)
    kafka_topics.wait_listed(topic_name(settings, PROCESSED_EVENTS))
    return settings


@pytest.fixture
def settings(data_dir: Path, kafka_topics: TopicFactory) -> Settings:
    return kafka_settings(data_dir, kafka_topics)


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    with serve_live(settings, clock) as running:
        yield running


def publish(settings: Settings, events: list[Any]) -> None:
    produce(settings.kafka_bootstrap_servers, topic_name(settings, PROCESSED_EVENTS), events)


def summaries_until(ws: Any, wanted: Any) -> list[Message]:
    return collect(ws, lambda messages: any(m["type"] == "summary" and wanted(m) for m in messages))


def test_events_arrive_in_order_only_to_their_sites_connections(
    server: LiveServer, settings: Settings, clock: FakeClock
) -> None:
    start = now_ms(clock)
    sessions = range(6)  # keyed by session: spread over the three partitions
    mine = [anonymized_event(SITE, s, n, start + n) for n in range(5) for s in sessions]
    theirs = [anonymized_event(OTHER_SITE, s, n, start + n) for n in range(2) for s in sessions]
    with (
        streaming(server, token(clock)) as shop,
        streaming(server, token(clock), OTHER_SITE) as blog,
    ):
        publish(
            settings, [event for pair in zip(mine, theirs + mine, strict=False) for event in pair]
        )
        shop_events = events_of(collect(shop, event_count(len(mine))))
        blog_events = events_of(collect(blog, event_count(len(theirs))))
    assert sorted(e["event_id"] for e in shop_events) == sorted(e.event_id for e in mine)
    assert sorted(e["event_id"] for e in blog_events) == sorted(e.event_id for e in theirs)
    for session in sessions:
        paths = [
            e["url_path"] for e in shop_events if e["session_id"] == session_id_of(SITE, session)
        ]
        assert paths == [f"/page/{n}" for n in range(5)]
    first = shop_events[0]
    assert set(first) == {
        "event_id",
        "session_id",
        "timestamp",
        "event_type",
        "url_path",
        "referrer",
        "device_type",
        "viewport_width",
        "viewport_height",
        "country_code",
        "error_class",
        "x",
        "y",
        "fixed",
    }
    assert (first["viewport_width"], first["country_code"], first["device_type"]) == (
        1280,
        "DE",
        "desktop",
    )


def test_redelivered_events_are_sent_once(
    server: LiveServer, settings: Settings, clock: FakeClock
) -> None:
    start = now_ms(clock)
    events = [anonymized_event(SITE, 1, n, start + n) for n in range(4)]
    # Written after the copies, in the same session (so the same partition): once it is
    # here, every copy before it has been read.
    last = anonymized_event(SITE, 1, 4, start + 4)
    with streaming(server, token(clock)) as ws:
        publish(settings, events)
        publish(settings, events)  # the at-least-once topic, after a crash
        publish(settings, [last])
        received = events_of(
            collect(ws, lambda m: any(e["event_id"] == last.event_id for e in events_of(m)))
        )
    assert [e["event_id"] for e in received] == [e.event_id for e in [*events, last]]
    assert server.metric(SOURCE_EVENTS, outcome="duplicate") == len(events)


def test_summaries_count_active_sessions_and_visitors(
    server: LiveServer, settings: Settings, clock: FakeClock
) -> None:
    start = now_ms(clock)
    # Already in ClickHouse when the connection opens: two sessions of the last five
    # minutes (one visitor), and one of ten minutes ago.
    insert_events(
        settings,
        [
            anonymized_event(SITE, 101, 0, start - 60_000, ip_hash=7),
            anonymized_event(SITE, 102, 0, start - 240_000, ip_hash=7),
            anonymized_event(SITE, 103, 0, start - 600_000, ip_hash=8),
        ],
    )
    with streaming(server, token(clock)) as ws:
        first = summaries_until(ws, lambda m: True)[-1]
        assert (first["active_sessions"], first["active_visitors"], first["dropped"]) == (2, 1, 0)
        publish(settings, [anonymized_event(SITE, 104, n, start + n, ip_hash=9) for n in range(3)])
        later = summaries_until(ws, lambda m: m["active_sessions"] == 3)[-1]
        assert later["active_visitors"] == 2
        assert later["events_per_second"] > 0
        # Two minutes on, the session of four minutes ago has left the window.
        clock.advance(120)
        moved = summaries_until(ws, lambda m: m["active_sessions"] == 2)[-1]
        assert moved["active_visitors"] == 2
        assert moved["at"] > later["at"]


def test_a_slow_reader_gets_the_newest_events_and_the_count_of_the_dropped(
    data_dir: Path, kafka_topics: TopicFactory, clock: FakeClock
) -> None:
    settings = kafka_settings(data_dir, kafka_topics, api_live_queue_messages=20)
    start = now_ms(clock)
    # One session: one partition, so the order read is the order written.
    events = [anonymized_event(SITE, 1, n, start + n) for n in range(3000)]
    with serve_live(settings, clock) as server:
        # A small receive buffer and client queue: unread messages soon block the server.
        with streaming(server, token(clock), sock=server.slow_socket(), max_queue=4) as ws:
            publish(settings, events)
            server.wait_metric(
                SOURCE_EVENTS, lambda value: value >= len(events), outcome="delivered"
            )
            assert server.metric("insightlite_api_live_dropped_events_total") > 0
            messages = collect(
                ws,
                lambda m: (
                    len(events_of(m)) + sum(s["dropped"] for s in m if s["type"] == "summary")
                    >= len(events)
                ),
            )
        received = events_of(messages)
        dropped = sum(m["dropped"] for m in messages if m["type"] == "summary")
        assert dropped > 0 and len(received) + dropped == len(events)
        # The oldest were dropped: what arrived is in order and ends with the newest.
        ids = [e.event_id for e in events]
        positions = [ids.index(e["event_id"]) for e in received]
        assert positions == sorted(positions) and positions[-1] == len(events) - 1


def test_a_connection_that_stops_reading_is_closed(
    data_dir: Path, kafka_topics: TopicFactory, clock: FakeClock
) -> None:
    # A queue that holds what the source reads at once: the sends, not the drops, are
    # what stops.
    settings = kafka_settings(data_dir, kafka_topics, api_live_heartbeat_seconds=0.5)
    start = now_ms(clock)
    with serve_live(settings, clock, send_buffer=8192) as server:
        with streaming(server, token(clock), sock=server.slow_socket(), max_queue=4) as ws:
            publish(settings, [anonymized_event(SITE, n % 7, n, start + n) for n in range(3000)])
            closes = "insightlite_api_live_closes_total"
            server.wait_metric(closes, lambda value: value == 1, reason="not_reading")
            # Reading again, the client finds the end of the connection after the rest.
            code, _ = closed_with(ws)
        assert code in (4408, 1006)
        server.wait_metric("insightlite_api_live_connections", lambda value: value == 0)
