"""Gathering output into inserts of a useful size.

ClickHouse wants inserts of 10k-100k rows about once a second, and a Parquet
file should hold more than one source batch. `RowBatcher` gathers chunks until
a row count is reached or the oldest pending chunk has waited long enough.
The clock is passed in, so the logic is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import xxhash


@dataclass(frozen=True, slots=True)
class Span:
    """A contiguous run of offsets of one source partition."""

    source: str
    first: int
    last: int


@dataclass(slots=True)
class Chunk:
    """Rows for one output (an Arrow table or a list of records) and what they cover."""

    spans: tuple[Span, ...]
    rows: pa.Table | list[Any]
    label: str | None = None  # a name given by the producer, instead of one from the spans

    @property
    def row_count(self) -> int:
        return self.rows.num_rows if isinstance(self.rows, pa.Table) else len(self.rows)

    @property
    def name(self) -> str:
        """Deterministic name: `source-first-last` when one source covers it, else a hash."""
        if self.label is not None:
            return self.label
        spans = self.spans
        if len({span.source for span in spans}) == 1:
            return f"{spans[0].source}-{spans[0].first:012d}-{spans[-1].last:012d}"
        text = ";".join(f"{s.source}:{s.first}-{s.last}" for s in spans)
        return "mixed-" + xxhash.xxh64_hexdigest(text)


def merge_chunks(chunks: list[Chunk]) -> Chunk:
    if len(chunks) == 1:
        return chunks[0]
    spans = tuple(span for chunk in chunks for span in chunk.spans)
    first = chunks[0].rows
    if isinstance(first, pa.Table):
        tables = [chunk.rows for chunk in chunks if isinstance(chunk.rows, pa.Table)]
        return Chunk(spans, pa.concat_tables(tables))
    records: list[Any] = []
    for chunk in chunks:
        records.extend(chunk.rows)
    return Chunk(spans, records)


@dataclass
class BatcherState:
    pending: list[Chunk] = field(default_factory=list)
    rows: int = 0
    oldest_at: datetime | None = None


class RowBatcher:
    """Emits merged chunks of at least `max_rows` rows, or after `max_wait`."""

    def __init__(self, max_rows: int, max_wait: timedelta, state: BatcherState | None = None):
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        self.max_rows = max_rows
        self.max_wait = max_wait
        self.state = state or BatcherState()

    def add(self, chunks: list[Chunk], now: datetime) -> list[Chunk]:
        state = self.state
        for chunk in chunks:
            if chunk.row_count == 0:
                continue
            if state.oldest_at is None:
                state.oldest_at = now
            state.pending.append(chunk)
            state.rows += chunk.row_count
        if state.rows >= self.max_rows or self.due(now):
            return self.flush()
        return []

    def due(self, now: datetime) -> bool:
        deadline = self.deadline()
        return deadline is not None and now >= deadline

    def deadline(self) -> datetime | None:
        oldest = self.state.oldest_at
        return None if oldest is None else oldest + self.max_wait

    def flush(self) -> list[Chunk]:
        state = self.state
        if not state.pending:
            return []
        merged = merge_chunks(state.pending)
        self.state = BatcherState()
        return [merged]

    @property
    def empty(self) -> bool:
        return not self.state.pending
