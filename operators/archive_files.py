"""Archive files whose content a replay reproduces exactly.

A file holds the rows (anonymized events, or dead letters) of one source
partition (and session shard) whose source offsets fall in one fixed range, a
bucket of `bucket_size` offsets. Its name is the bucket and the first offset
this state saw in it, not the batch that happened to complete it, so after a
crash and a replay from the last snapshot the bucket is written again under
the same name with the same rows: it overwrites rather than duplicates. Until
the source has moved past a bucket, every write of it holds all of its rows so
far (a growing file is rewritten), then the bucket is dropped from the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
import pyarrow as pa

from operators.batching import Chunk, Span

# Where a row's source offset is: an anonymized event's attribute, a dead letter's key.
OffsetOf = Callable[[Any], int]
event_offset: OffsetOf = attrgetter("offset")


def dead_letter_offset(record: dict[str, Any]) -> int:
    offset = record["offset"]
    return offset if isinstance(offset, int) else -1


@dataclass(slots=True)
class Bucket:
    first_offset: int
    # Rows (dead-letter records), or anonymized events as Arrow tables (parts, in order).
    events: list[Any] = field(default_factory=list)
    written: int = 0  # rows in the last written version
    rows: int = 0


@dataclass
class ArchiveFilesState:
    source: str = ""  # the source stream, learnt from the first chunk
    buckets: dict[int, Bucket] = field(default_factory=dict)
    progress: int = -1  # the largest source offset covered by what was added


class ArchiveFiles:
    """Gathers one source stream's rows into offset buckets, one file each."""

    def __init__(
        self,
        bucket_size: int,
        state: ArchiveFilesState | None = None,
        offset_of: OffsetOf = event_offset,
    ):
        if bucket_size < 1:
            raise ValueError("archive bucket size must be positive")
        self.bucket_size = bucket_size
        self.state = state or ArchiveFilesState()
        self.offset_of = offset_of

    def add(self, chunks: list[Chunk]) -> list[Chunk]:
        """Add events; return the files of the buckets the source has moved past."""
        size = self.bucket_size
        buckets = self.state.buckets
        for chunk in chunks:
            if not self.state.source:
                self.state.source = chunk.spans[0].source
            if isinstance(chunk.rows, pa.Table):
                self._add_table(chunk.rows)
                continue
            offset_of = self.offset_of
            for row in chunk.rows:
                offset = offset_of(row)
                number = offset // size
                bucket = buckets.get(number)
                if bucket is None:
                    bucket = buckets[number] = Bucket(offset)
                bucket.events.append(row)
                bucket.rows += 1
            for span in chunk.spans:
                self.state.progress = max(self.state.progress, span.last)
        done = [n for n in buckets if (n + 1) * size - 1 <= self.state.progress]
        return [self._file(n, final=True) for n in sorted(done)]

    def _add_table(self, table: pa.Table) -> None:
        """An anonymized batch's rows into their buckets (by its `offset` column)."""
        if table.num_rows == 0:
            return
        offsets = np.asarray(table["offset"], dtype=np.int64)
        numbers = offsets // self.bucket_size
        buckets = self.state.buckets
        for number in np.unique(numbers).tolist():
            where = np.flatnonzero(numbers == number)
            part = table if len(where) == table.num_rows else table.take(where)
            bucket = buckets.get(number)
            if bucket is None:
                bucket = buckets[number] = Bucket(int(offsets[where[0]]))
            bucket.events.append(part)
            bucket.rows += part.num_rows

    def pending(self) -> list[Chunk]:
        """Files of the buckets still filling that changed since written (a time flush)."""
        buckets = self.state.buckets
        changed = [n for n, b in buckets.items() if b.rows != b.written]
        return [self._file(n, final=False) for n in sorted(changed)]

    def _file(self, number: int, *, final: bool) -> Chunk:
        bucket = self.state.buckets[number]
        bucket.written = bucket.rows
        if final:
            del self.state.buckets[number]
        start = number * self.bucket_size
        source = self.state.source
        span = Span(source, bucket.first_offset, start + self.bucket_size - 1)
        label = f"{source}-b{start:012d}-{bucket.first_offset:012d}"
        parts = bucket.events
        if parts and isinstance(parts[0], pa.Table):
            return Chunk((span,), pa.concat_tables(parts), label)
        return Chunk((span,), list(parts), label)

    @property
    def empty(self) -> bool:
        return not self.state.buckets
