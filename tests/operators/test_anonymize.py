from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from operators.anonymize import DAY_MS, Anonymizer, DailyKeyedHasher
from operators.enrich import EnrichConfig, Enricher
from operators.model import EventBatch
from tests.operators.conftest import make_event

SECRET = b"anonymize-test-secret"


def enriched(**overrides: Any) -> dict[str, Any]:
    batch = EventBatch("t", 0, 0, 1, [make_event(**overrides)])
    return Enricher(EnrichConfig()).apply(batch).events[0]


def test_output_has_no_raw_ip_or_ua_and_masks_strings() -> None:
    event = enriched(
        url="https://shop.example.com/users/jane.doe@example.com/orders/12345678?email=x@y.z#f",
        referrer="https://search.example/?q=jane.doe@example.com",
        target="a[href='mailto:jane.doe@example.com']",
        props={"Phone_Number": "415-555-0198", "plan": "pro", "nested": {"card": "4111"}},
    )
    out = Anonymizer(SECRET).anonymize(event)
    assert not {"ip", "ua", "url", "props"} & set(out._fields)
    assert out.url_path == "/users/<email>/orders/<num>"
    assert "?" not in out.referrer and "jane.doe" not in out.referrer
    data = orjson.loads(out.event_data)
    assert data["props"]["Phone_Number"] == "<redacted>"
    assert data["props"]["nested"]["card"] == "<redacted>"
    assert data["props"]["plan"] == "pro"
    assert "jane.doe@example.com" not in data["target"]
    assert (data["x"], data["y"]) == (120, 640)
    assert 0 < out.ip_hash < 2**64 and 0 < out.user_agent_hash < 2**64
    text = orjson.dumps(out._asdict()).decode()
    for secret in ("81.2.69.160", "jane.doe@example.com", "415-555-0198", "Mozilla"):
        assert secret not in text


def test_ip_hash_is_keyed_and_rotates_daily() -> None:
    hasher = DailyKeyedHasher(SECRET)
    day = 20_000 * DAY_MS
    same_day = hasher.hash("81.2.69.160", "site", day + 1)
    assert same_day == hasher.hash("81.2.69.160", "site", day + DAY_MS - 1)
    assert same_day != hasher.hash("81.2.69.160", "site", day + DAY_MS)  # next UTC day
    assert same_day != hasher.hash("81.2.69.160", "other-site", day + 1)
    assert same_day != DailyKeyedHasher(b"another-secret-value").hash("81.2.69.160", "site", day)


def test_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="ip_hash_secret"):
        DailyKeyedHasher(b"short")


def test_missing_ip_hashes_to_zero() -> None:
    assert Anonymizer(SECRET).anonymize(enriched(ip=None)).ip_hash == 0


@given(st.from_regex(r"\A(?:[1-9]\d?|1\d\d|2[0-4]\d)(?:\.(?:\d|[1-9]\d|1\d\d|2[0-4]\d)){3}\Z"))
def test_hash_never_contains_the_ip(ip: str) -> None:
    out = Anonymizer(SECRET).anonymize(enriched(ip=ip))
    assert ip not in orjson.dumps(out._asdict()).decode()
