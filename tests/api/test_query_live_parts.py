"""The live stream's parts on plain data: records read (or refused with a reason), the
window of active sessions, the recent ids, and a connection's bounded queue."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest

from api.query.live_events import (
    ActivityWindow,
    LiveEvent,
    RecentIds,
    RecentKeys,
    SiteSummary,
    Unreadable,
    event_from_record,
    iso_time,
)
from api.query.live_hub import Outbox
from flows.kafka_outputs import event_messages
from operators.batching import Chunk
from operators.columns import anonymized_table
from tests.api.live_support import SITE, anonymized_event

MINUTE = 60_000


def record_of(**changes: object) -> bytes:
    """A ``processed_events`` record as the flow writes it, with ``changes``."""
    event = anonymized_event(SITE, 1, 3, 1_764_072_000_123)
    ((_, value),) = event_messages(Chunk(spans=(), rows=anonymized_table([event])))
    fields = orjson.loads(value)
    fields.update(changes)
    return orjson.dumps({key: value for key, value in fields.items() if value is not None})


def test_a_record_becomes_the_event_as_stored_without_the_hashes() -> None:
    event = event_from_record(record_of())
    assert isinstance(event, LiveEvent)
    assert (event.site_id, event.timestamp_ms, event.ip_hash) == (SITE, 1_764_072_000_123, 1001)
    message = json.loads(event.message)
    assert message["type"] == "event"
    shown = message["event"]
    assert shown["timestamp"] == "2025-11-25T12:00:00.123Z"
    assert (shown["url_path"], shown["x"], shown["y"], shown["fixed"]) == (
        "/page/3",
        13.0,
        20.0,
        False,
    )
    for hidden in ("ip_hash", "user_agent_hash", "event_data", "received_at", "site_id"):
        assert hidden not in shown


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty_record"),
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_json"),
        (record_of(event_id=None), "missing_field"),
        (record_of(site_id=7), "missing_field"),
        (record_of(session_id="s" * 65), "bad_id"),
        (record_of(timestamp="2025-11-25"), "bad_timestamp"),
        (record_of(timestamp=True), "bad_timestamp"),
        (record_of(timestamp=2**60), "bad_timestamp"),
        (record_of(url_path=["/"]), "bad_field"),
    ],
)
def test_unreadable_records_are_values_with_a_reason(value: bytes, reason: str) -> None:
    assert event_from_record(value) == Unreadable(reason)


def test_odd_optional_fields_are_left_out_not_refused() -> None:
    event = event_from_record(record_of(event_data='{"x": "12", "fixed": 1}', viewport_width=None))
    assert isinstance(event, LiveEvent)
    shown = json.loads(event.message)["event"]
    assert "x" not in shown and "fixed" not in shown
    assert shown["viewport_width"] == 0
    broken = event_from_record(record_of(event_data="{oops"))
    assert isinstance(broken, LiveEvent)


def test_iso_time_is_utc_with_milliseconds() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1_764_072_000_005) == "2025-11-25T12:00:00.005Z"


def test_recent_ids_drop_a_redelivery_and_stay_bounded() -> None:
    recent = RecentIds(3)
    assert [recent.add(i) for i in ("a", "b", "a", "c", "d")] == [True, True, False, True, True]
    assert len(recent) == 3
    # "a" was the oldest and is forgotten: seen again, it counts as new.
    assert recent.add("a") is True
    assert recent.add("d") is False


def test_recent_keys_forget_exactly_the_keys_older_than_the_cutoff() -> None:
    keys = RecentKeys()
    keys.see("early", 1_000)
    keys.see("late", 5_000)
    keys.see("early", 9_000)  # seen again: stays past its first time's cutoff
    keys.see("late", 2_000)  # an older time never moves a key back
    keys.prune(6_000)
    assert len(keys) == 1
    keys.prune(9_001)
    assert len(keys) == 0


def test_recent_keys_follow_at_most_their_bound() -> None:
    keys = RecentKeys(max_keys=2)
    for name in ("a", "b", "c"):
        keys.see(name, 1_000)
    assert len(keys) == 2


def test_the_window_counts_sessions_and_visitors_of_the_last_five_minutes() -> None:
    now = 100 * MINUTE
    window = ActivityWindow()
    window.see("s1", 7, now - 1 * MINUTE, now)
    window.see("s2", 7, now - 4 * MINUTE, now)  # the same visitor, another session
    window.see("s3", 0, now - 2 * MINUTE, now)  # no address: a session, no visitor
    window.see("s4", 9, now - 6 * MINUTE, now)  # already outside the window
    assert window.counts(now) == (1, 3)
    assert window.counts(now + 2 * MINUTE) == (1, 2)
    window.see("s2", 7, now + 2 * MINUTE, now + 2 * MINUTE)
    assert window.counts(now + 5 * MINUTE) == (1, 1)
    assert window.counts(now + 8 * MINUTE) == (0, 0)


def test_a_full_outbox_drops_the_oldest_and_the_next_summary_says_so() -> None:
    async def scenario() -> list[tuple[str, str]]:
        outbox = Outbox(capacity=3)
        kept = [outbox.push_event(f"event {n}") for n in range(5)]
        assert kept == [True, True, True, False, False]
        outbox.push_summary(SiteSummary(0, 1, 2, 0.5))
        outbox.push_ping("ping")
        taken = [await outbox.take() for _ in range(5)]
        outbox.push_summary(SiteSummary(1000, 1, 2, 0.5))
        taken.append(await outbox.take())
        return taken

    taken = asyncio.run(scenario())
    assert [kind for kind, _ in taken] == ["ping", "summary", "event", "event", "event", "summary"]
    assert [text for kind, text in taken if kind == "event"] == ["event 2", "event 3", "event 4"]
    first, second = (json.loads(text) for kind, text in taken if kind == "summary")
    assert (first["dropped"], second["dropped"]) == (2, 0)
    assert first == {
        "type": "summary",
        "at": "1970-01-01T00:00:00.000Z",
        "active_visitors": 1,
        "active_sessions": 2,
        "events_per_second": 0.5,
        "dropped": 2,
    }


def test_an_empty_outbox_waits_for_the_next_message() -> None:
    async def scenario() -> tuple[str, str]:
        outbox = Outbox(capacity=2)
        waiting = asyncio.create_task(outbox.take())
        await asyncio.sleep(0)
        assert not waiting.done()
        outbox.push_event("event 0")
        return await waiting

    assert asyncio.run(scenario()) == ("event", "event 0")
