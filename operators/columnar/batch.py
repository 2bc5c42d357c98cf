"""The batch that travels between the columnar stages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from operators.model import Rejected


@dataclass(slots=True)
class ColumnBatch:
    """One raw batch's accepted rows as an Arrow table of a stage boundary's schema
    (operators/columnar/schemas.py), what was set aside and what was filtered."""

    source: str
    first_offset: int
    last_offset: int
    events_in: int
    table: pa.Table
    rejected: list[Rejected] = field(default_factory=list)
    filtered: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        """A deterministic name for what this batch covers, as EventBatch.name."""
        return f"{self.source}-{self.first_offset:012d}-{self.last_offset:012d}"
