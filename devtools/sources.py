"""A Bytewax source of synthetic traffic from the generator, for demos and benchmarks.

Like the file source it hands over `RawBatch`es and resumes from the offset of
the next record: the generator is deterministic for a seed and a start time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from devtools.generator import GeneratorConfig, generate_records
from operators.model import RawBatch


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
