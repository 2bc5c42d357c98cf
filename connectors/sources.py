"""Bytewax sources of raw records: a JSON-lines file and the traffic generator.

Both hand over `RawBatch`es (a run of raw records with their offsets) rather
than single records, so every stage downstream works a batch at a time. Both
are resumable: the snapshot is the offset of the next record to read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from insightlite.generator import GeneratorConfig, generate_records
from operators.model import RawBatch


class _FilePartition(StatefulSourcePartition[RawBatch, tuple[int, int]]):
    def __init__(self, path: Path, source: str, batch_size: int, resume: tuple[int, int] | None):
        self._file = path.open("rb")
        self._source = source
        self._batch_size = batch_size
        self._offset, position = resume or (0, 0)
        self._file.seek(position)

    def next_batch(self) -> list[RawBatch]:
        records = []
        for line in itertools.islice(self._file, self._batch_size):
            records.append(line.rstrip(b"\r\n"))
        if not records:
            raise StopIteration
        batch = RawBatch(self._source, self._offset, records)
        self._offset += len(records)
        return [batch]

    def snapshot(self) -> tuple[int, int]:
        return (self._offset, self._file.tell())

    def close(self) -> None:
        self._file.close()


class JsonLinesSource(FixedPartitionedSource[RawBatch, tuple[int, int]]):
    """Raw records, one per line, from a file; one partition per file."""

    def __init__(self, path: str | Path, batch_size: int = 5_000) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"input file not found: {self.path}")
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = batch_size

    @property
    def partition(self) -> str:
        return "file-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in self.path.name)

    def list_parts(self) -> list[str]:
        return [self.partition]

    def build_part(
        self, step_id: str, for_part: str, resume_state: tuple[int, int] | None
    ) -> _FilePartition:
        return _FilePartition(self.path, for_part, self.batch_size, resume_state)


class _GeneratorPartition(StatefulSourcePartition[RawBatch, int]):
    def __init__(self, records: Iterator[bytes], source: str, batch_size: int, resume: int | None):
        self._records = records
        self._source = source
        self._batch_size = batch_size
        self._offset = resume or 0
        # The generator is deterministic: resuming replays it up to the offset.
        next(itertools.islice(self._records, self._offset, self._offset), None)

    def next_batch(self) -> list[RawBatch]:
        records = list(itertools.islice(self._records, self._batch_size))
        if not records:
            raise StopIteration
        batch = RawBatch(self._source, self._offset, records)
        self._offset += len(records)
        return [batch]

    def snapshot(self) -> int:
        return self._offset


class GeneratorSource(FixedPartitionedSource[RawBatch, int]):
    """Synthetic traffic, deterministic for a seed and a start time."""

    def __init__(
        self,
        events: int,
        *,
        seed: int,
        now_ms: int,
        config: GeneratorConfig | None = None,
        batch_size: int = 5_000,
    ) -> None:
        if events < 0:
            raise ValueError("events must not be negative")
        self.events = events
        self.seed = seed
        self.now_ms = now_ms
        self.config = config
        self.batch_size = batch_size

    def list_parts(self) -> list[str]:
        return [f"gen{self.seed}"]

    def build_part(
        self, step_id: str, for_part: str, resume_state: int | None
    ) -> _GeneratorPartition:
        records = generate_records(
            self.events, seed=self.seed, config=self.config, now_ms=self.now_ms
        )
        return _GeneratorPartition(iter(records), for_part, self.batch_size, resume_state)
