"""Sessions and heatmaps in the flow: the same numbers for any order, on one
worker and on two processes, with duplicated and out-of-order input."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from flows.cluster import run_local_cluster
from operators.model import RawBatch
from tests.flows.factories import pipeline_flow, raw_batches, read_directory

EVENTS = 6_000
# Lateness past the whole input's span: the result may not depend on arrival order.
NO_LATE_CLOSE = {"session_lateness_seconds": 86_400, "session_live_update_seconds": 3600}


def final_sessions(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """What `SELECT ... FROM sessions FINAL` returns: the highest version per key."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in read_directory(directory):
        assert isinstance(chunk.rows, pa.Table)
        for row in chunk.rows.to_pylist():
            key = (row["site_id"], row["session_id"])
            if key not in best or row["version"] >= best[key]["version"]:
                best[key] = row
    return best


def heat_sums(directory: Path) -> Counter[tuple[Any, ...]]:
    sums: Counter[tuple[Any, ...]] = Counter()
    for chunk in read_directory(directory):
        assert isinstance(chunk.rows, pa.Table)
        for row in chunk.rows.to_pylist():
            key = (
                row["site_id"],
                row["url_path"],
                row["device_type"],
                row["date_bucket"],
                row["interaction_type"],
                row["grid_x"],
                row["grid_y"],
            )
            sums[key] += row["interaction_count"]
    return sums


def heat_sessions(directory: Path) -> dict[tuple[Any, ...], set[str]]:
    """The distinct sessions behind each cell (what the table's uniqExact state holds)."""
    sessions: dict[tuple[Any, ...], set[str]] = {}
    for chunk in read_directory(directory):
        assert isinstance(chunk.rows, pa.Table)
        for row in chunk.rows.to_pylist():
            cell = tuple(row[name] for name in HEAT_CELL)
            sessions.setdefault(cell, set()).update(row["session_ids"])
    return sessions


HEAT_CELL = (
    "site_id",
    "url_path",
    "device_type",
    "date_bucket",
    "interaction_type",
    "grid_x",
    "grid_y",
)


def shuffled(batches: list[RawBatch], seed: int, duplicate_share: float) -> list[RawBatch]:
    """The same records, some twice, in another order and other batch sizes."""
    rng = random.Random(seed)
    records = [r for b in batches for r in b.records]
    records += rng.sample(records, int(len(records) * duplicate_share))
    rng.shuffle(records)
    out, start = [], 0
    while start < len(records):
        size = rng.randrange(50, 900)
        out.append(RawBatch("mem", start, records[start : start + size]))
        start += size
    return out


def run_one(batches: list[RawBatch], out: Path, settings: dict[str, Any]) -> None:
    from bytewax.testing import run_main

    run_main(pipeline_flow(batches=batches, out_dir=str(out), settings=settings))


def test_sessions_and_heatmaps_do_not_depend_on_order_or_workers(tmp_path: Path) -> None:
    batches = raw_batches(EVENTS, seed=21)
    run_one(batches, tmp_path / "ordered", NO_LATE_CLOSE)
    expected_sessions = final_sessions(tmp_path / "ordered" / "sessions")
    expected_heat = heat_sums(tmp_path / "ordered" / "heatmaps")
    expected_crowds = heat_sessions(tmp_path / "ordered" / "heatmaps")
    assert len(expected_sessions) > 100 and sum(expected_heat.values()) > 1000
    # Every cell names the sessions behind it, all of them sessions of the input.
    assert expected_crowds.keys() == expected_heat.keys()
    known = {session_id for _site, session_id in expected_sessions}
    assert all(crowd and crowd <= known for crowd in expected_crowds.values())
    assert max(len(crowd) for crowd in expected_crowds.values()) > 1
    assert {k[4] for k in expected_heat} >= {"click", "move", "scroll", "rage_click"}

    run_one(shuffled(batches, 1, 0.05), tmp_path / "shuffled", NO_LATE_CLOSE)
    assert final_sessions(tmp_path / "shuffled" / "sessions") == expected_sessions
    assert heat_sums(tmp_path / "shuffled" / "heatmaps") == expected_heat
    assert heat_sessions(tmp_path / "shuffled" / "heatmaps") == expected_crowds

    run_local_cluster(
        pipeline_flow,
        {
            "batches": shuffled(batches, 2, 0.05),
            "out_dir": str(tmp_path / "two"),
            "settings": NO_LATE_CLOSE,
        },
        processes=2,
        timeout=300,
    )
    assert final_sessions(tmp_path / "two" / "sessions") == expected_sessions
    assert heat_sums(tmp_path / "two" / "heatmaps") == expected_heat
    assert heat_sessions(tmp_path / "two" / "heatmaps") == expected_crowds


def test_default_lateness_with_the_generators_own_disorder(tmp_path: Path) -> None:
    """The generator delivers some records late and some twice; with the default
    settings every session is still whole and every event counted once."""
    batches = raw_batches(EVENTS, seed=22)
    run_one(batches, tmp_path / "a", {})
    sessions = final_sessions(tmp_path / "a" / "sessions")
    events = [
        row
        for chunk in read_directory(tmp_path / "a" / "clickhouse")
        for row in chunk.rows.to_pylist()  # type: ignore[union-attr]
    ]
    ids = Counter(row["event_id"] for row in events)
    assert max(ids.values()) == 1  # duplicates removed before the outputs
    assert sum(row["event_count"] for row in sessions.values()) == len(events)
    assert all(row["version"] >= 1 << 40 for row in sessions.values())
