from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from foundation.units import DAY_MS
from operators.anonymize import Anonymizer, DailyKeyedHasher
from operators.columns import EVENTS_SCHEMA
from operators.enrich import EnrichConfig, Enricher
from operators.model import AnonymizedEvent, EventBatch
from tests.operators.conftest import RECEIVED_AT, make_event

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


def test_each_output_field_holds_its_own_value() -> None:
    # Values chosen so that no two fields of one type are equal: a field
    # written into another's place fails here.
    event = enriched(
        type="error",
        url="https://shop.example.com/orders/12345678?coupon=x#top",
        referrer="https://search.example/results?q=shoes",
        x=120.5,
        y=640.25,
        scroll_y=300.0,
        fixed=True,
        error={"message": "TypeError: cart is undefined"},
        props={"plan": "pro"},
        _offset=42,
    )
    event["country_code"] = "GB"  # what the geo lookup sets (no database in unit tests)
    ua = make_event()["ua"]
    out = Anonymizer(SECRET).anonymize(event)
    assert out.event_id == "3f2b8c1e-1111-4222-8333-444455556666"
    assert out.session_id == "9a7c4d2e-5555-4666-8777-888899990000"
    assert out.site_id == "shop.example.com"
    assert out.timestamp == RECEIVED_AT - 2_000
    assert out.event_type == "error"
    assert out.event_data == (
        '{"x":120.5,"y":640.25,"scroll_y":300.0,"fixed":true,"target":"#checkout",'
        '"error":{"message":"TypeError: cart is undefined"},"props":{"plan":"pro"}}'
    )
    assert out.url_path == "/orders/<num>"
    assert out.referrer == "https://search.example/results"
    assert out.device_type == "desktop"
    assert out.viewport_width == 1440
    assert out.viewport_height == 900
    assert out.user_agent_hash == xxhash.xxh64_intdigest(ua.encode())
    assert out.ip_hash == _documented_ip_hash("81.2.69.160", "shop.example.com", "2025-11-25")
    assert out.country_code == "GB"
    assert out.error_class == "type_error"
    assert out.received_at == RECEIVED_AT
    assert out.x == 120.5
    assert out.y == 640.25
    assert out.scroll_y == 300.0
    assert out.fixed is True
    assert out.offset == 42


def _documented_ip_hash(ip: str, site: str, utc_date: str) -> int:
    """The keyed hash as the module documents it, computed without its code."""
    master = hashlib.sha256(b"insightlite/ip-hash/v1\0" + SECRET).digest()
    day_key = hashlib.blake2b(utc_date.encode(), key=master, digest_size=32).digest()
    digest = hashlib.blake2b(f"{site}\0{ip}".encode(), key=day_key, digest_size=8).digest()
    return int.from_bytes(digest, "little")


def test_the_first_fields_are_the_events_table_columns_in_order() -> None:
    # events_table() turns a batch into columns by position: a field out of
    # place would land in another column.
    columns = tuple(EVENTS_SCHEMA.names)
    assert len(columns) == 16
    assert AnonymizedEvent._fields[:16] == columns
