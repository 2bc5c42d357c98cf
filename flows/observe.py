"""Count what each step does: Prometheus metrics and the run's totals."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from foundation.metrics import EVENTS_IN, EVENTS_OUT, FILTERED, REJECTED, RunTotals
from operators.columnar.batch import ColumnBatch
from operators.model import RawBatch, Rejected

B = TypeVar("B", RawBatch, ColumnBatch)


def count_rejects(rejected: list[Rejected]) -> None:
    """Count a step's new rejects by stage and reason (each distinct code once per item)."""
    for item in rejected:
        for code in {reason.code for reason in item.reasons}:
            REJECTED.labels(item.stage, code).inc()


def observed(step: str, stage: Callable[[B], ColumnBatch]) -> Callable[[B], ColumnBatch]:
    """Wrap a stage so that its events in/out, rejects and filters are counted."""
    events_in = EVENTS_IN.labels(step)
    events_out = EVENTS_OUT.labels(step)

    def run(batch: B) -> ColumnBatch:
        if isinstance(batch, RawBatch):
            count_in, rejected_before, filtered_before = len(batch.records), 0, 0
        else:
            count_in = batch.table.num_rows
            rejected_before = len(batch.rejected)
            filtered_before = sum(batch.filtered.values())
        out = stage(batch)
        events_in.inc(count_in)
        events_out.inc(out.table.num_rows)
        count_rejects(out.rejected[rejected_before:])
        if sum(out.filtered.values()) != filtered_before:
            # Filter counts accumulate on the batch; only this stage adds to them.
            for reason, count in out.filtered.items():
                FILTERED.labels(reason).inc(count)
        return out

    return run


class Accountant:
    """The last stateless step: adds a finished batch to the run's totals."""

    def __init__(self, totals: RunTotals, on_batch: Callable[[ColumnBatch], None] | None = None):
        self.totals = totals
        self.on_batch = on_batch

    def __call__(self, batch: ColumnBatch) -> ColumnBatch:
        self.totals.add_batch(
            events_in=batch.events_in,
            accepted=batch.table.num_rows,
            rejected_codes=[{reason.code for reason in item.reasons} for item in batch.rejected],
            filtered=batch.filtered,
        )
        if self.on_batch is not None:
            self.on_batch(batch)
        return batch
