"""The replay step: recording chunks in; blobs, chunk rows and dead letters out.

    replay_input ─ replay_validate ─ replay_mask ─ replay_stats ─ replay_account ─┐
        ┌───────────────────────────────────────────────────────────────────────────┘
        ├─ blobs ─ archive replays/…
        ├─ chunk rows ─ batch ─ ClickHouse session_replay_chunks
        └─ rejects ─ dead letters (archive and topic)

It is a second input of the same dataflow as the events (its own Kafka topic,
`replay_events`), sharing the dead-letter destinations. Every output is
idempotent: a blob's name depends only on its chunk, and the per-recording
aggregates behind `session_replay_chunks` count a chunk stored twice once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink

from flows.batcher import Clock, batch_rows, system_clock
from flows.kafka_outputs import KafkaOutputs
from flows.observe import count_rejects
from flows.pipeline import BatchLimits, OutputItem, dead_letter_outputs
from foundation.metrics import EVENTS_IN, EVENTS_OUT, RunTotals
from foundation.settings import Settings
from foundation.units import DAY_MS, HOUR_MS
from operators.batching import Chunk, Span
from operators.model import RawBatch
from operators.replay_mask import mask_replay
from operators.replay_model import (
    STAGE_REPLAY_MASK,
    STAGE_REPLAY_STORE,
    STAGE_REPLAY_VALIDATE,
    ReplayBatch,
)
from operators.replay_stats import ReplayStats, replay_chunks_table
from operators.replay_validate import ReplayValidator

REPLAY_CHUNKS_TABLE = "session_replay_chunks"


@dataclass(frozen=True)
class ReplaySteps:
    """The replay step's stages, in their fixed order."""

    validate: Callable[[RawBatch], ReplayBatch]
    mask: Callable[[ReplayBatch], ReplayBatch]
    stats: Callable[[ReplayBatch], ReplayBatch]


def build_replay_steps(settings: Settings) -> ReplaySteps:
    validator = ReplayValidator(
        max_future_ms=int(settings.max_future_hours * HOUR_MS),
        max_age_ms=int(settings.max_age_days * DAY_MS),
        max_chunk_bytes=settings.collector_replay_max_chunk_bytes,
        site_allowlist=tuple(settings.site_allowlist),
    )
    stats = ReplayStats(
        rage_click_count=settings.rage_click_count,
        rage_click_interval_ms=settings.rage_click_interval_ms,
        rage_click_distance_px=settings.rage_click_distance_px,
    )
    return ReplaySteps(validate=validator, mask=mask_replay, stats=stats)


@dataclass
class ReplayOutputs:
    """Where the replay step writes; any of them may be None to leave it out."""

    blobs: Sink[OutputItem] | None
    chunks: Sink[OutputItem] | None  # the ClickHouse table session_replay_chunks
    dead_letter: Sink[OutputItem] | None
    clickhouse_single_writer: bool = True


def _counted(step: str, stage: Callable[[Any], ReplayBatch]) -> Callable[[Any], ReplayBatch]:
    """A stage with its chunks in and out and its rejects counted by reason."""
    chunks_in = EVENTS_IN.labels(step)
    chunks_out = EVENTS_OUT.labels(step)

    def run(batch: ReplayBatch | RawBatch) -> ReplayBatch:
        if isinstance(batch, RawBatch):
            count_in, rejected_before = len(batch.records), 0
        else:
            count_in, rejected_before = len(batch.chunks) + len(batch.stored), len(batch.rejected)
        out = stage(batch)
        chunks_in.inc(count_in)
        chunks_out.inc(len(out.chunks) + len(out.stored))
        count_rejects(out.rejected[rejected_before:])
        return out

    return run


def _span(batch: ReplayBatch) -> tuple[Span, ...]:
    return (Span(batch.source, batch.first_offset, batch.last_offset),)


def attach_replay(
    flow: Dataflow,
    source: Source[RawBatch],
    steps: ReplaySteps,
    outputs: ReplayOutputs,
    *,
    limits: BatchLimits | None = None,
    totals: RunTotals | None = None,
    clock: Clock = system_clock,
    kafka: KafkaOutputs | None = None,
    redistribute: bool = False,
) -> None:
    """Add the replay step, from its own input to its outputs, to ``flow``."""
    limits = limits or BatchLimits()
    totals = totals if totals is not None else RunTotals()
    raw: Stream[RawBatch] = op.input("replay_input", flow, source)
    if redistribute:
        raw = op.redistribute("replay_spread", raw)
    batches = op.map(STAGE_REPLAY_VALIDATE, raw, _counted(STAGE_REPLAY_VALIDATE, steps.validate))
    batches = op.map(STAGE_REPLAY_MASK, batches, _counted(STAGE_REPLAY_MASK, steps.mask))
    batches = op.map(STAGE_REPLAY_STORE, batches, _counted(STAGE_REPLAY_STORE, steps.stats))

    def account(batch: ReplayBatch) -> ReplayBatch:
        totals.add_replay_batch(
            chunks_in=batch.chunks_in,
            stored=len(batch.stored),
            rejected_codes=[{reason.code for reason in item.reasons} for item in batch.rejected],
        )
        return batch

    stored = op.map("replay_account", batches, account)
    if outputs.blobs is not None:
        blobs = op.filter_map("replay_blob_lists", stored, _blob_chunk)
        op.output("replay_blobs", op.key_on("replay_blobs_key", blobs, _source), outputs.blobs)
    if outputs.chunks is not None:
        rows = op.filter_map("replay_chunk_rows", stored, _rows_chunk)
        key = (lambda chunk: "all") if outputs.clickhouse_single_writer else _source
        batched = batch_rows(
            "batch_replay_chunks", rows, key, limits.clickhouse_rows, limits.max_wait, clock
        )
        op.output("clickhouse_replay_chunks", batched, outputs.chunks)
    dead_letter_outputs("replay_", stored, outputs.dead_letter, limits, clock, kafka)


def _source(chunk: Chunk) -> str:
    return chunk.spans[0].source


def _blob_chunk(batch: ReplayBatch) -> Chunk | None:
    return Chunk(_span(batch), list(batch.stored)) if batch.stored else None


def _rows_chunk(batch: ReplayBatch) -> Chunk | None:
    if not batch.stored:
        return None
    return Chunk(_span(batch), replay_chunks_table(batch.stored))
