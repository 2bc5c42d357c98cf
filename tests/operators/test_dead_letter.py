from __future__ import annotations

import orjson

from operators.dead_letter import dead_letter_record, mask_payload
from operators.model import Reason, Rejected
from tests.operators.conftest import make_event


def test_record_shape_and_masked_payload() -> None:
    payload = make_event(
        props={"email": "jane.doe@example.com", "note": "call 415-555-0198"},
        received_at=1_764_067_201_234,  # passes the Luhn check: must stay a number
        type="hover",
    )
    rejected = Rejected(
        "validate",
        [Reason("unknown_type", "type: 'hover' not allowed")],
        payload,
        42,
        received_at=payload["received_at"],
        site_id="shop.example.com",
    )
    record = dead_letter_record(rejected, "gen0", failed_at=1_764_067_300_000)
    assert record["stage"] == "validate"
    assert record["reasons"] == [{"code": "unknown_type", "detail": "type: 'hover' not allowed"}]
    assert record["processor"].startswith("insightlite/")
    assert (record["source"], record["offset"]) == ("gen0", 42)
    assert record["received_at"] == 1_764_067_201_234
    body = record["payload"]
    assert body["ip"] == "<ip>"
    assert body["received_at"] == 1_764_067_201_234
    assert body["props"]["email"] == "<redacted>"
    text = orjson.dumps(record).decode()
    for secret in ("81.2.69.160", "jane.doe@example.com", "415-555-0198"):
        assert secret not in text


def test_unparseable_payload_is_masked_as_text() -> None:
    raw = b'{"ip":"81.2.69.160","password":"hunter2!x","msg":"mail me at a.b@example.org'
    masked = mask_payload(raw)
    assert isinstance(masked, str)
    assert "81.2.69.160" not in masked
    assert "hunter2" not in masked
    assert "a.b@example.org" not in masked


def test_huge_payload_is_truncated() -> None:
    masked = mask_payload(b"x" * 200_000)
    assert isinstance(masked, str) and len(masked) < 70_000 and masked.endswith("[truncated]")


def test_private_fields_are_not_stored() -> None:
    assert "_offset" not in mask_payload({"_offset": 3, "type": "x"})
