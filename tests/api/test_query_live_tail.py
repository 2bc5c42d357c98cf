"""The live stream without Kafka: it tails ClickHouse's ``events`` (chdb, in the API's
own process), through the real app under uvicorn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.settings import Settings
from tests.api.live_support import (
    OTHER_SITE,
    SITE,
    LiveServer,
    anonymized_event,
    collect,
    event_count,
    events_of,
    insert_events,
    live_settings,
    now_ms,
    serve_live,
    session_id_of,
    streaming,
    token,
)
from tests.api.query_support import FakeClock


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return live_settings(tmp_path_factory.mktemp("live-tail"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    with serve_live(settings, clock) as running:
        yield running


def test_rows_written_after_ready_arrive_in_order_and_only_the_sites(
    server: LiveServer, settings: Settings, clock: FakeClock
) -> None:
    start = now_ms(clock)
    with streaming(server, token(clock)) as ws:
        # Two sessions interleaved, another site's session, in two inserts (two writes).
        first = [
            anonymized_event(SITE, session, n, start + n) for n in range(3) for session in (1, 2)
        ]
        insert_events(settings, [*first, anonymized_event(OTHER_SITE, 9, 0, start)])
        second = [anonymized_event(SITE, 1, n, start + n) for n in range(3, 6)]
        insert_events(settings, second)
        events = events_of(collect(ws, event_count(len(first) + len(second))))
    assert {event["session_id"] for event in events} == {
        session_id_of(SITE, 1),
        session_id_of(SITE, 2),
    }
    for session in (1, 2):
        paths = [e["url_path"] for e in events if e["session_id"] == session_id_of(SITE, session)]
        expected = [f"/page/{n}" for n in range(6 if session == 1 else 3)]
        assert paths == expected
    shown = events[0]
    assert "ip_hash" not in shown and "user_agent_hash" not in shown and "site_id" not in shown
    assert shown["x"] == 10.0 and shown["y"] == 20.0 and shown["fixed"] is False
    assert "target" not in shown
    assert shown["timestamp"].endswith("Z")


def test_a_backlog_larger_than_a_poll_is_read_on_in_order_and_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    # Three rows a poll: ten rows of one insert (one write second) take four polls.
    settings = live_settings(tmp_path, api_live_tail_batch_rows=3)
    start = now_ms(clock)
    events = [anonymized_event(SITE, 1, n, start + n) for n in range(10)]
    with serve_live(settings, clock) as server, streaming(server, token(clock)) as ws:
        # The same rows twice (a retried insert before ClickHouse merges them away).
        insert_events(settings, events)
        insert_events(settings, events[:4])
        marker = anonymized_event(SITE, 2, 0, start + 20)
        insert_events(settings, [marker])
        received = events_of(
            collect(ws, lambda m: any(e["event_id"] == marker.event_id for e in events_of(m)))
        )
    assert [e["event_id"] for e in received] == [e.event_id for e in [*events, marker]]


def test_the_source_runs_while_someone_watches(server: LiveServer, clock: FakeClock) -> None:
    hub = server.app.state.live_hub
    assert not hub.source_running
    with streaming(server, token(clock)):
        assert hub.source_running
        assert hub.watched_sites() == frozenset({SITE})
    deadline = time.monotonic() + 30
    while hub.source_running:
        assert time.monotonic() < deadline, "the source still runs with nobody watching"
        time.sleep(0.02)
    assert hub.watched_sites() == frozenset()
    with streaming(server, token(clock), OTHER_SITE):
        assert hub.source_running
        assert hub.watched_sites() == frozenset({OTHER_SITE})


def test_pings_keep_coming_and_messages_are_counted(tmp_path: Path, clock: FakeClock) -> None:
    settings = live_settings(tmp_path, api_live_heartbeat_seconds=0.2)
    with serve_live(settings, clock) as server, streaming(server, token(clock)) as ws:
        pings = collect(ws, lambda m: sum(x["type"] == "ping" for x in m) >= 3)
        times = [m["at"] for m in pings if m["type"] == "ping"]
        assert all(at.endswith("Z") and "T" in at for at in times)
        sent = "insightlite_api_live_messages_sent_total"
        server.wait_metric(sent, lambda value: value >= 3, type="ping")
        assert server.metric(sent, type="ready") == 1
        assert server.metric(sent, type="summary") >= 1
        assert server.metric("insightlite_api_live_connections") == 1
