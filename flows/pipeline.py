"""The main dataflow: raw records in; events, archive and dead letters out.

    input ─ validate ─ bot_filter ─ enrich ─ anonymize ─ account ─┬─ events ─ ClickHouse
                                                                  ├─ events ─ archive
                                                                  └─ rejects ─ dead letters

(each output goes through a batching step first)

Every box is an operator from `operators/`; this module only wires them.
Sessions and heatmap grids attach to the anonymized stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink

from flows.batcher import Clock, archive_files, batch_rows, system_clock
from flows.kafka_outputs import (
    KafkaOutputs,
    event_messages,
    heatmap_messages,
)
from flows.observe import Accountant, observed
from flows.sessions import SessionsSpec, SessionStreams, attach_sessions
from flows.stages import Stages
from foundation.metrics import RunTotals
from operators.archive_files import dead_letter_offset
from operators.batching import Chunk, Span
from operators.columnar.batch import ColumnBatch
from operators.columns import event_columns
from operators.dead_letter import dead_letter_records
from operators.model import STAGE_VALIDATE, RawBatch, Rejected

OutputItem = tuple[str, Chunk]


@dataclass
class FlowOutputs:
    """Where the flow writes; any of them may be None to leave it out."""

    clickhouse: Sink[OutputItem] | None
    archive: Sink[OutputItem] | None
    dead_letter: Sink[OutputItem] | None
    sessions: Sink[OutputItem] | None = None
    heatmaps: Sink[OutputItem] | None = None
    # A single writer (the embedded engine) gathers all sources into one
    # batch; several writers batch per source partition, where the rows are.
    clickhouse_single_writer: bool = True


@dataclass
class BatchLimits:
    clickhouse_rows: int = 10_000
    archive_rows: int = 100_000
    max_wait: timedelta = timedelta(seconds=2)
    archive_wait: timedelta = timedelta(seconds=60)
    keep_snapshots: bool = False  # a recovery store will keep the stateful steps' snapshots


def _as_table(chunk: Chunk) -> Chunk:
    """Anonymized events as the `events` table's Arrow columns, same spans and name."""
    return Chunk(chunk.spans, event_columns(chunk.rows), chunk.label)


def _source_key(chunk: Chunk) -> str:
    return chunk.spans[0].source


def _single_key(chunk: Chunk) -> str:
    return "all"


def _span(batch: ColumnBatch) -> tuple[Span, ...]:
    return (Span(batch.source, batch.first_offset, batch.last_offset),)


def build_flow(
    flow_id: str,
    source: Source[RawBatch],
    stages: Stages,
    outputs: FlowOutputs,
    *,
    limits: BatchLimits | None = None,
    totals: RunTotals | None = None,
    on_batch: Callable[[ColumnBatch], None] | None = None,
    clock: Clock = system_clock,
    redistribute: bool = False,
    sessions: SessionsSpec | None = None,
    kafka: KafkaOutputs | None = None,
) -> Dataflow:
    """The whole flow: the stages, then each output's branch."""
    limits = limits or BatchLimits()
    totals = totals if totals is not None else RunTotals()
    flow = Dataflow(flow_id)
    anonymized = _stages(flow, source, stages, totals, on_batch, redistribute)
    if sessions is not None:
        streams = attach_sessions(anonymized, sessions, clock, totals)
        if kafka is not None:
            _kafka_event_outputs(streams, kafka)
        _session_and_heatmap_outputs(streams, outputs, limits, clock)
        event_lists = streams.events
    else:
        event_lists = op.filter_map("event_lists", anonymized, _events_chunk)
    _event_outputs(event_lists, outputs, limits, clock)
    dead_letter_outputs("", anonymized, outputs.dead_letter, limits, clock, kafka)
    return flow


def _stages(
    flow: Dataflow,
    source: Source[RawBatch],
    stages: Stages,
    totals: RunTotals,
    on_batch: Callable[[ColumnBatch], None] | None,
    redistribute: bool,
) -> Stream[ColumnBatch]:
    """Input, the stateless stages in their fixed order, and the run's accounting."""
    raw: Stream[RawBatch] = op.input("input", flow, source)
    if redistribute:
        # A file or generator source is one partition: spread its batches
        # over every worker so that the stateless stages run in parallel.
        raw = op.redistribute("spread", raw)
    batches = op.map(STAGE_VALIDATE, raw, observed(STAGE_VALIDATE, stages.validate))
    for name, stage in stages.later:
        batches = op.map(name, batches, observed(name, stage))
    return op.map("account", batches, Accountant(totals, on_batch))


def _events_chunk(batch: ColumnBatch) -> Chunk | None:
    if batch.table.num_rows == 0:
        return None
    return Chunk(_span(batch), batch.table)


