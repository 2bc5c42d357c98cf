from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.contract import load_replay_chunk_schema
from foundation.units import DAY_MS, HOUR_MS
from operators.model import RawBatch, Reason
from operators.replay_model import ReplayBatch
from operators.replay_validate import ReplayValidator, validate_replay
from operators.schema_rules import MAX_ITEM_REASONS, ecma_pattern, item_reasons
from tests.operators.replay_factories import (
    CHUNK_ID,
    RECEIVED_AT,
    REMOVE,
    SENT_AT,
    SESSION_ID,
    chunk_record,
    make_chunk,
    make_events,
)

VALIDATOR = ReplayValidator(max_future_ms=23 * HOUR_MS, max_age_ms=3 * DAY_MS)


def run(*records: bytes, validator: ReplayValidator = VALIDATOR) -> ReplayBatch:
    return validator(RawBatch("replay0", 40, list(records)))


def codes(chunk: dict[str, Any], validator: ReplayValidator = VALIDATOR) -> list[str]:
    batch = run(orjson.dumps(chunk), validator=validator)
    if batch.chunks:
        return []
    return [reason.code for reason in batch.rejected[0].reasons]


def test_valid_chunk_becomes_a_replay_chunk() -> None:
    record = chunk_record(session_id=SESSION_ID.upper(), chunk_id=CHUNK_ID.upper(), seq=3.0)
    batch = run(record)
    assert (batch.source, batch.first_offset, batch.last_offset, batch.chunks_in) == (
        "replay0",
        40,
        40,
        1,
    )
    assert batch.name == "replay0-000000000040-000000000040"
    assert not batch.rejected and not batch.stored
    (chunk,) = batch.chunks
    assert (chunk.site_id, chunk.session_id, chunk.chunk_id) == (
        "shop.example.com",
        SESSION_ID,  # lowercase, as ClickHouse prints UUIDs
        CHUNK_ID,
    )
    assert (chunk.seq, chunk.sent_at, chunk.received_at, chunk.offset) == (
        3,
        SENT_AT,
        RECEIVED_AT,
        40,
    )
    assert type(chunk.seq) is int
    assert (chunk.country_code, chunk.device_type) == ("DE", "desktop")
    assert chunk.events == make_events()
    assert chunk.clock_correction_ms == RECEIVED_AT - SENT_AT


def test_optional_collector_fields_have_defaults() -> None:
    (chunk,) = run(chunk_record(country_code=REMOVE, device_type=REMOVE, sent_at=REMOVE)).chunks
    assert (chunk.country_code, chunk.device_type, chunk.sent_at) == ("", "other", None)
    assert chunk.clock_correction_ms == 0


UUID = "3f2b8c1e-1111-4222-8333-444455556666"
EVENT = {"type": 3, "timestamp": RECEIVED_AT - 1_000, "data": {"source": 3, "x": 0, "y": 1}}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"v": 2}, ["unsupported_version"]),
        ({"v": "1"}, ["wrong_type"]),
        ({"session_id": "not-a-uuid"}, ["bad_uuid"]),
        # A trailing or leading newline must be refused here, not by ClickHouse.
        ({"session_id": UUID + "\n"}, ["bad_uuid"]),
        ({"chunk_id": "\n" + UUID}, ["bad_uuid"]),
        ({"chunk_id": 7}, ["wrong_type"]),
        ({"site_id": "shop.example.com\n"}, ["bad_site_id"]),
        ({"site_id": "x" * 65}, ["bad_site_id"]),
        ({"seq": -1}, ["out_of_bounds"]),
        ({"seq": True}, ["wrong_type"]),
        ({"sent_at": "yesterday"}, ["wrong_type"]),
        ({"country_code": "de"}, ["wrong_type"]),
        ({"device_type": "phone"}, ["out_of_bounds"]),
        ({"site_id": REMOVE}, ["missing_field"]),
        ({"events": REMOVE}, ["missing_field"]),
        ({"received_at": REMOVE}, ["missing_field"]),
        ({"ip": "81.2.69.160"}, ["unknown_field"]),
        ({"events": []}, ["no_events"]),
        ({"events": {"type": 2}}, ["wrong_type"]),
        ({"events": [EVENT, 5]}, ["wrong_type"]),
        ({"events": [EVENT, {**EVENT, "type": 9}]}, ["unknown_type"]),
        ({"events": [{**EVENT, "type": -1}]}, ["unknown_type"]),
        ({"events": [{**EVENT, "type": "click"}]}, ["wrong_type"]),
        ({"events": [{"type": 3, "data": {}}]}, ["missing_field"]),
        ({"events": [{**EVENT, "timestamp": "now"}]}, ["wrong_type"]),
        ({"events": [{**EVENT, "data": [1]}]}, ["wrong_type"]),
        ({"events": [{**EVENT, "delay": "1"}]}, ["wrong_type"]),
        # Time bounds, after the clock correction, against received_at.
        (
            {"sent_at": REMOVE, "events": [{**EVENT, "timestamp": RECEIVED_AT + 24 * HOUR_MS}]},
            ["too_far_in_future"],
        ),
        (
            {
                "sent_at": REMOVE,
                "events": [EVENT, {**EVENT, "timestamp": RECEIVED_AT - 4 * DAY_MS}],
            },
            ["too_old"],
        ),
        (
            {
                "sent_at": REMOVE,
                "events": [
                    {**EVENT, "timestamp": RECEIVED_AT - 4 * DAY_MS},
                    {**EVENT, "timestamp": RECEIVED_AT + 24 * HOUR_MS},
                ],
            },
            ["too_far_in_future", "too_old"],
        ),
    ],
)
def test_rejections(overrides: dict[str, Any], expected: list[str]) -> None:
    assert codes(make_chunk(**overrides)) == expected


