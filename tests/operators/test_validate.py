from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.units import DAY_MS, HOUR_MS
from operators.model import RawBatch
from operators.schema_rules import ecma_pattern, load_contract_schema
from operators.validate import EventValidator, ValidationConfig
from tests.operators.conftest import RECEIVED_AT, REMOVE, make_event

VALIDATOR = EventValidator(ValidationConfig())


def codes(event: dict[str, Any], validator: EventValidator = VALIDATOR) -> list[str]:
    batch = validator.apply(RawBatch("t", 0, [orjson.dumps(event)]))
    if batch.events:
        return []
    return [reason.code for reason in batch.rejected[0].reasons]


def test_valid_event_passes_and_clock_is_corrected() -> None:
    batch = VALIDATOR.apply(RawBatch("t", 10, [orjson.dumps(make_event())]))
    assert not batch.rejected
    (event,) = batch.events
    # ts = received_at + (ts - sent_at) = received_at - 1000
    assert event["ts"] == RECEIVED_AT - 1_000
    assert event["_offset"] == 10


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"v": 2}, ["unsupported_version"]),
        ({"event_id": "not-a-uuid"}, ["bad_uuid"]),
        ({"session_id": "3f2b8c1e11114222833344445555666"}, ["bad_uuid"]),
        ({"site_id": "bad site!"}, ["bad_site_id"]),
        ({"site_id": "x" * 65}, ["bad_site_id"]),
        ({"type": "hover"}, ["unknown_type"]),
        ({"url": "javascript:alert(1)"}, ["bad_url"]),
        ({"url": "ftp://example.com/"}, ["bad_url"]),
        ({"x": -5}, ["out_of_bounds"]),
        ({"vw": 0}, ["out_of_bounds"]),
        ({"vh": 50_000}, ["out_of_bounds"]),
        ({"ts": "yesterday"}, ["wrong_type"]),
        ({"fixed": "yes"}, ["wrong_type"]),
        ({"x": True}, ["wrong_type"]),
        ({"props": [1, 2]}, ["wrong_type"]),
        ({"target": "a" * 600}, ["too_long"]),
        ({"x": REMOVE}, ["missing_field"]),
        ({"received_at": REMOVE}, ["missing_field"]),
        ({"type": "scroll", "vw": REMOVE}, ["missing_field"]),
        ({"type": "error"}, ["missing_field"]),
        ({"type": "custom"}, ["missing_field"]),
        ({"type": "error", "error": {"message": "x", "line": -1}}, ["out_of_bounds"]),
        ({"fixed": True, "x": 2000}, ["out_of_bounds"]),
        # Clock: ts after correction more than 23 h after received_at, or 3 days before.
        ({"sent_at": REMOVE, "ts": RECEIVED_AT + 24 * HOUR_MS}, ["too_far_in_future"]),
        ({"sent_at": REMOVE, "ts": RECEIVED_AT - 4 * DAY_MS}, ["too_old"]),
    ],
)
def test_rejections(overrides: dict[str, Any], expected: list[str]) -> None:
    assert codes(make_event(**overrides)) == expected


def test_skewed_client_clock_is_corrected_not_rejected() -> None:
    # The client clock is 30 h ahead, but sent_at shows it: the event is fine.
    skew = 30 * HOUR_MS
    event = make_event(ts=RECEIVED_AT - 2_000 + skew, sent_at=RECEIVED_AT - 1_000 + skew)
    assert codes(event) == []


def test_every_failure_is_accumulated() -> None:
    event = make_event(v=3, event_id="x", type="hover", url="mailto:a@b.c", x=-1, session_id=REMOVE)
    assert sorted(codes(event)) == sorted(
        [
            "unsupported_version",
            "bad_uuid",
            "missing_field",
            "unknown_type",
            "bad_url",
            "out_of_bounds",
        ]
    )


def test_malformed_and_non_objects_and_oversized() -> None:
    big = orjson.dumps(make_event(props={"blob": "a" * 40_000}))
    batch = VALIDATOR.apply(RawBatch("t", 0, [b"{nope", b"[1, 2]", b'"text"', big]))
    assert not batch.events
    assert [[r.code for r in item.reasons] for item in batch.rejected] == [
        ["malformed_json"],
        ["not_an_object"],
        ["not_an_object"],
        ["too_large"],
    ]
    assert [item.offset for item in batch.rejected] == [0, 1, 2, 3]


UUID = "3f2b8c1e-1111-4222-8333-444455556666"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        # A trailing newline passed Python's `$`, then ClickHouse refused the UUID and
        # the worker exited: one request halted the pipeline for good.
        ("event_id", UUID + "\n", "bad_uuid"),
        ("session_id", UUID + "\n", "bad_uuid"),
        ("event_id", "\n" + UUID, "bad_uuid"),
        ("site_id", "shop.example.com\n", "bad_site_id"),
        ("site_id", "shop\x00", "bad_site_id"),
        ("url", "https://host\n/x", "bad_url"),
        ("url", "https://host/pa\x00th", "bad_url"),
        ("url", "https://host/path\n", "bad_url"),
        ("url", "https://host/\x9b", "bad_url"),
        ("url", "https://ho\x00st/", "bad_url"),
        ("referrer", "https://r.example/\r\n", "control_character"),
        ("referrer", "\x00", "control_character"),
    ],
)
def test_patterns_match_the_whole_value(field: str, value: str, code: str) -> None:
    assert codes(make_event(**{field: value})) == [code]