def _clickhouse_key(outputs: FlowOutputs) -> Callable[[Chunk], str]:
    return _single_key if outputs.clickhouse_single_writer else _source_key


def _kafka_event_outputs(streams: SessionStreams, kafka: KafkaOutputs) -> None:
    processed = op.map("processed_messages", streams.events, event_messages)
    op.output("kafka_processed_events", processed, kafka.sink(kafka.processed_events))
    updates = op.map("heatmap_messages", streams.heatmaps, heatmap_messages)
    op.output("kafka_heatmap_updates", updates, kafka.sink(kafka.heatmap_updates))


def _session_and_heatmap_outputs(
    streams: SessionStreams, outputs: FlowOutputs, limits: BatchLimits, clock: Clock
) -> None:
    ch_key = _clickhouse_key(outputs)
    if outputs.sessions is not None:
        batched = batch_rows(
            "batch_sessions",
            streams.sessions,
            ch_key,
            limits.clickhouse_rows,
            limits.max_wait,
            clock,
        )
        op.output("clickhouse_sessions", batched, outputs.sessions)
    if outputs.heatmaps is not None:
        if limits.keep_snapshots:
            # With recovery on, one insert per written window: its name is
            # its insert deduplication token, which a replay reproduces, so
            # the summing table never counts a replayed window twice.
            heat_out = op.key_on("route_heatmaps", streams.heatmaps, ch_key)
        else:
            # Without recovery there is no replay to guard against: batch,
            # which matters when a backlog closes thousands of windows.
            heat_out = batch_rows(
                "batch_heatmaps",
                streams.heatmaps,
                ch_key,
                limits.clickhouse_rows,
                limits.max_wait,
                clock,
            )
        op.output("clickhouse_heatmaps", heat_out, outputs.heatmaps)


def _event_outputs(
    event_lists: Stream[Chunk], outputs: FlowOutputs, limits: BatchLimits, clock: Clock
) -> None:
    """The `events` table and the Parquet archive."""
    if outputs.clickhouse is None and outputs.archive is None:
        return
    tables = op.map("events_table", event_lists, _as_table)
    if outputs.clickhouse is not None:
        ch = batch_rows(
            "batch_clickhouse",
            tables,
            _clickhouse_key(outputs),
            limits.clickhouse_rows,
            limits.max_wait,
            clock,
        )
        op.output("clickhouse", ch, outputs.clickhouse)
    if outputs.archive is not None:
        # Files of fixed source-offset ranges, which a replay rewrites alike.
        files = archive_files(
            "archive_files",
            event_lists,
            limits.archive_rows,
            limits.archive_wait,
            clock,
            limits.keep_snapshots,
        )
        op.output("archive", op.map_value("archive_table", files, _as_table), outputs.archive)


class RejectsCarrier(Protocol):
    """A batch of any step that sets records aside: events or recording chunks."""

    source: str
    first_offset: int
    last_offset: int
    rejected: list[Rejected]


def dead_letter_outputs(
    prefix: str,
    batches: Stream[Any],
    sink: Sink[OutputItem] | None,
    limits: BatchLimits,
    clock: Clock,
    kafka: KafkaOutputs | None,
) -> None:
    """The rejects of ``batches`` (each a :class:`RejectsCarrier`) to the dead-letter
    archive and topic; ``prefix`` keeps the step ids of two callers apart."""
    if sink is None and kafka is None:
        return

    def dead_letter_chunk(batch: RejectsCarrier) -> Chunk | None:
        if not batch.rejected:
            return None
        failed_at = int(clock().timestamp() * 1000)
        span = (Span(batch.source, batch.first_offset, batch.last_offset),)
        return Chunk(span, dead_letter_records(batch.rejected, batch.source, failed_at))

    rejects = op.filter_map(f"{prefix}dead_letters", batches, dead_letter_chunk)
    if kafka is not None:
        # The topic's records carry the payload encrypted, like the archive's files.
        dead_messages = op.map(f"{prefix}dead_letter_messages", rejects, kafka.dead_letter_messages)
        op.output(f"{prefix}kafka_dead_letter", dead_messages, kafka.sink(kafka.dead_letter))
    if sink is not None:
        # Files of fixed source-offset ranges like the events archive: a replay
        # rewrites the same files instead of adding overlapping ones.
        files = archive_files(
            f"{prefix}dead_letter_files",
            rejects,
            limits.archive_rows,
            limits.archive_wait,
            clock,
            limits.keep_snapshots,
            offset_of=dead_letter_offset,
        )
        op.output(f"{prefix}dead_letter", files, sink)
