from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operators.columns import anonymized_table
from operators.heatmap import GridConfig, HeatCounts, heat_counter
from operators.model import AnonymizedEvent
from operators.session_state import RageRule, SessionState, derived_session_id
from operators.sessionize import FINAL_VERSION, SessionConfig, SessionShard, ShardOutput

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_764_028_800_000 - 20 * MIN  # 2025-11-24T23:40:00Z: sessions may cross midnight
SID = "5b0f8a5e-1a2b-4c3d-8e9f-001122334455"


def pev(
    ts: int,
    kind: str = "move",
    *,
    sid: str = SID,
    x: float = 100,
    y: float = 100,
    fixed: bool = False,
    path: str = "/",
    event_id: str | None = None,
    scroll_y: float | None = None,
    vh: int = 800,
) -> AnonymizedEvent:
    """A processed (anonymized) event as the session stage receives it."""
    return AnonymizedEvent(
        event_id=event_id or str(uuid.uuid4()),
        session_id=sid,
        site_id="shop.example.com",
        timestamp=ts,
        event_type=kind,
        event_data="{}",
        url_path=path,
        referrer="",
        device_type="desktop",
        viewport_width=1000,
        viewport_height=vh,
        user_agent_hash=1,
        ip_hash=2,
        country_code="GB",
        error_class="",
        received_at=ts,
        x=x,
        y=y,
        scroll_y=scroll_y,
        fixed=fixed,
        offset=0,
    )


