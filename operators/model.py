"""Plain data that flows between the stages.

Stages work on batches: a source hands over a `RawBatch` of raw records (the
JSON bytes the collector wrote), and every stage maps an `EventBatch` to an
`EventBatch`. Rejected events are values (`Rejected`), never exceptions; a
batch carries them along to the dead-letter output, and carries the counts of
events filtered on purpose (bots) for the metrics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any, NamedTuple

# The name and version dead letters carry, from the installed package's metadata.
PROCESSOR = f"insightlite/{version('insightlite')}"

# The stages, in their fixed order. Each rejects with its own name as `stage`.
STAGE_INPUT = "input"
STAGE_VALIDATE = "validate"
STAGE_BOT_FILTER = "bot_filter"
STAGE_ENRICH = "enrich"
STAGE_ANONYMIZE = "anonymize"

Event = dict[str, Any]


class AnonymizedEvent(NamedTuple):
    """An event after the per-row reference stages: nothing personal left.

    Its fields are, in order, the columns of operators/columns.ANONYMIZED_SCHEMA (the
    `events` table's sixteen, then what the stateful stages read), so a batch turns
    into that table with one `zip` (operators/columns.anonymized_table).
    """

    event_id: str
    session_id: str
    site_id: str
    timestamp: int  # corrected event time, epoch ms UTC
    event_type: str
    event_data: str  # JSON of the kept optional fields, masked
    url_path: str
    referrer: str
    device_type: str
    viewport_width: int
    viewport_height: int
    user_agent_hash: int
    ip_hash: int
    country_code: str
    error_class: str
    received_at: int
    # Typed copies for the stateful stages (sessions, heatmaps); not columns.
    x: float | None
    y: float | None
    scroll_y: float | None
    fixed: bool
    offset: int


@dataclass(frozen=True, slots=True)
class Reason:
    """One failure of an event: a stable code to count by and a human detail."""

    code: str
    detail: str = ""


@dataclass(slots=True)
class Rejected:
    """An event a stage refused, with every reason it found.

    `payload` is the raw record as it arrived (bytes or the decoded object);
    it is masked before it leaves the pipeline (see operators.dead_letter).
    """

    stage: str
    reasons: list[Reason]
    payload: bytes | dict[str, Any] | Any
    offset: int | None  # None for a row a destination refused: it no longer knows its offset
    received_at: int | None = None
    site_id: str | None = None


@dataclass(slots=True)
class RawBatch:
    """A run of raw records read from one source partition.

    `first_offset` is the position of records[0] in that partition, so record i
    sits at first_offset + i. Offsets make output names deterministic.
    """

    source: str
    first_offset: int
    records: list[bytes]
    # Offsets of the records when they are not contiguous (a Kafka partition
    # can skip offsets); None means first_offset + i.
    offsets: list[int] | None = None
    # Records the source could not read, as (offset, error text): they become
    # dead letters of the "input" stage instead of vanishing.
    errors: list[tuple[int, str]] | None = None

    @property
    def last_offset(self) -> int:
        if self.offsets:
            return self.offsets[-1]
        return self.first_offset + len(self.records) - 1

    def record_offsets(self) -> list[int] | range:
        """The source offset of each record, in order."""
        return self.offsets or range(self.first_offset, self.first_offset + len(self.records))

    def unreadable(self, code: str) -> list[Rejected]:
        """The records the source could not read, as input-stage rejects of ``code``."""
        return [
            Rejected(STAGE_INPUT, [Reason(code, error[:200])], b"", offset)
            for offset, error in self.errors or ()
        ]


@dataclass(slots=True)
class EventBatch:
    """The accepted events of a raw batch so far, and what was set aside."""

    source: str
    first_offset: int
    last_offset: int
    events_in: int
    events: list[Any]  # decoded dicts, then AnonymizedEvent after the last stage
    rejected: list[Rejected] = field(default_factory=list)
    filtered: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        """A deterministic name for what this batch covers, used for output files."""
        return f"{self.source}-{self.first_offset:012d}-{self.last_offset:012d}"
