"""The Bytewax side of `operators.batching.RowBatcher`: a keyed stateful step."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import KeyedStream, StatefulBatchLogic

from operators.archive_files import ArchiveFiles, ArchiveFilesState, OffsetOf, event_offset
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
        state = self.batcher.state
        # A new list: later batches append to the live one.
        return BatcherState(list(state.pending), state.rows, state.oldest_at)


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


class _ArchiveFilesLogic(StatefulBatchLogic[Chunk, Chunk, bytes | None]):
    def __init__(
        self, files: ArchiveFiles, max_wait: timedelta, clock: Clock, keep_snapshots: bool
    ) -> None:
        self.files = files
        self.max_wait = max_wait
        self.clock = clock
        self.keep_snapshots = keep_snapshots
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

    def snapshot(self) -> bytes | None:
        # Pickled at once (later changes cannot leak in), and only when a
        # recovery store will keep it: the state holds whole buckets of events.
        return pickle.dumps(self.files.state) if self.keep_snapshots else None


def archive_files(
    step_id: str,
    up: Stream[Chunk],
    bucket_size: int,
    max_wait: timedelta,
    clock: Clock = system_clock,
    keep_snapshots: bool = False,
    offset_of: OffsetOf = event_offset,
) -> KeyedStream[Chunk]:
    """Rows (anonymized events, or dead letters) into replay-stable files per source.

    A bucket still filling is rewritten at most every `max_wait`: each write
    holds the whole bucket so far, so a short wait costs rewrites.
    """
    keyed = op.key_on(f"{step_id}_key", up, lambda chunk: chunk.spans[0].source)

    def build(resume: bytes | None) -> _ArchiveFilesLogic:
        state = pickle.loads(resume) if resume else None
        files = ArchiveFiles(
            bucket_size, state if isinstance(state, ArchiveFilesState) else None, offset_of
        )
        return _ArchiveFilesLogic(files, max_wait, clock, keep_snapshots)

    return op.stateful_batch(step_id, keyed, build)
