"""A Bytewax source of raw records from a JSON-lines file.

It hands over `RawBatch`es (a run of raw records with their offsets) rather
than single records, so every stage downstream works a batch at a time. It is
resumable: the snapshot is the offset and file position of the next record.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

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
