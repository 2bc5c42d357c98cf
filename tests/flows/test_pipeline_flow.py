"""The pipeline flow on one worker and on two processes, with in-memory I/O."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pyarrow as pa
from bytewax.testing import TestingSink, TestingSource, run_main

from flows.cluster import run_local_cluster
from flows.pipeline import BatchLimits, FlowOutputs, build_flow
from flows.stages import build_stages
from foundation.metrics import RunTotals
from foundation.settings import load_settings
from operators.batching import Chunk
from operators.model import RawBatch
from tests.flows.factories import VISITOR_KEYS, pipeline_flow, raw_batches, read_directory

EVENTS = 4_000


def _event_ids(chunks: list[Chunk]) -> Counter[str]:
    ids: Counter[str] = Counter()
    for chunk in chunks:
        assert isinstance(chunk.rows, pa.Table)
        ids.update(chunk.rows.column("event_id").to_pylist())
    return ids


def _dead_letters(chunks: list[Chunk]) -> list[dict[str, object]]:
    return [record for chunk in chunks for record in chunk.rows]


def run_one_worker(batches: list[RawBatch]) -> tuple[dict[str, list[Chunk]], RunTotals]:
    captured: dict[str, list[tuple[str, Chunk]]] = {"ch": [], "archive": [], "dl": []}
    totals = RunTotals()
    flow = build_flow(
        "one_worker",
        TestingSource(batches),
        build_stages(load_settings(visitor_key_store=VISITOR_KEYS)),
        FlowOutputs(
            clickhouse=TestingSink(captured["ch"]),
            archive=TestingSink(captured["archive"]),
            dead_letter=TestingSink(captured["dl"]),
        ),
        limits=BatchLimits(clickhouse_rows=1_000, archive_rows=2_000),
        totals=totals,
    )
    run_main(flow)
    return {name: [chunk for _, chunk in items] for name, items in captured.items()}, totals


def test_one_worker_accounts_for_every_event() -> None:
    batches = raw_batches(EVENTS, seed=3)
    out, totals = run_one_worker(batches)
    summary = totals.as_dict()
    assert summary["events_in"] == EVENTS
    assert summary["accepted"] + summary["rejected_total"] + summary["filtered_total"] == EVENTS
    assert summary["accepted"] > EVENTS * 0.8
    assert summary["rejected_total"] > 0 and summary["filtered_total"] > 0
    ch_ids = _event_ids(out["ch"])
    # The same events reach ClickHouse and the archive, each batch exactly once.
    assert ch_ids == _event_ids(out["archive"])
    assert sum(ch_ids.values()) == summary["accepted"]
    dead = _dead_letters(out["dl"])
    assert len(dead) == summary["rejected_total"]
    for record in dead:
        assert record["stage"] == "validate"
        assert record["reasons"] and record["processor"].startswith("insightlite/")
        orjson.dumps(record)  # a program can read it back
    # ClickHouse batches respect the row limit, archive names are offset ranges.
    assert all(chunk.row_count <= 1_000 + 500 for chunk in out["ch"])
    assert all(chunk.name.startswith("mem-") for chunk in out["archive"])


def test_two_processes_give_the_same_output_as_one_worker(tmp_path: Path) -> None:
    batches = raw_batches(EVENTS, seed=5)
    single, _ = run_one_worker(batches)
    run_local_cluster(
        pipeline_flow,
        {"batches": batches, "out_dir": str(tmp_path), "with_sessions": False},
        processes=2,
        timeout=300,
    )
    ch = read_directory(tmp_path / "clickhouse")
    archive = read_directory(tmp_path / "archive")
    dead = read_directory(tmp_path / "dead_letter")
    assert _event_ids(ch) == _event_ids(single["ch"])
    assert _event_ids(archive) == _event_ids(single["archive"])

    def offsets(chunks: list[Chunk]) -> list[tuple[object, object]]:
        return sorted(
            (r["offset"], tuple(x["code"] for x in r["reasons"])) for r in _dead_letters(chunks)
        )

    assert offsets(dead) == offsets(single["dl"])
