"""Prometheus metrics labelled by step and reason, and the run's own totals.

The Prometheus counters serve /metrics on a long-running worker; `RunTotals`
keeps the same numbers as plain data for the summary a run prints at the end.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge, Histogram

EVENTS_IN = PromCounter("insightlite_step_events_in", "Events entering a step", ["step"])
EVENTS_OUT = PromCounter("insightlite_step_events_out", "Events leaving a step", ["step"])
REJECTED = PromCounter(
    "insightlite_rejected_events", "Events rejected, by stage and reason", ["stage", "reason"]
)
FILTERED = PromCounter(
    "insightlite_filtered_events", "Events filtered (bots), by reason", ["reason"]
)
SINK_ROWS = PromCounter("insightlite_sink_rows", "Rows written by a sink", ["sink"])
SINK_BATCH_ROWS = Histogram(
    "insightlite_sink_batch_rows",
    "Rows per sink write",
    ["sink"],
    buckets=(10, 100, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000),
)
SINK_SECONDS = Histogram(
    "insightlite_sink_write_seconds",
    "Seconds per sink write",
    ["sink"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
SOURCE_ERRORS = PromCounter(
    "insightlite_source_errors", "Input errors not tied to a record, by kind", ["kind"]
)
SINK_RETRIES = PromCounter("insightlite_sink_retries", "Sink writes retried", ["sink"])
END_TO_END = Histogram(
    "insightlite_end_to_end_seconds",
    "From the collector's received_at to the event's row being queryable in ClickHouse",
    buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300),
)
WRITER_UP = Gauge(
    "insightlite_writer_up",
    "1 while a writer's last attempt succeeded, 0 while it is being retried",
    ["writer"],
)


class WriterHealth:
    """Which writers (sinks, migrations) are failing right now, for readiness.

    A writer that retries an unreachable or locked destination keeps the flow
    waiting; while it does, the process must not say it is ready.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}

    def failing(self, writer: str, error: BaseException) -> None:
        with self._lock:
            self._failing[writer] = f"{type(error).__name__}: {error}"[:300]
        WRITER_UP.labels(writer).set(0)

    def recovered(self, writer: str) -> None:
        with self._lock:
            was_failing = self._failing.pop(writer, None) is not None
        if was_failing:
            WRITER_UP.labels(writer).set(1)

    def problems(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failing)


WRITER_HEALTH = WriterHealth()

# Latency samples kept for a run's summary: a bounded reservoir.
LATENCY_SAMPLES = 100_000


@dataclass
class RunTotals:
    """What one run did, for its summary. Thread-safe for a progress display."""

    events_in: int = 0
    accepted: int = 0
    rejected_events: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    rows_written: Counter[str] = field(default_factory=Counter)
    replay_chunks_in: int = 0
    replay_chunks_stored: int = 0
    replay_rejected: Counter[str] = field(default_factory=Counter)
    latency_ms: list[int] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_batch(
        self,
        *,
        events_in: int,
        accepted: int,
        rejected_codes: list[set[str]],
        filtered: Counter[str],
    ) -> None:
        """A batch through the stages: each rejected event counts once per distinct code."""
        with self._lock:
            self.events_in += events_in
            self.accepted += accepted
            self.rejected_events += len(rejected_codes)
            for codes in rejected_codes:
                self.rejected.update(codes)
            self.filtered.update(filtered)

    def add_replay_batch(
        self, *, chunks_in: int, stored: int, rejected_codes: list[set[str]]
    ) -> None:
        """A batch of recording chunks through the replay step."""
        with self._lock:
            self.replay_chunks_in += chunks_in
            self.replay_chunks_stored += stored
            for codes in rejected_codes:
                self.replay_rejected.update(codes)

    def add_duplicates(self, events: int) -> None:
        with self._lock:
            self.duplicates += events

    def add_rows_written(self, sink: str, rows: int) -> None:
        with self._lock:
            self.rows_written[sink] += rows

    def add_rejected(self, reason: str, events: int) -> None:
        """Events rejected after the stages (a destination refused them)."""
        with self._lock:
            self.rejected[reason] += events
            self.rejected_events += events

    def add_latencies(self, samples: list[int]) -> None:
        with self._lock:
            room = LATENCY_SAMPLES - len(self.latency_ms)
            self.latency_ms.extend(samples[: max(room, 0)])

    def latency_summary(self) -> dict[str, int] | None:
        with self._lock:
            samples = sorted(self.latency_ms)
        if not samples:
            return None
        return {
            "p50": samples[len(samples) // 2],
            "p99": samples[min(len(samples) - 1, len(samples) * 99 // 100)],
            "max": samples[-1],
            "samples": len(samples),
        }

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "events_in": self.events_in,
                "accepted": self.accepted,
                "rejected_total": self.rejected_events,
                "rejected": dict(sorted(self.rejected.items())),
                "duplicates": self.duplicates,
                "filtered_total": sum(self.filtered.values()),
                "filtered": dict(sorted(self.filtered.items())),
                "rows_written": dict(sorted(self.rows_written.items())),
                "replay": {
                    "chunks_in": self.replay_chunks_in,
                    "stored": self.replay_chunks_stored,
                    "rejected": dict(sorted(self.replay_rejected.items())),
                },
            }

    def merge(self, other: dict[str, Any]) -> None:
        """Add another process's summary (as_dict form) to this one."""
        with self._lock:
            self.events_in += other["events_in"]
            self.accepted += other["accepted"]
            self.rejected_events += other["rejected_total"]
            self.duplicates += other.get("duplicates", 0)
            self.rejected.update(other["rejected"])
            self.filtered.update(other["filtered"])
            self.rows_written.update(other["rows_written"])
            replay = other.get("replay", {})
            self.replay_chunks_in += replay.get("chunks_in", 0)
            self.replay_chunks_stored += replay.get("stored", 0)
            self.replay_rejected.update(replay.get("rejected", {}))
            self.latency_ms.extend(other.get("latency_samples_ms", []))
