"""Plain data of the replay step: recording chunks between its stages.

A source hands over a `RawBatch` of raw records (the chunks the collector wrote
to `replay_events`); `replay_validate` turns it into a `ReplayBatch` of decoded
`ReplayChunk`s, `replay_mask` masks them in place and `replay_stats` turns each
into a `StoredChunk` (its blob and its `session_replay_chunks` row). A chunk a
stage refuses leaves `chunks` for `rejected`, as an `operators.model.Rejected`
value with the stage's name; nothing is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from operators.model import Rejected

# The replay step's stages, in their fixed order. Each rejects with its own name as `stage`.
STAGE_REPLAY_VALIDATE = "replay_validate"
STAGE_REPLAY_MASK = "replay_mask"
STAGE_REPLAY_STORE = "replay_stats"
REPLAY_STAGES = frozenset({STAGE_REPLAY_VALIDATE, STAGE_REPLAY_MASK, STAGE_REPLAY_STORE})


@dataclass(slots=True)
class ReplayChunk:
    """One validated chunk: consecutive rrweb events of one page load.

    `session_id` and `chunk_id` are lowercase (as ClickHouse prints UUIDs), so blob
    names and rows agree with what the query API looks up. Times are epoch ms:
    `sent_at` on the client's clock (None when the tracker did not send it),
    `received_at` on the collector's.
    """

    site_id: str
    session_id: str
    chunk_id: str
    seq: int
    sent_at: int | None
    received_at: int
    country_code: str
    device_type: str
    events: list[dict[str, Any]]
    offset: int

    @property
    def clock_correction_ms(self) -> int:
        """What to add to a client time to get the collector's: received_at - sent_at."""
        return 0 if self.sent_at is None else self.received_at - self.sent_at

    def payload(self) -> dict[str, Any]:
        """The chunk as a record of the contract again, for a dead letter."""
        record: dict[str, Any] = {
            "v": 1,
            "site_id": self.site_id,
            "session_id": self.session_id,
            "chunk_id": self.chunk_id,
            "seq": self.seq,
        }
        if self.sent_at is not None:
            record["sent_at"] = self.sent_at
        record.update(
            events=self.events,
            received_at=self.received_at,
            country_code=self.country_code,
            device_type=self.device_type,
        )
        return record


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """What is written for one chunk: its blob under its name, and its row.

    `row` holds the values of `operators.replay_stats.REPLAY_CHUNKS_SCHEMA`'s
    columns in their order (times as epoch ms).
    """

    blob_name: str
    blob: bytes
    row: tuple[Any, ...]


@dataclass(slots=True)
class ReplayBatch:
    """The chunks of a raw batch so far, what was stored, and what was set aside.

    `rejected` grows from stage to stage; `chunks` holds the chunks still on their
    way and `stored` those `replay_stats` finished (it empties `chunks`).
    """

    source: str
    first_offset: int
    last_offset: int
    chunks_in: int
    chunks: list[ReplayChunk]
    stored: list[StoredChunk] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def name(self) -> str:
        """A deterministic name for what this batch covers, used for output files."""
        return f"{self.source}-{self.first_offset:012d}-{self.last_offset:012d}"
