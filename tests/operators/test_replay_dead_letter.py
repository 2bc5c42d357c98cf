from __future__ import annotations

from typing import Any

import orjson

from operators.dead_letter import MAX_PAYLOAD_CHARS, dead_letter_record, mask_replay_payload
from operators.model import RawBatch, Reason, Rejected
from operators.pii import EMAIL_MASK, REDACTED
from operators.replay_validate import ReplayValidator
from tests.operators.replay_factories import (
    EMAIL,
    PLANTED,
    RECEIVED_AT,
    SENT_AT,
    T0,
    TYPED,
    chunk_record,
    make_chunk,
)


def rejected_chunk(record: bytes) -> Rejected:
    (rejected,) = ReplayValidator()(RawBatch("replay0", 5, [record])).rejected
    return rejected


def stored_form(rejected: Rejected) -> dict[str, Any]:
    record = dead_letter_record(rejected, "replay0", failed_at=RECEIVED_AT + 60_000)
    decoded: dict[str, Any] = orjson.loads(orjson.dumps(record))  # it must encode
    return decoded


def test_rejected_chunk_is_masked_like_a_stored_recording() -> None:
    record = stored_form(rejected_chunk(chunk_record(v=2)))
    assert (record["stage"], record["offset"], record["site_id"]) == (
        "replay_validate",
        5,
        "shop.example.com",
    )
    assert [reason["code"] for reason in record["reasons"]] == ["unsupported_version"]
    text = orjson.dumps(record).decode()
    for planted in PLANTED:
        assert planted not in text, planted
    payload = record["payload"]
    assert (payload["v"], payload["sent_at"], payload["received_at"]) == (2, SENT_AT, RECEIVED_AT)
    events = payload["events"]
    assert len(events) == len(make_chunk()["events"]) and "events_truncated" not in payload
    # Times stay numbers (an epoch-ms time can pass a card's Luhn check).
    assert [event["timestamp"] for event in events][:2] == [T0, T0 + 10]
    assert events[8]["data"]["text"] == "*" * len(TYPED)
    assert events[0]["data"]["href"] == "https://shop.example.com/checkout"


def test_a_huge_chunk_is_cut_to_a_bounded_dead_letter() -> None:
    events = [
        {
            "type": 3,
            "timestamp": T0,
            "data": {"source": 0, "texts": [{"id": i, "value": f"{EMAIL} {'x' * 400}"}]},
        }
        for i in range(20_000)
    ]
    rejected = rejected_chunk(chunk_record(v=2, events=events))
    payload = stored_form(rejected)["payload"]
    size = len(orjson.dumps(payload))
    assert MAX_PAYLOAD_CHARS // 2 < size <= MAX_PAYLOAD_CHARS + 1_024
    kept = len(payload["events"])
    assert kept > 50 and payload["events_truncated"] == 20_000 - kept
    assert payload["events"][0]["data"]["texts"][0]["value"].startswith(EMAIL_MASK)
    assert EMAIL not in orjson.dumps(payload).decode()


def test_a_huge_field_is_cut_too() -> None:
    payload = mask_replay_payload({**make_chunk(), "note": f"{EMAIL} " * 100_000})
    assert payload["note"] == "…[truncated]"
    assert len(orjson.dumps(payload)) <= MAX_PAYLOAD_CHARS + 1_024


def test_deep_events_are_cut_at_a_depth_that_still_encodes() -> None:
    deep: Any = {"type": 3, "textContent": EMAIL, "id": 0}
    for node_id in range(1, 600):
        deep = {"type": 2, "tagName": "div", "attributes": {}, "childNodes": [deep], "id": node_id}
    chunk = make_chunk(events=[{"type": 2, "timestamp": T0, "data": {"node": deep}}])
    rejected = Rejected(
        "replay_stats", [Reason("unencodable", "Recursion limit reached")], chunk, 1
    )
    text = orjson.dumps(stored_form(rejected)).decode()
    assert REDACTED in text and EMAIL not in text


def test_records_that_are_not_json_have_typed_values_redacted() -> None:
    raw = b'{"events":[{"type":3,"data":{"source":5,"text":"hunter2 words","id":4}},{"value":"x y'
    payload = stored_form(rejected_chunk(raw))["payload"]
    assert isinstance(payload, str)
    assert "hunter2" not in payload and "x y" not in payload
    assert '"text": "<redacted>"' in payload and '"value": "<redacted>"' in payload


def test_other_json_payloads() -> None:
    assert mask_replay_payload(
        [{"type": 3, "timestamp": 1, "data": {"source": 5, "text": "ab"}}]
    ) == [{"type": 3, "timestamp": 1, "data": {"source": 5, "text": "**"}}]
    assert mask_replay_payload(f"mail {EMAIL}") == f"mail {EMAIL_MASK}"
    assert mask_replay_payload(7) == 7
    assert mask_replay_payload({"events": {"a": EMAIL}}) == {"events": {"a": EMAIL_MASK}}


def test_event_dead_letters_are_unchanged() -> None:
    # Only the replay stages get the recording masking; an event's payload keeps its own.
    event = {"type": "hover", "props": {"text": "hello", "value": 3}}
    record = dead_letter_record(Rejected("validate", [], event, 1), "gen0", 0)
    assert record["payload"] == event
