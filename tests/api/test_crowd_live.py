"""The minimum crowd on the live stream (k = 3): a live heatmap dot (an event's
pointer position) only from a cell that k distinct sessions have hit, and the site's
summary figures only while k sessions or more are active."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.query.live_crowd import CellCrowds
from tests.api.live_support import (
    SITE,
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

K = 3


def test_cell_crowds_count_distinct_sessions_once_each() -> None:
    crowds = CellCrowds(K)
    cell = ("/", "click", 1, 2)
    assert [crowds.see(cell, "a"), crowds.see(cell, "a"), crowds.see(cell, "b")] == [
        False,
        False,
        False,
    ]
    assert crowds.see(cell, "c") is True  # k distinct sessions
    assert crowds.see(cell, "a") is True  # and from then on
    assert crowds.see(("/", "click", 1, 3), "a") is False  # another cell counts alone
    assert CellCrowds(1).see(cell, "a") is True  # k = 1: off


def summary_after(count: int) -> Callable[[list[Any]], bool]:
    """Done at the first summary after ``count`` events."""

    def done(messages: list[Any]) -> bool:
        seen = 0
        for message in messages:
            seen += message["type"] == "event"
            if message["type"] == "summary" and seen >= count:
                return True
        return False

    return done


def last_summary(messages: list[Any]) -> dict[str, Any]:
    summary: dict[str, Any] = [m for m in messages if m["type"] == "summary"][-1]
    return summary


def test_live_dots_and_summaries_need_k_sessions(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    settings = live_settings(tmp_path, min_crowd=K)
    with serve_live(settings, clock) as server, streaming(server, token(clock)) as ws:
        start = now_ms(clock)
        # Sessions 1 and 2 click the same cell: k - 1 sessions, no dots yet.
        insert_events(settings, [anonymized_event(SITE, s, 0, start + s) for s in (1, 2)])
        messages = collect(ws, summary_after(2))
        first = events_of(messages)
        assert [e["session_id"] for e in first] == [session_id_of(SITE, s) for s in (1, 2)]
        assert all("x" not in e and "y" not in e for e in first)
        assert first[0]["url_path"] == "/page/0"  # the event itself is still sent
        summary = last_summary(messages)
        assert summary["suppressed"] is True
        assert (summary["active_sessions"], summary["active_visitors"]) == (0, 0)
        # Sessions 3 and 4: the cell reaches k, then k + 1; session 1 again is a dot too.
        later = [anonymized_event(SITE, s, 0, start + 10 + s) for s in (3, 4)]
        insert_events(settings, [*later, anonymized_event(SITE, 1, 0, start + 20)._replace(
            event_id=session_id_of(SITE, 99)
        )])  # fmt: skip
        messages = collect(ws, summary_after(3))
        dots = events_of(messages)
        assert [(e["x"], e["y"]) for e in dots] == [(10.0, 20.0)] * 3
        summary = last_summary(messages)
        assert "suppressed" not in summary
        assert summary["active_sessions"] == 4
        assert event_count(3)(messages)
