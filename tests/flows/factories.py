"""Flows for the flow tests: the real pipeline with in-memory sources and sinks.

Module-level so that worker processes started with `spawn` can import them.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import DynamicSource, StatelessSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import TestingSource

from devtools.generator import generate_records
from flows.pipeline import BatchLimits, FlowOutputs, build_flow
from flows.stages import build_sessions_spec, build_stages
from foundation.settings import load_settings
from operators.batching import Chunk
from operators.model import RawBatch
from tests.dates import RECENT_NOON_MS

NOW_MS = RECENT_NOON_MS
# One visitor-key directory for every process and run of the flow tests: runs compared
# with one another (crash and clean, one worker and many) hash with the same day keys.
VISITOR_KEYS = str(Path(tempfile.gettempdir()) / f"insightlite-flow-test-keys-{os.getuid()}")


def raw_batches(events: int, seed: int, batch_size: int = 500) -> list[RawBatch]:
    records = list(generate_records(events, seed=seed, now_ms=NOW_MS))
    return [
        RawBatch("mem", start, records[start : start + batch_size])
        for start in range(0, len(records), batch_size)
    ]


class _DirectoryPartition(StatelessSinkPartition[tuple[str, Chunk]]):
    def __init__(self, directory: Path, worker: int) -> None:
        self.directory = directory
        self.worker = worker

    def write_batch(self, items: list[tuple[str, Chunk]]) -> None:
        for item in items:
            path = self.directory / f"{self.worker}-{uuid.uuid4().hex}.pkl"
            path.write_bytes(pickle.dumps(item[1]))


class DirectorySink(DynamicSink[tuple[str, Chunk]]):
    """Pickles every output chunk into a directory: visible across processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _DirectoryPartition:
        return _DirectoryPartition(self.directory, worker_index)


def read_directory(directory: Path) -> list[Chunk]:
    return [pickle.loads(path.read_bytes()) for path in sorted(directory.glob("*.pkl"))]


def pipeline_flow(
    *,
    process_id: int = 0,
    process_count: int = 1,
    batches: list[RawBatch] | None = None,
    events: int = 0,
    seed: int = 0,
    out_dir: str,
    settings: dict[str, Any] | None = None,
    with_sessions: bool = True,
) -> Dataflow:
    """The production flow wired to a testing source and directory sinks."""
    config = load_settings(**{"visitor_key_store": VISITOR_KEYS, **(settings or {})})
    source_batches = batches if batches is not None else raw_batches(events, seed)
    out = Path(out_dir)
    outputs = FlowOutputs(
        clickhouse=DirectorySink(out / "clickhouse"),
        archive=DirectorySink(out / "archive"),
        dead_letter=DirectorySink(out / "dead_letter"),
        sessions=DirectorySink(out / "sessions"),
        heatmaps=DirectorySink(out / "heatmaps"),
    )
    flow = build_flow(
        "test_pipeline",
        TestingSource(source_batches),
        build_stages(config),
        outputs,
        limits=BatchLimits(clickhouse_rows=1_000, archive_rows=2_000),
        redistribute=process_count > 1,
        sessions=build_sessions_spec(config) if with_sessions else None,
    )
    return flow


class _Idle(StatelessSourcePartition[int]):
    """A source that never ends and never yields: a worker that runs until stopped."""

    def next_batch(self) -> list[int]:
        return []

    def next_awake(self) -> datetime:
        return datetime.now(UTC) + timedelta(milliseconds=100)


class IdleSource(DynamicSource[int]):
    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Idle:
        return _Idle()


class _Discard(StatelessSinkPartition[int]):
    def write_batch(self, items: list[int]) -> None:
        return None


class DiscardSink(DynamicSink[int]):
    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Discard:
        return _Discard()


def endless_flow(process_id: int = 0, process_count: int = 1) -> Dataflow:
    flow = Dataflow("endless")
    op.output("discard", op.input("idle", flow, IdleSource()), DiscardSink())
    return flow