def test_urls_with_spaces_and_unicode_are_still_accepted() -> None:
    assert codes(make_event(url="https://shop.example.com/caf\u00e9 menu?q=a b")) == []
    assert codes(make_event(referrer="https://\u0440\u0444.example/")) == []


def test_ecma_dollar_is_the_end_of_the_text() -> None:
    assert ecma_pattern("^[a-z]+$").search("site")
    assert not ecma_pattern("^[a-z]+$").search("site\n")
    # Escaped and bracketed dollars are literal characters.
    assert ecma_pattern(r"^a\$[$]$").search("a$$")
    assert not ecma_pattern(r"^a\$[$]$").search("a$$\n")


def test_site_allowlist() -> None:
    validator = EventValidator(ValidationConfig(site_allowlist=frozenset({"docs.example.net"})))
    assert codes(make_event(), validator) == ["unknown_site"]
    assert codes(make_event(site_id="docs.example.net"), validator) == []


def test_limits_are_settings() -> None:
    validator = EventValidator(ValidationConfig(max_age_ms=HOUR_MS, max_future_ms=0))
    assert codes(make_event(sent_at=REMOVE, ts=RECEIVED_AT - 2 * HOUR_MS), validator) == ["too_old"]
    assert codes(make_event(sent_at=REMOVE, ts=RECEIVED_AT + 1), validator) == ["too_far_in_future"]


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="max_age_ms"):
        ValidationConfig(max_age_ms=0)


# The compiled validator must agree with the reference JSON Schema validator.
SCHEMA = load_contract_schema()


def _ecma_pattern_keyword(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # JSON Schema patterns are ECMA-262, where $ is the end of the text; the reference
    # implementation runs them with Python's re, whose $ also matches before a final
    # newline. The reference here uses the ECMA meaning, which the contract intends.
    if isinstance(instance, str) and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


REFERENCE = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern_keyword}
)(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**46),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
)
field_values = {
    "v": st.sampled_from([1, 2, "1", 1.0]),
    "event_id": st.sampled_from(
        [
            "3f2b8c1e-1111-4222-8333-444455556666",
            "3f2b8c1e-1111-4222-8333-444455556666\n",
            "nope",
            5,
        ]
    ),
    "session_id": st.sampled_from(
        ["3f2b8c1e-1111-4222-8333-444455556667", "3f2b8c1e-1111-4222-8333-444455556667\n"]
    ),
    "site_id": st.sampled_from(["shop.example.com", "shop\n", "a b", "", "x" * 70]),
    "type": st.sampled_from(["pageview", "click", "move", "scroll", "error", "custom", "zz"]),
    "url": st.sampled_from(
        [
            "https://a.example/p",
            "http://b.example",
            "javascript:x",
            3,
            "https://host\n/x",
            "https://a.example/p\x00q",
            "https://a.example/\x85",
            "https://a.example/p\n",
            "https://a.example/caf\u00e9 ok",
        ]
    ),
    "referrer": st.one_of(
        st.sampled_from(["", "https://r.example/", "https://r.example/\x7f", "x\n"]),
        st.text(max_size=8),
    ),
    "x": json_scalars,
    "y": json_scalars,
    "vw": st.one_of(st.integers(min_value=-2, max_value=30_000), json_scalars),
    "vh": st.one_of(st.integers(min_value=-2, max_value=30_000), json_scalars),
    "fixed": st.one_of(st.booleans(), json_scalars),
    "target": st.one_of(st.text(max_size=20), json_scalars),
    "name": st.one_of(st.text(max_size=5), json_scalars),
    "error": st.one_of(
        st.fixed_dictionaries({}, optional={"message": json_scalars, "line": json_scalars}),
        json_scalars,
    ),
    "props": st.one_of(
        st.dictionaries(st.text(max_size=4), json_scalars, max_size=3), json_scalars
    ),
}


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries({}, optional={**field_values}).map(
        lambda overrides: {**make_event(), **overrides}
    ),
    st.sets(st.sampled_from(sorted(SCHEMA["required"]))),
)
def test_agrees_with_reference_json_schema_validator(
    event: dict[str, Any], removed: set[str]
) -> None:
    for name in removed:
        event.pop(name, None)
    event.pop("sent_at", None)
    event["ts"] = RECEIVED_AT if isinstance(event.get("ts"), int) else event.get("ts", RECEIVED_AT)
    if "ts" in removed:
        event.pop("ts")
    reference_valid = REFERENCE.is_valid(event)
    fixed_point_outside = (
        event.get("fixed") is True
        and isinstance(event.get("x"), int | float)
        and isinstance(event.get("vw"), int | float)
        and not isinstance(event.get("x"), bool)
        and event["x"] > event["vw"]
    ) or (
        event.get("fixed") is True
        and isinstance(event.get("y"), int | float)
        and isinstance(event.get("vh"), int | float)
        and not isinstance(event.get("y"), bool)
        and event["y"] > event["vh"]
    )
    ours_valid = codes(dict(event)) == []
    if reference_valid and not fixed_point_outside:
        assert ours_valid, event
    if not reference_valid:
        assert not ours_valid, event
