from __future__ import annotations

import hashlib
from typing import Any

import orjson
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from foundation.units import DAY_MS
from operators.anonymize import Anonymizer
from operators.columns import EVENTS_SCHEMA
from operators.enrich import Enricher
from operators.model import AnonymizedEvent
from operators.user_agent import UserAgentClassifier
from operators.visitor import Client, VisitorDeriver, key_day
from tests.operators.conftest import RECEIVED_AT, make_event
from tests.operators.visitor_support import TEST_KEY, resolved


def enriched(**overrides: Any) -> dict[str, Any]:
    return Enricher().apply(resolved([make_event(**overrides)])).events[0]


def test_output_has_no_raw_ip_or_ua_and_masks_strings() -> None:
    event = enriched(
        url="https://shop.example.com/users/jane.doe@example.com/orders/12345678?email=x@y.z#f",
        referrer="https://search.example/?q=jane.doe@example.com",
        target="a[href='mailto:jane.doe@example.com']",
        props={"Phone_Number": "415-555-0198", "plan": "pro", "nested": {"card": "4111"}},
    )
    out = Anonymizer().anonymize(event)
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


def test_ip_hash_is_keyed_by_the_day_of_received_at_and_the_site() -> None:
    deriver = VisitorDeriver(UserAgentClassifier(()), None)
    other_key = bytes(32)
    day = 20_000 * DAY_MS
    clients = [
        ("site", "81.2.69.160", "", day + 1),
        ("site", "81.2.69.160", "", day + DAY_MS - 1),
        ("site", "81.2.69.160", "", day + DAY_MS),  # next UTC day: its own key
        ("other-site", "81.2.69.160", "", day + 1),
    ]
    keys = {key_day(day): TEST_KEY, key_day(day + DAY_MS): other_key}
    hashes = [f.ip_hash for f in deriver.derive([Client(*c) for c in clients], keys)]
    assert hashes[0] == hashes[1]
    assert len({hashes[0], hashes[2], hashes[3]}) == 3


def test_missing_ip_hashes_to_zero() -> None:
    assert Anonymizer().anonymize(enriched(ip=None)).ip_hash == 0


@given(st.from_regex(r"\A(?:[1-9]\d?|1\d\d|2[0-4]\d)(?:\.(?:\d|[1-9]\d|1\d\d|2[0-4]\d)){3}\Z"))
def test_hash_never_contains_the_ip(ip: str) -> None:
    out = Anonymizer().anonymize(enriched(ip=ip))
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
    out = Anonymizer().anonymize(event)
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
    assert out.ip_hash == _documented_ip_hash("81.2.69.160", "shop.example.com")
    assert out.country_code == "GB"
    assert out.error_class == "type_error"
    assert out.received_at == RECEIVED_AT
    assert out.x == 120.5
    assert out.y == 640.25
    assert out.scroll_y == 300.0
    assert out.fixed is True
    assert out.offset == 42


def _documented_ip_hash(ip: str, site: str) -> int:
    """The keyed hash as operators/visitor.py documents it, computed without its code."""
    digest = hashlib.blake2b(f"{site}\0{ip}".encode(), key=TEST_KEY, digest_size=8).digest()
    return int.from_bytes(digest, "little")


def test_the_first_fields_are_the_events_table_columns_in_order() -> None:
    # events_table() turns a batch into columns by position: a field out of
    # place would land in another column.
    columns = tuple(EVENTS_SCHEMA.names)
    assert len(columns) == 16
    assert AnonymizedEvent._fields[:16] == columns


def test_identify_traits_keep_only_the_sites_allow_listed_keys() -> None:
    traits = {"name": "Jane Doe", "plan": "pro", "company": "mail jane@example.com"}
    event = enriched(type="custom", name="identify", props=traits)
    allowed = {"shop.example.com": frozenset({"plan", "company"})}
    anonymizer = Anonymizer(lambda site: allowed.get(site, frozenset()))
    props = orjson.loads(anonymizer.anonymize(event).event_data)["props"]
    assert props == {"name": "<redacted>", "plan": "pro", "company": "mail <email>"}
    # No allow-list (the default): every trait is redacted, key names are kept.
    default = orjson.loads(Anonymizer().anonymize(event).event_data)["props"]
    assert default == dict.fromkeys(traits, "<redacted>")


def test_props_of_other_custom_events_are_not_treated_as_traits() -> None:
    event = enriched(type="custom", name="signup", props={"plan": "pro"})
    props = orjson.loads(Anonymizer().anonymize(event).event_data)["props"]
    assert props == {"plan": "pro"}