def test_skewed_client_clock_is_corrected_not_rejected() -> None:
    # The client clock is 30 h ahead, but sent_at shows it: the chunk is fine.
    skew = 30 * HOUR_MS
    event = {**EVENT, "timestamp": RECEIVED_AT - 1_000 + skew}
    assert codes(make_chunk(events=[event], sent_at=RECEIVED_AT + skew)) == []
    assert codes(make_chunk(events=[event], sent_at=REMOVE)) == ["too_far_in_future"]


def test_limits_are_settings() -> None:
    strict = ReplayValidator(max_future_ms=0, max_age_ms=HOUR_MS)
    late = {**EVENT, "timestamp": RECEIVED_AT - 2 * HOUR_MS}
    assert codes(make_chunk(sent_at=REMOVE, events=[late]), strict) == ["too_old"]
    early = {**EVENT, "timestamp": RECEIVED_AT + 1}
    assert codes(make_chunk(sent_at=REMOVE, events=[early]), strict) == ["too_far_in_future"]
    with pytest.raises(ValueError, match="max_age_ms"):
        ReplayValidator(max_future_ms=0, max_age_ms=0)
    allow = ReplayValidator(site_allowlist={"docs.example.net"})
    assert codes(make_chunk(), allow) == ["unknown_site"]
    assert codes(make_chunk(site_id="docs.example.net"), allow) == []


def test_every_failure_is_accumulated() -> None:
    chunk = make_chunk(
        v=3, session_id=UUID + "\n", seq="0", extra=1, events=[{**EVENT, "type": 9}, "x"]
    )
    expected = ["unsupported_version", "bad_uuid", "wrong_type", "unknown_type", "wrong_type"]
    assert sorted(codes(chunk)) == sorted([*expected, "unknown_field"])


def test_failures_of_many_events_are_summarised() -> None:
    events: list[dict[str, Any]] = [{**EVENT, "type": 9}] * 5_000
    events += [{**EVENT, "type": 100 + i} for i in range(3)]
    events += [{"type": 3}] * 2 + [{"type": str(i), "timestamp": 0} for i in range(40)]
    batch = run(chunk_record(events=events))
    reasons = batch.rejected[0].reasons
    details = {reason.detail for reason in reasons}
    assert "events[].type: above 6 (5003 of 5045 items, first at index 0)" in details
    assert "events[].timestamp (2 of 5045 items, first at index 5003)" in details
    assert "events[].type: expected integer (40 of 5045 items, first at index 5005)" in details
    assert len(reasons) <= MAX_ITEM_REASONS


def test_item_reasons_keep_every_code_past_the_cap() -> None:
    def check(item: int) -> list[Reason]:
        return [Reason("a", f"value {item}")] if item < 100 else [Reason("b", "late")]

    reasons = item_reasons(list(range(102)), check)
    assert len(reasons) == MAX_ITEM_REASONS + 1
    assert reasons[0] == Reason("a", "value 0 (1 of 102 items, first at index 0)")
    assert reasons[-1] == Reason("b", "late (2 of 102 items, first at index 100)")


