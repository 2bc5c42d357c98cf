"""The Bytewax side of `operators.batching.RowBatcher`: a keyed stateful step."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import KeyedStream, StatefulBatchLogic

from operators.archive_files import ArchiveFiles, ArchiveFilesState
from operators.batching import BatcherState, Chunk, RowBatcher

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class _BatcherLogic(StatefulBatchLogic[Chunk, Chunk, BatcherState]):
    def __init__(self, batcher: RowBatcher, clock: Clock) -> None:
        self.batcher = batcher
        self.clock = clock

    def on_batch(self, values: list[Chunk]) -> tuple[Iterable[Chunk], bool]:
        return self.batcher.add(values, self.clock()), StatefulBatchLogic.RETAIN

    def on_notify(self) -> tuple[Iterable[Chunk], bool]:
        return self.batcher.flush(), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[Chunk], bool]:
        return self.batcher.flush(), StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        return self.batcher.deadline()

    def snapshot(self) -> BatcherState:
        return copy.copy(self.batcher.state)


def batch_rows(
    step_id: str,
    up: Stream[Chunk],
    key: Callable[[Chunk], str],
    max_rows: int,
    max_wait: timedelta,
    clock: Clock = system_clock,
) -> KeyedStream[Chunk]:
    """Gather chunks per key into chunks of `max_rows` rows or `max_wait` age."""
    keyed = op.key_on(f"{step_id}_key", up, key)

    def build(state: BatcherState | None) -> _BatcherLogic:
        return _BatcherLogic(RowBatcher(max_rows, max_wait, state), clock)

    return op.stateful_batch(step_id, keyed, build)


class _ArchiveFilesLogic(StatefulBatchLogic[Chunk, Chunk, ArchiveFilesState]):
    def __init__(self, files: ArchiveFiles, max_wait: timedelta, clock: Clock) -> None:
        self.files = files
        self.max_wait = max_wait
        self.clock = clock
        self.due: datetime | None = None

    def on_batch(self, values: list[Chunk]) -> tuple[Iterable[Chunk], bool]:
        done = self.files.add(values)
        if self.due is None and not self.files.empty:
            self.due = self.clock() + self.max_wait
        return done, StatefulBatchLogic.RETAIN

    def on_notify(self) -> tuple[Iterable[Chunk], bool]:
        self.due = None
        return self.files.pending(), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[Chunk], bool]:
        return self.files.pending(), StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        return self.due

    def snapshot(self) -> ArchiveFilesState:
        return copy.deepcopy(self.files.state)


def archive_files(
    step_id: str,
    up: Stream[Chunk],
    bucket_size: int,
    max_wait: timedelta,
    clock: Clock = system_clock,
) -> KeyedStream[Chunk]:
    """Events (lists of anonymized events) into replay-stable archive files per source."""
    keyed = op.key_on(f"{step_id}_key", up, lambda chunk: chunk.spans[0].source)

    def build(state: ArchiveFilesState | None) -> _ArchiveFilesLogic:
        return _ArchiveFilesLogic(ArchiveFiles(bucket_size, state), max_wait, clock)

    return op.stateful_batch(step_id, keyed, build)
