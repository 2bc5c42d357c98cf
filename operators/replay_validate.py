"""The replay step's first stage: decode recording chunks and check them.

Each raw record is decoded (orjson) and checked against the chunk contract
(`foundation/contract/replay-chunk-v1.schema.json`, compiled by
`operators.schema_rules`, with `received_at` required as the collector always
sets it). Every failure is a reason, and failures of the events are summarised
per kind. A chunk whose events, clock-corrected with the chunk's
`received_at - sent_at`, lie more than `max_future_ms` after or `max_age_ms`
before `received_at` is refused too: both limits are measured against the
collector's clock, so validating the same records again gives the same answer.

Nothing here raises on a record: a record that is not JSON, not an object or
not a chunk becomes a `Rejected` of stage `replay_validate`, and records the
source could not read become rejects of stage `input`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

import orjson

from foundation.contract import load_replay_chunk_schema
from foundation.units import DAY_MS, HOUR_MS
from operators.model import RawBatch, Reason, Rejected
from operators.replay_model import STAGE_REPLAY_VALIDATE, ReplayBatch, ReplayChunk
from operators.schema_rules import (
    MALFORMED_JSON,
    NOT_AN_OBJECT,
    SOURCE_ERROR,
    TOO_FAR_IN_FUTURE,
    TOO_LARGE,
    TOO_OLD,
    EventCheck,
    compile_contract,
)

# Fields the collector adds to every chunk record; the browser never sends them.
COLLECTOR_REQUIRED = ("received_at",)
# What a chunk record without the collector's optional fields is counted as.
UNKNOWN_COUNTRY = ""
UNKNOWN_DEVICE = "other"


@functools.lru_cache(maxsize=8)
def _compiled_contract(site_allowlist: frozenset[str]) -> EventCheck:
    return compile_contract(
        load_replay_chunk_schema(), extra_required=COLLECTOR_REQUIRED, site_allowlist=site_allowlist
    )


class ReplayValidator:
    """Decodes raw chunk records and checks them; a callable stage `RawBatch -> ReplayBatch`.

    `max_chunk_bytes` refuses larger records (`too_large`) before decoding them;
    `site_allowlist`, when not empty, refuses chunks of other sites (`unknown_site`).
    """

    def __init__(
        self,
        *,
        max_future_ms: int = 23 * HOUR_MS,
        max_age_ms: int = 3 * DAY_MS,
        max_chunk_bytes: int | None = None,
        site_allowlist: Collection[str] = (),
    ) -> None:
        if max_future_ms < 0:
            raise ValueError("max_future_ms must not be negative")
        if max_age_ms <= 0:
            raise ValueError("max_age_ms must be positive")
        if max_chunk_bytes is not None and max_chunk_bytes < 1:
            raise ValueError("max_chunk_bytes must be positive")
        self._max_future = max_future_ms
        self._max_age = max_age_ms
        self._max_bytes = max_chunk_bytes
        self._check = _compiled_contract(frozenset(site_allowlist))

    def check_chunk(self, record: dict[str, Any]) -> list[Reason]:
        """Every reason this decoded chunk record is invalid (empty when it is valid)."""
        reasons = self._check(record)
        if reasons:
            return reasons
        received_at = int(record["received_at"])
        sent_at = record.get("sent_at")
        correction = 0 if sent_at is None else received_at - int(sent_at)
        timestamps = [event["timestamp"] for event in record["events"]]
        latest = int(max(timestamps)) + correction
        earliest = int(min(timestamps)) + correction
        if latest > received_at + self._max_future:
            hours = (latest - received_at) / HOUR_MS
            reasons.append(Reason(TOO_FAR_IN_FUTURE, f"{hours:.1f} h after received_at"))
        if earliest < received_at - self._max_age:
            days = (received_at - earliest) / DAY_MS
            reasons.append(Reason(TOO_OLD, f"{days:.1f} days before received_at"))
        return reasons

    def __call__(self, raw: RawBatch) -> ReplayBatch:
        chunks: list[ReplayChunk] = []
        rejected: list[Rejected] = []
        offsets = raw.record_offsets()
        for offset, record in zip(offsets, raw.records, strict=True):
            outcome = self._validate_record(record, offset)
            if isinstance(outcome, ReplayChunk):
                chunks.append(outcome)
            else:
                rejected.append(outcome)
        rejected += raw.unreadable(SOURCE_ERROR)
        return ReplayBatch(
            source=raw.source,
            first_offset=raw.first_offset,
            last_offset=raw.last_offset,
            chunks_in=len(raw.records),
            chunks=chunks,
            rejected=rejected,
        )

    def _validate_record(self, record: bytes, offset: int) -> ReplayChunk | Rejected:
        if self._max_bytes is not None and len(record) > self._max_bytes:
            reason = Reason(TOO_LARGE, f"{len(record)} bytes > {self._max_bytes}")
            return Rejected(STAGE_REPLAY_VALIDATE, [reason], record, offset)
        try:
            decoded = orjson.loads(record)
        except orjson.JSONDecodeError as exc:
            reason = Reason(MALFORMED_JSON, str(exc)[:120])
            return Rejected(STAGE_REPLAY_VALIDATE, [reason], record, offset)
        if type(decoded) is not dict:
            reason = Reason(NOT_AN_OBJECT, type(decoded).__name__)
            return Rejected(STAGE_REPLAY_VALIDATE, [reason], decoded, offset)
        reasons = self.check_chunk(decoded)
        if reasons:
            received_at = decoded.get("received_at")
            site_id = decoded.get("site_id")
            return Rejected(
                STAGE_REPLAY_VALIDATE,
                reasons,
                decoded,
                offset,
                received_at=received_at if type(received_at) is int else None,
                site_id=site_id if type(site_id) is str and len(site_id) <= 64 else None,
            )
        sent_at = decoded.get("sent_at")
        return ReplayChunk(
            site_id=decoded["site_id"],
            # Lowercase, as ClickHouse prints UUIDs: blob names and rows then agree
            # with what the query API looks up.
            session_id=decoded["session_id"].lower(),
            chunk_id=decoded["chunk_id"].lower(),
            seq=int(decoded["seq"]),
            sent_at=None if sent_at is None else int(sent_at),
            received_at=int(decoded["received_at"]),
            country_code=decoded.get("country_code", UNKNOWN_COUNTRY),
            device_type=decoded.get("device_type", UNKNOWN_DEVICE),
            events=decoded["events"],
            offset=offset,
        )


def validate_replay(
    raw: RawBatch,
    *,
    max_future_ms: int,
    max_age_ms: int,
    max_chunk_bytes: int | None = None,
    site_allowlist: Collection[str] = (),
) -> ReplayBatch:
    """Decode and check a raw batch of chunk records (see `ReplayValidator`)."""
    validator = ReplayValidator(
        max_future_ms=max_future_ms,
        max_age_ms=max_age_ms,
        max_chunk_bytes=max_chunk_bytes,
        site_allowlist=site_allowlist,
    )
    return validator(raw)
