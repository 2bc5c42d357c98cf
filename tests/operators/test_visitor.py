"""The visitor fields: derived once per distinct value, the same on both paths."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from foundation.settings import DEFAULT_BOT_PATTERNS
from foundation.units import DAY_MS
from operators.model import RawBatch
from operators.user_agent import UserAgentClassifier, UserAgentInfo
from operators.validate import EventValidator, ValidationConfig
from operators.visitor import (
    EVENT_VISITOR,
    MALFORMED_VISITOR,
    VISITOR_FIELD,
    VISITOR_WITH_CLIENT,
    Client,
    VisitorDeriver,
    VisitorFields,
    VisitorResolver,
    key_day,
    parse_visitor,
)
from tests.operators.conftest import RECEIVED_AT, make_event
from tests.operators.test_bot_filter import CHROME, IPHONE
from tests.operators.visitor_support import TEST_KEY, fixed_keys


class CountingClassifier(UserAgentClassifier):
    """The real classifier, without its cache, counting what it is asked."""

    def __init__(self) -> None:
        super().__init__(DEFAULT_BOT_PATTERNS)
        self.asked: list[str] = []

    def classify(self, ua: str) -> UserAgentInfo:
        self.asked.append(ua)
        return self._classify_uncached(ua)


def test_each_distinct_user_agent_is_classified_once_per_batch() -> None:
    classifier = CountingClassifier()
    clients = [
        Client("s", f"10.0.0.{i % 3}", (CHROME, IPHONE)[i % 2], RECEIVED_AT) for i in range(50)
    ]
    fields = VisitorDeriver(classifier, None).derive(clients, fixed_keys({key_day(RECEIVED_AT)}))
    assert sorted(classifier.asked) == sorted([CHROME, IPHONE])
    assert len({f.ip_hash for f in fields}) == 3
    assert {f.device for f in fields} == {"desktop", "mobile"}


def test_a_missing_day_key_is_an_error_not_an_unkeyed_hash() -> None:
    deriver = VisitorDeriver(UserAgentClassifier(()), None)
    with pytest.raises(KeyError):
        deriver.derive([Client("s", "1.2.3.4", CHROME, RECEIVED_AT)], {})
    with pytest.raises(ValueError, match="32 bytes"):
        deriver.derive([Client("s", "1.2.3.4", CHROME, RECEIVED_AT)], {key_day(RECEIVED_AT): b"k"})


def test_different_keys_give_different_hashes_and_no_ip_gives_zero() -> None:
    deriver = VisitorDeriver(UserAgentClassifier(()), None)
    day = key_day(RECEIVED_AT)
    client = Client("s", "81.2.69.160", CHROME, RECEIVED_AT)
    (first,) = deriver.derive([client], {day: TEST_KEY})
    (second,) = deriver.derive([client], {day: bytes(32)})
    assert first.ip_hash != second.ip_hash
    (nobody,) = deriver.derive([client._replace(ip="")], {day: TEST_KEY})
    assert nobody.ip_hash == 0


def _collector_record(event: dict[str, Any]) -> bytes:
    """What the collector writes for ``event`` (api/collector/envelope.py, by hand)."""
    client = Client(event["site_id"], event.pop("ip"), event.pop("ua"), event["received_at"])
    deriver = VisitorDeriver(UserAgentClassifier(DEFAULT_BOT_PATTERNS), None)
    (fields,) = deriver.derive([client], fixed_keys({key_day(client.received_at)}))
    event[VISITOR_FIELD] = fields.to_json()
    return orjson.dumps(event)


def _through_validate_and_resolve(records: list[bytes]) -> list[VisitorFields]:
    batch = EventValidator(ValidationConfig(max_age_ms=400 * DAY_MS)).apply(
        RawBatch("t", 0, records)
    )
    assert not batch.rejected, batch.rejected
    resolver = VisitorResolver(
        VisitorDeriver(UserAgentClassifier(DEFAULT_BOT_PATTERNS), None), fixed_keys
    )
    resolver.resolve(batch.events)
    assert not any("ip" in e or "ua" in e or VISITOR_FIELD in e for e in batch.events)
    return [event[EVENT_VISITOR] for event in batch.events]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"ua": IPHONE, "ip": "2a02:cf40::1"},
        {"ua": "curl/8.5.0"},
        {"ua": ""},
        {"ip": "", "site_id": "other.example"},
    ],
)
def test_the_collector_path_and_the_pipeline_path_give_the_same_fields(
    overrides: dict[str, Any],
) -> None:
    legacy = orjson.dumps(make_event(**overrides))
    from_collector = _collector_record(make_event(**overrides))
    assert b"81.2.69.160" not in from_collector and b"Mozilla" not in from_collector
    assert _through_validate_and_resolve([legacy]) == _through_validate_and_resolve(
        [from_collector]
    )


def test_a_record_with_both_or_malformed_fields_is_a_dead_letter() -> None:
    good = orjson.loads(_collector_record(make_event()))
    both = {**good, "ip": "81.2.69.160"}
    bad_device = {**good, VISITOR_FIELD: {**good[VISITOR_FIELD], "device": "toaster"}}
    bad_hash = {**good, VISITOR_FIELD: {**good[VISITOR_FIELD], "ip_hash": -1}}
    extra = {**good, VISITOR_FIELD: {**good[VISITOR_FIELD], "ip": "81.2.69.160"}}
    not_object = {**good, VISITOR_FIELD: "81.2.69.160"}
    records = [orjson.dumps(r) for r in (both, bad_device, bad_hash, extra, not_object)]
    batch = EventValidator(ValidationConfig(max_age_ms=400 * DAY_MS)).apply(
        RawBatch("t", 0, records)
    )
    assert not batch.events
    codes = [rejected.reasons[0].code for rejected in batch.rejected]
    assert codes == [VISITOR_WITH_CLIENT] + [MALFORMED_VISITOR] * 4


def test_parse_visitor_accepts_exactly_what_the_collector_writes() -> None:
    fields = VisitorFields(2**64 - 1, "GB", 0, "tablet", "known_bot")
    assert parse_visitor(orjson.loads(orjson.dumps(fields.to_json()))) == fields
    assert parse_visitor({**fields.to_json(), "bot": ""}) is None
    assert parse_visitor({**fields.to_json(), "ua_hash": 2**64}) is None
    assert parse_visitor({**fields.to_json(), "country": True}) is None


def test_resolver_asks_only_for_the_days_of_legacy_records() -> None:
    asked: list[set[int]] = []

    def keys(days: set[int]) -> dict[int, bytes]:
        asked.append(days)
        return dict.fromkeys(days, TEST_KEY)

    resolver = VisitorResolver(VisitorDeriver(UserAgentClassifier(()), None), keys)
    events = [make_event(), make_event(received_at=RECEIVED_AT + DAY_MS)]
    resolver.resolve(events)
    assert asked == [{key_day(RECEIVED_AT), key_day(RECEIVED_AT) + 1}]
    resolver.resolve(events)  # every event has its fields now: no key asked
    assert len(asked) == 1
