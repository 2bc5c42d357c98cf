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
    events: list[Any] = field(default_factory=list)
    written: int = 0  # rows in the last written version


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
            offset_of = self.offset_of
            for row in chunk.rows:
                offset = offset_of(row)
                number = offset // size
                bucket = buckets.get(number)
                if bucket is None:
                    bucket = buckets[number] = Bucket(offset)
                bucket.events.append(row)
            for span in chunk.spans:
                self.state.progress = max(self.state.progress, span.last)
        done = [n for n in buckets if (n + 1) * size - 1 <= self.state.progress]
        return [self._file(n, final=True) for n in sorted(done)]

    def pending(self) -> list[Chunk]:
        """Files of the buckets still filling that changed since written (a time flush)."""
        buckets = self.state.buckets
        changed = [n for n, b in buckets.items() if len(b.events) != b.written]
        return [self._file(n, final=False) for n in sorted(changed)]

    def _file(self, number: int, *, final: bool) -> Chunk:
        bucket = self.state.buckets[number]
        bucket.written = len(bucket.events)
        if final:
            del self.state.buckets[number]
        start = number * self.bucket_size
        source = self.state.source
        span = Span(source, bucket.first_offset, start + self.bucket_size - 1)
        label = f"{source}-b{start:012d}-{bucket.first_offset:012d}"
        return Chunk((span,), list(bucket.events), label)

    @property
    def empty(self) -> bool:
        return not self.state.buckets