def run(
    events: list[AnonymizedEvent], config: SessionConfig | None = None, batches: int = 1
) -> tuple[dict[str, dict[str, Any]], HeatCounts, ShardOutput]:
    shard = SessionShard(config or SessionConfig(), GridConfig())
    total = ShardOutput()
    size = max(1, -(-len(events) // batches))
    for start in range(0, len(events), size):
        out = shard.process(events[start : start + size])
        _merge(total, out)
    _merge(total, shard.flush())
    return final_rows(total.session_rows), total.closing_heat, total


def _merge(total: ShardOutput, out: ShardOutput) -> None:
    total.events = pa.concat_tables([total.events, out.events])
    total.session_rows += out.session_rows
    total.closing_heat.update(heat_counter(out.heat))
    total.duplicates += out.duplicates


def final_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What `FINAL` keeps: the highest version per session id."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = best.get(row["session_id"])
        if current is None or row["version"] >= current["version"]:
            best[row["session_id"]] = row
    return best


def by_type(heat: HeatCounts) -> Counter[str]:
    totals: Counter[str] = Counter()
    for key, count in heat.items():
        totals[key[4]] += count
    return totals


def clicks(*points: tuple[int, float, float], fixed: bool = False) -> list[AnonymizedEvent]:
    return [pev(T0 + dt, "click", x=x, y=y, fixed=fixed) for dt, x, y in points]


@pytest.mark.parametrize(
    ("points", "rage"),
    [
        ([(0, 100, 100), (500, 105, 100), (900, 100, 110)], 3),
        ([(0, 100, 100), (1000, 100, 100), (2000, 100, 100)], 3),  # exactly 1000 ms: within
        ([(0, 100, 100), (1001, 100, 100), (2002, 100, 100)], 0),
        ([(0, 100, 100), (100, 130, 100), (200, 160, 100)], 0),  # exactly 30 px: not within
        ([(0, 100, 100), (100, 129, 100), (200, 158, 100)], 3),  # 29 px each: a chain
        ([(0, 100, 100), (100, 110, 119), (200, 100, 100)], 0),  # |dx| + |dy| = 29, then 29
        ([(0, 100, 100), (300, 101, 101)], 0),  # two clicks are not rage
        ([(0, 0, 0), (100, 0, 0), (200, 0, 0), (300, 0, 0), (5000, 0, 0)], 4),
    ],
)
def test_rage_click_edges(points: list[tuple[int, float, float]], rage: int) -> None:
    rows, heat, _ = run([pev(T0 - 1000, "pageview"), *clicks(*points)])
    (row,) = rows.values()
    if (100, 110, 119) in points:
        rage = 3  # 10 + 19 = 29 < 30, and back: 10 + 19 = 29: all within
    assert row["rage_click_count"] == rage
    assert row["has_rage_clicks"] is (rage > 0)
    assert by_type(heat)["rage_click"] == rage
    assert by_type(heat)["click"] == len(points)


def test_rage_thresholds_are_settings() -> None:
    config = SessionConfig(rage=RageRule(clicks=4, interval_ms=200, distance_px=5))
    rows, _, _ = run(clicks((0, 0, 0), (150, 1, 1), (300, 2, 2)), config)
    assert next(iter(rows.values()))["rage_click_count"] == 0
    rows, _, _ = run(clicks((0, 0, 0), (150, 1, 1), (300, 2, 2), (450, 3, 3)), config)
    assert next(iter(rows.values()))["rage_click_count"] == 4


def test_fixed_and_document_points_never_mix() -> None:
    events = clicks((0, 10, 10), (100, 10, 10)) + clicks((200, 10, 10), fixed=True)
    rows, heat, _ = run(events)
    assert next(iter(rows.values()))["rage_click_count"] == 0
    assert by_type(heat) == {"click": 2, "click_fixed": 1}
    burst = clicks((0, 10, 10), (100, 10, 10), (200, 10, 10), fixed=True)
    _, heat, _ = run(burst)
    assert by_type(heat) == {"click_fixed": 3, "rage_click_fixed": 3}


def test_session_row_figures_and_midnight() -> None:
    events = [
        pev(T0, "pageview", path="/a"),
        pev(T0 + 5 * MIN, "click", path="/a"),
        pev(T0 + 25 * MIN, "pageview", path="/b"),  # after midnight UTC
        pev(T0 + 26 * MIN, "error", path="/b"),
        pev(T0 + 30 * MIN, "custom", path="/b"),
    ]
    rows, heat, _ = run(events)
    (row,) = rows.values()
    assert row["session_id"] == SID
    assert (row["start_time"], row["end_time"]) == (T0, T0 + 30 * MIN)
    assert row["duration_seconds"] == 30 * 60
    assert (row["page_count"], row["event_count"], row["error_count"]) == (2, 5, 1)
    assert (row["entry_path"], row["exit_path"]) == ("/a", "/b")
    assert row["has_errors"] and not row["has_rage_clicks"]
    assert (row["device_type"], row["country_code"]) == ("desktop", "GB")
    assert row["version"] == FINAL_VERSION | 5
    days = {key[3] for key in heat}
    assert len(days) == 2  # the click before midnight, the second page's scroll after


def test_gap_starts_a_new_session_with_a_derived_id() -> None:
    events = [pev(T0), pev(T0 + 10 * MIN), pev(T0 + 41 * MIN), pev(T0 + 50 * MIN)]
    rows, _, _ = run(events)
    second = derived_session_id(SID, T0 + 41 * MIN)
    assert set(rows) == {SID, second}
    assert rows[SID]["event_count"] == 2 and rows[second]["event_count"] == 2
    # Exactly the gap is still the same session.
    rows, _, _ = run([pev(T0), pev(T0 + 30 * MIN)])
    assert list(rows) == [SID]


def test_sessions_are_capped_at_24_hours() -> None:
    events = [pev(T0 + step * 10 * MIN) for step in range(6 * 30)]  # 30 h of activity
    rows, _, _ = run(events)
    assert len(rows) == 2
    first = rows[SID]
    assert first["end_time"] - first["start_time"] < 24 * HOUR
    assert sum(row["event_count"] for row in rows.values()) == len(events)


def test_scroll_depth_one_count_per_page_view_at_its_deepest_row() -> None:
    events = [
        pev(T0, "pageview", path="/long", vh=800),
        pev(T0 + 1000, "scroll", path="/long", scroll_y=1200, vh=800),  # bottom 2000
        pev(T0 + 2000, "scroll", path="/long", scroll_y=400, vh=800),  # back up
        pev(T0 + 3000, "pageview", path="/short", vh=800),  # no scroll: bottom 800
    ]
    _, heat, _ = run(events)
    scroll = {(key[1], key[6]): count for key, count in heat.items() if key[4] == "scroll"}
    assert scroll == {("/long", 2000 // 16): 1, ("/short", 800 // 16): 1}


def test_duplicates_are_counted_once_within_the_retention() -> None:
    first = pev(T0, "click", event_id="0d3c2f4e-0000-4000-8000-000000000001")
    later = [pev(T0 + 2 * HOUR, sid="c1d2e3f4-0000-4000-8000-000000000009")]  # moves time
    config = SessionConfig(dedup_retention_ms=3 * HOUR)
    rows, heat, out = run([first, first, *later, first], config, batches=3)
    assert out.duplicates == 2
    assert rows[SID]["event_count"] == 1
    assert by_type(heat)["click"] == 1
    assert len(out.events) == 2


def test_an_event_after_its_session_closed_starts_a_derived_session() -> None:
    late = pev(T0 + 5 * MIN)
    events = [pev(T0), pev(T0 + 3 * HOUR, sid="c1d2e3f4-0000-4000-8000-000000000009"), late]
    rows, _, _ = run(events, SessionConfig(dedup_retention_ms=0), batches=3)
    assert rows[SID]["event_count"] == 1
    assert rows[derived_session_id(SID, T0 + 5 * MIN)]["event_count"] == 1


def test_an_event_after_its_session_closed_within_the_retention_gets_a_derived_id() -> None:
    # The id's tombstone is still kept, and the event is not so late that the
    # lateness rule alone would derive its id: only the tombstone says the
    # original id is taken.
    shard = SessionShard(SessionConfig(dedup_retention_ms=3 * HOUR), GridConfig())
    first = pev(T0, "click", event_id="0d3c2f4e-0000-4000-8000-000000000001")
    other = pev(T0 + 36 * MIN, sid="c1d2e3f4-0000-4000-8000-000000000009")
    closing = shard.process([first, other])
    assert [row["session_id"] for row in closing.session_rows] == [SID]
    assert SID in shard.state.closed
    late = pev(T0 + 2 * MIN, "pageview")
    assert late.timestamp + shard.config.inactivity_gap_ms > shard.watermark
    after = shard.process([late, first])  # `first` again: the tombstone still dedups it
    assert after.duplicates == 1 and after.events.equals(anonymized_table([late]))
    rows = after.session_rows + shard.live_rows().session_rows + shard.flush().session_rows
    derived = derived_session_id(SID, T0 + 2 * MIN)
    by_id = {row["session_id"]: row for row in rows}
    assert set(by_id) == {derived, other.session_id}
    assert by_id[derived]["start_time"] == T0 + 2 * MIN
    assert by_id[derived]["event_count"] == 1


def test_live_rows_are_outranked_by_the_final_row() -> None:
    shard = SessionShard(SessionConfig(), GridConfig())
    shard.process([pev(T0, "pageview"), pev(T0 + 1000)])
    live = shard.live_rows().session_rows
    assert len(live) == 1 and live[0]["version"] == 2
    assert shard.live_rows().session_rows == []  # nothing changed since
    shard.process([pev(T0 + 2000)])
    (final,) = shard.flush().session_rows
    assert final["version"] > live[0]["version"] and final["event_count"] == 3


def test_memory_is_flat_on_an_endless_stream_of_short_sessions() -> None:
    shard = SessionShard(SessionConfig(dedup_retention_ms=10 * MIN), GridConfig())
    open_counts = []
    for minute in range(600):  # ten hours, 20 new two-event sessions a minute
        batch = []
        for n in range(20):
            sid = str(uuid.UUID(int=minute * 100 + n))
            batch += [pev(T0 + minute * MIN, sid=sid), pev(T0 + minute * MIN + 1000, sid=sid)]
        shard.process(batch)
        open_counts.append((shard.open_sessions, len(shard.state.closed)))
    later = open_counts[100:]
    assert max(o for o, _ in later) <= 20 * 37  # gap + lateness + a minute of buckets
    assert max(c for _, c in later) <= 20 * 12
    assert max(len(b) for b in shard.state.deadlines.values()) <= 20 * 2


def _random_sessions(rng: random.Random, count: int) -> list[AnonymizedEvent]:
    events = []
    for index in range(count):
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        ts = T0 + rng.randrange(0, 3 * HOUR)
        for _ in range(rng.randrange(1, 12)):
            kind = rng.choice(["pageview", "click", "click", "move", "scroll", "error"])
            events.append(
                pev(
                    ts,
                    kind,
                    sid=sid,
                    x=rng.choice([100, 110, 400]),
                    y=rng.choice([100, 105, 900]),
                    fixed=rng.random() < 0.1,
                    path=rng.choice(["/", "/a"]),
                    scroll_y=rng.randrange(0, 3000),
                )
            )
            ts += rng.choice([200, 700, 1000, 5 * MIN, 40 * MIN])
        del index
    return events


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=7))
def test_any_order_and_batching_gives_the_same_rows_and_sums(seed: int, batches: int) -> None:
    rng = random.Random(seed)
    events = _random_sessions(rng, 8)
    duplicates = rng.sample(events, k=min(5, len(events)))
    # Lateness beyond the data's span: every arrival order is within it.
    config = SessionConfig(allowed_lateness_ms=24 * HOUR)
    expected_rows, expected_heat, _ = run(sorted(events, key=lambda e: e.timestamp), config)
    shuffled = events + duplicates
    rng.shuffle(shuffled)
    rows, heat, out = run(shuffled, config, batches=batches)
    assert rows == expected_rows
    assert _without_windows(heat) == _without_windows(expected_heat)
    assert out.duplicates == len(duplicates)


def _without_windows(heat: HeatCounts) -> Counter[tuple[object, ...]]:
    summed: Counter[tuple[object, ...]] = Counter()
    for key, count in heat.items():
        summed[key[:7]] += count
    return summed


def test_seen_ids_are_whole_ids_not_bytes_across_two() -> None:
    state = SessionState(SID, "s")
    ids = [0x1111111122222222, 0x3333333344444444] + [n << 40 | n for n in range(1, 9)]
    for n, id_hash in enumerate(ids):
        state.add(T0 + n, id_hash, 0, "desktop", "", None)
    assert all(state.has_seen(id_hash) for id_hash in ids)
    # The last four bytes of the first id and the first four of the second, in a row.
    assert not state.has_seen(0x4444444411111111)
    assert not state.has_seen(12345)
