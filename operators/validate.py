"""Stage 1: decode and validate raw records.

Every failure of an event is accumulated (Snowplow's bad rows), not just the
first. The client clock is corrected with the batch's `sent_at`
(`ts = received_at + (ts - sent_at)`), and events too far in the future or
too old are rejected. Both limits are measured against the collector's
`received_at`, not the processing clock, so a replay of the same records a
week later gives exactly the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from foundation.units import DAY_MS, HOUR_MS
from operators.model import (
    STAGE_VALIDATE,
    Event,
    EventBatch,
    RawBatch,
    Reason,
    Rejected,
)
from operators.schema_rules import (
    MALFORMED_JSON,
    NOT_AN_OBJECT,
    OUT_OF_BOUNDS,
    SOURCE_ERROR,
    TOO_FAR_IN_FUTURE,
    TOO_LARGE,
    TOO_OLD,
    compile_contract,
    load_contract_schema,
)
from operators.visitor import VISITOR_REFUSALS, take_visitor

# Fields the collector adds to every raw record; the browser never sends them.
COLLECTOR_REQUIRED = ("received_at",)


@dataclass(frozen=True)
class ValidationConfig:
    """Settings of the validate stage."""

    max_event_bytes: int = 32 * 1024
    max_future_ms: int = 23 * HOUR_MS
    max_age_ms: int = 3 * DAY_MS
    site_allowlist: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.max_event_bytes < 1:
            raise ValueError("max_event_bytes must be positive")
        if self.max_future_ms < 0:
            raise ValueError("max_future_ms must not be negative")
        if self.max_age_ms <= 0:
            raise ValueError("max_age_ms must be positive")


class EventValidator:
    """Decodes raw JSON records and checks them against the contract."""

    def __init__(self, config: ValidationConfig, schema: dict[str, Any] | None = None) -> None:
        self.config = config
        self._check = compile_contract(
            schema or load_contract_schema(),
            extra_required=COLLECTOR_REQUIRED,
            site_allowlist=config.site_allowlist,
        )
        self._max_bytes = config.max_event_bytes
        self._max_future = config.max_future_ms
        self._max_age = config.max_age_ms

    def check_event(self, event: dict[str, Any], size: int) -> list[Reason]:
        """Every reason this decoded event is invalid (empty when it is valid).

        On success the event is normalised in place: `ts` holds the corrected
        event time in epoch ms and `received_at` is an int.
        """
        # A refused visitor field is one reason among all the others, listed first.
        refused = take_visitor(event)
        reasons = [] if refused is None else [Reason(refused, VISITOR_REFUSALS[refused])]
        reasons += self._check(event)
        if size > self._max_bytes:
            reasons.append(Reason(TOO_LARGE, f"{size} bytes > {self._max_bytes}"))
        if reasons:
            return reasons
        if event.get("fixed") is True:
            reasons = _viewport_point_reasons(event)
            if reasons:
                return reasons
        ts = int(event["ts"])
        received_at = int(event["received_at"])
        sent_at = event.get("sent_at")
        if sent_at is not None:
            ts = received_at + (ts - int(sent_at))
        event["ts"] = ts
        event["received_at"] = received_at
        if ts > received_at + self._max_future:
            hours = (ts - received_at) / HOUR_MS
            return [Reason(TOO_FAR_IN_FUTURE, f"{hours:.1f} h after received_at")]
        if ts < received_at - self._max_age:
            days = (received_at - ts) / DAY_MS
            return [Reason(TOO_OLD, f"{days:.1f} days before received_at")]
        return reasons

    def apply(self, raw: RawBatch) -> EventBatch:
        """Decode and validate a raw batch into accepted events and rejects."""
        events: list[Event] = []
        rejected: list[Rejected] = []
        loads = orjson.loads
        check_event = self.check_event
        accept = events.append
        offsets = raw.record_offsets()
        for offset, record in zip(offsets, raw.records, strict=True):
            try:
                decoded = loads(record)
            except orjson.JSONDecodeError as exc:
                reasons = [Reason(MALFORMED_JSON, str(exc)[:120])]
                if len(record) > self._max_bytes:
                    reasons.append(Reason(TOO_LARGE, f"{len(record)} bytes"))
                rejected.append(Rejected(STAGE_VALIDATE, reasons, record, offset))
                continue
            if type(decoded) is not dict:
                reason = Reason(NOT_AN_OBJECT, type(decoded).__name__)
                rejected.append(Rejected(STAGE_VALIDATE, [reason], decoded, offset))
                continue
            failures = check_event(decoded, len(record))
            if failures:
                rejected.append(_rejected(decoded, failures, offset))
            else:
                decoded["_offset"] = offset
                accept(decoded)
        rejected += raw.unreadable(SOURCE_ERROR)
        return EventBatch(
            source=raw.source,
            first_offset=raw.first_offset,
            last_offset=raw.last_offset,
            events_in=len(raw.records),
            events=events,
            rejected=rejected,
        )


def _viewport_point_reasons(event: Event) -> list[Reason]:
    """A point on a fixed element is in viewport coordinates: it must lie inside it."""
    reasons = []
    x, y, vw, vh = event.get("x"), event.get("y"), event.get("vw"), event.get("vh")
    if x is not None and vw is not None and x > vw:
        reasons.append(Reason(OUT_OF_BOUNDS, "x: beyond the viewport of a fixed element"))
    if y is not None and vh is not None and y > vh:
        reasons.append(Reason(OUT_OF_BOUNDS, "y: beyond the viewport of a fixed element"))
    return reasons


def _rejected(event: Event, reasons: list[Reason], offset: int) -> Rejected:
    received_at = event.get("received_at")
    site_id = event.get("site_id")
    return Rejected(
        STAGE_VALIDATE,
        reasons,
        event,
        offset,
        received_at=received_at if type(received_at) is int else None,
        site_id=site_id if type(site_id) is str and len(site_id) <= 64 else None,
    )