def test_records_that_are_not_chunks() -> None:
    huge = chunk_record(events=[{**EVENT, "data": {"blob": "a" * 5_000}}])
    limited = ReplayValidator(max_chunk_bytes=4_096)
    batch = run(b"{nope", b"[1, 2]", b'"text"', b"", huge, validator=limited)
    assert not batch.chunks
    assert [[r.code for r in item.reasons] for item in batch.rejected] == [
        ["malformed_json"],
        ["not_an_object"],
        ["not_an_object"],
        ["malformed_json"],
        ["too_large"],
    ]
    assert [item.stage for item in batch.rejected] == ["replay_validate"] * 5
    assert [item.offset for item in batch.rejected] == [40, 41, 42, 43, 44]
    assert batch.rejected[0].payload == b"{nope"
    assert batch.rejected[1].payload == [1, 2]


def test_unreadable_records_are_input_rejects() -> None:
    raw = RawBatch("replay0", 7, [chunk_record()], offsets=[9], errors=[(8, "Broker: bad message")])
    batch = VALIDATOR(raw)
    assert len(batch.chunks) == 1 and batch.chunks[0].offset == 9
    (rejected,) = batch.rejected
    assert (rejected.stage, rejected.offset, rejected.payload) == ("input", 8, b"")
    assert [(r.code, r.detail) for r in rejected.reasons] == [
        ("source_error", "Broker: bad message")
    ]


def test_rejected_chunk_keeps_site_and_received_at() -> None:
    batch = run(chunk_record(v=2))
    (rejected,) = batch.rejected
    assert (rejected.site_id, rejected.received_at) == ("shop.example.com", RECEIVED_AT)
    assert isinstance(rejected.payload, dict) and rejected.payload["v"] == 2


def test_function_form_agrees_with_the_class() -> None:
    raw = RawBatch("replay0", 0, [chunk_record(), chunk_record(v=2)])
    batch = validate_replay(raw, max_future_ms=23 * HOUR_MS, max_age_ms=3 * DAY_MS)
    assert (len(batch.chunks), len(batch.rejected)) == (1, 1)


# The compiled contract must agree with the reference JSON Schema validator.
SCHEMA = load_replay_chunk_schema()


def _ecma_pattern_keyword(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # ECMA-262's $ is the end of the text (Python's also matches before a final newline).
    if isinstance(instance, str) and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


REFERENCE = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern_keyword}
)(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**46),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
)
events = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.one_of(st.integers(min_value=-1, max_value=8), scalars),
                "timestamp": st.one_of(st.just(RECEIVED_AT - 1_000), scalars),
                "data": st.one_of(st.dictionaries(st.text(max_size=3), scalars), scalars),
                "delay": scalars,
            },
        ),
        scalars,
    ),
    max_size=4,
)
fields = {
    "v": st.sampled_from([1, 2, "1", 1.0]),
    "site_id": st.sampled_from(["shop.example.com", "shop\n", "a b", "", "x" * 70, 5]),
    "session_id": st.sampled_from([UUID, UUID + "\n", UUID.upper(), "nope", 5]),
    "chunk_id": st.sampled_from([UUID, "{" + UUID + "}", "x"]),
    "seq": st.one_of(st.integers(min_value=-2, max_value=1_000_002), scalars),
    "events": st.one_of(events, scalars),
    "country_code": st.sampled_from(["", "DE", "de", "DEU", "D\n", 3]),
    "device_type": st.sampled_from(["desktop", "tablet", "phone", None]),
    "unexpected": scalars,
}


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries({}, optional=fields).map(lambda changes: {**make_chunk(), **changes}),
    st.sets(st.sampled_from([*sorted(SCHEMA["required"]), "received_at"])),
)
def test_agrees_with_reference_json_schema_validator(
    chunk: dict[str, Any], removed: set[str]
) -> None:
    for name in removed:
        chunk.pop(name, None)
    # The time bounds are not part of the schema: keep every event time acceptable.
    chunk.pop("sent_at", None)
    chunk["received_at"] = RECEIVED_AT if "received_at" not in removed else REMOVE
    chunk = {key: value for key, value in chunk.items() if value is not REMOVE}
    for event in chunk["events"] if isinstance(chunk.get("events"), list) else ():
        if isinstance(event, dict) and isinstance(event.get("timestamp"), int | float):
            event["timestamp"] = RECEIVED_AT - 1_000
    reference_valid = REFERENCE.is_valid(chunk) and "received_at" in chunk
    ours = codes(chunk)
    assert (ours == []) == reference_valid, (chunk, ours)
