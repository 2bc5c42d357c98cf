"""Tests of the seeded synthetic traffic generator."""

from __future__ import annotations

import ipaddress
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from devtools.demo_geoip import DEMO_NETWORKS, UNLISTED_NETWORKS, country_of
from devtools.generator import (
    BOT_USER_AGENTS,
    HUMAN_USER_AGENTS,
    MALFORMED_KINDS,
    MAX_EVENT_BYTES,
    PII_FIELD_KINDS,
    PLANTED_CARDS,
    PLANTED_EMAILS,
    PLANTED_IPS,
    PLANTED_PHONES,
    PLANTED_SECRETS,
    PLANTED_SSNS,
    SENSITIVE_PROP_KEYS,
    GeneratorConfig,
    estimate_span_ms,
    generate_labeled_records,
    generate_records,
    write_jsonl,
)
from foundation.contract import load_event_schema

START_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z
SAMPLE_SIZE = 20_000
SAMPLE_CONCURRENCY = 25
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
FLUSH_INTERVAL_MS = 5_000
PLANTED = PLANTED_EMAILS + PLANTED_PHONES + PLANTED_CARDS + PLANTED_SSNS + PLANTED_IPS
PLANTED_BYTES = tuple(value.encode() for value in PLANTED)


@cache
def validator() -> Draft202012Validator:
    schema = load_event_schema()
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass(frozen=True)
class Record:
    label: str
    data: bytes
    event: dict[str, Any] | None  # None unless the record is a contract-valid event


def parse(labeled: Iterator[tuple[str, bytes]], *, check: bool = True) -> list[Record]:
    """Records with their events; `check=False` trusts the labels instead of running
    the (slow) schema validation, for tests about something else."""
    records = []
    for label, data in labeled:
        if not check:
            broken = label.startswith("malformed:")
            records.append(Record(label, data, None if broken else orjson.loads(data)))
            continue
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            value = None
        valid = (
            isinstance(value, dict)
            and len(data) <= MAX_EVENT_BYTES
            and validator().is_valid(value)
            # jsonschema checks "uri" only with optional extras; the pipeline's
            # validator rejects whitespace, so hold the generator to that too.
            and not any(ch.isspace() for ch in value["url"])
        )
        records.append(Record(label, data, value if valid else None))
    return records


@pytest.fixture(scope="module")
def sample() -> list[Record]:
    # Few concurrent sessions, so most sessions in the sample are whole: a session cut
    # off by the start or end of a run may miss its rage burst or script error.
    config = GeneratorConfig(start_ms=START_MS, concurrent_sessions=SAMPLE_CONCURRENCY)
    return parse(generate_labeled_records(SAMPLE_SIZE, seed=11, config=config))


def events(records: list[Record]) -> list[dict[str, Any]]:
    """Contract-valid events, each once (duplicates dropped by event_id)."""
    seen: set[str] = set()
    unique = []
    for record in records:
        if record.event is not None and record.event["event_id"] not in seen:
            seen.add(record.event["event_id"])
            unique.append(record.event)
    return unique


def by_session(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events(records):
        sessions[event["session_id"]].append(event)
    return sessions


def corrected_ts(event: dict[str, Any]) -> int:
    if "sent_at" in event:
        return int(event["received_at"] + event["ts"] - event["sent_at"])
    return int(event["ts"])


def assert_share(observed: int, total: int, share: float, tolerance: float = 0.35) -> None:
    """`observed` is about `share` of `total`: within `tolerance` of it, or within four
    binomial standard deviations where counts are small and chance weighs more."""
    expected = share * total
    allowed = max(tolerance * expected, 4 * math.sqrt(total * share * (1 - share)))
    assert abs(observed - expected) <= allowed, (
        f"{observed} of {total}, expected about {expected:.1f}"
    )


def rage_chains(clicks: list[dict[str, Any]]) -> list[int]:
    """Lengths of maximal runs of clicks each within 1000 ms and < 30 px of the last."""
    chains = []
    length = 1
    ordered = sorted(clicks, key=lambda click: click["ts"])
    for before, after in pairwise(ordered):
        close = (
            after["ts"] - before["ts"] <= 1000
            and before.get("fixed", False) == after.get("fixed", False)
            and abs(after["x"] - before["x"]) + abs(after["y"] - before["y"]) < 30
        )
        if close:
            length += 1
        else:
            if length > 1:
                chains.append(length)
            length = 1
    if length > 1:
        chains.append(length)
    return chains


# --- determinism and counts --------------------------------------------------------


def test_same_seed_gives_same_bytes_and_other_seed_differs() -> None:
    config = GeneratorConfig(start_ms=START_MS)
    first = list(generate_records(3_000, seed=5, config=config))
    again = list(generate_records(3_000, seed=5, config=config))
    other = list(generate_records(3_000, seed=6, config=config))
    assert first == again
    assert first != other
    # Apart from tiny malformed constants such as b"null", nothing repeats across seeds.
    assert not {r for r in first if len(r) > 64} & {r for r in other if len(r) > 64}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63), n=st.integers(min_value=0, max_value=300))
def test_any_seed_gives_exactly_n_deterministic_records(seed: int, n: int) -> None:
    config = GeneratorConfig(start_ms=START_MS, concurrent_sessions=20)
    records = list(generate_records(n, seed=seed, config=config))
    assert len(records) == n
    assert records == list(generate_records(n, seed=seed, config=config))
    assert all(isinstance(record, bytes) and b"\n" not in record for record in records)


@pytest.mark.parametrize("n", [0, 1, 2, 777])
def test_exact_count_with_default_config(n: int) -> None:
    assert sum(1 for _ in generate_records(n, seed=1, now_ms=START_MS)) == n


def test_sample_has_exact_count(sample: list[Record]) -> None:
    assert len(sample) == SAMPLE_SIZE


# --- configuration --------------------------------------------------------------


def test_now_ms_is_required_without_start() -> None:
    # Checked at the call, before any record is asked for.
    with pytest.raises(ValueError, match="now_ms"):
        generate_records(10)
    with pytest.raises(ValueError, match="now_ms"):
        generate_labeled_records(10, config=GeneratorConfig())


@pytest.mark.parametrize("field", ["bot_share", "malformed_share", "pii_share", "error_share"])
@pytest.mark.parametrize("value", [-0.01, 1.5, float("nan")])
def test_share_out_of_range_names_the_field(field: str, value: float) -> None:
    overrides: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field):
        GeneratorConfig(**overrides)


def test_record_level_shares_must_fit_together() -> None:
    with pytest.raises(ValueError, match="pii_share"):
        GeneratorConfig(pii_share=0.6, malformed_share=0.5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"concurrent_sessions": 0}, "concurrent_sessions"),
        ({"sites": ()}, "sites"),
        ({"sites": ("bad site",)}, "sites"),
        ({"start_ms": -1}, "start_ms"),
    ],
)
def test_other_invalid_settings_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        GeneratorConfig(**kwargs)


# --- contract --------------------------------------------------------------------


def test_records_validate_except_the_malformed_ones(sample: list[Record]) -> None:
    for record in sample:
        intended_broken = record.label.startswith("malformed:")
        assert (record.event is None) == intended_broken, (record.label, record.data[:200])
        assert b"\n" not in record.data and b"\r" not in record.data
        if not intended_broken:
            assert record.data == orjson.dumps(record.event)


def test_every_malformed_kind_is_refused() -> None:
    config = GeneratorConfig(start_ms=START_MS, malformed_share=0.5, pii_share=0.0)
    records = parse(generate_labeled_records(3_000, seed=3, config=config))
    kinds = Counter(r.label.removeprefix("malformed:") for r in records if "malformed" in r.label)
    assert set(kinds) == set(MALFORMED_KINDS)
    for record in records:
        if record.label.startswith("malformed:"):
            assert record.event is None
            assert b"\n" not in record.data
        if record.label == "malformed:oversized":
            assert len(record.data) > MAX_EVENT_BYTES
            assert validator().is_valid(orjson.loads(record.data))  # only the size is wrong


# --- shares ------------------------------------------------------------------------


def test_record_level_shares(sample: list[Record]) -> None:
    config = GeneratorConfig()
    total = len(sample)
    assert_share(sum(r.event is None for r in sample), total, config.malformed_share)
    with_pii = sum(any(value in r.data for value in PLANTED_BYTES) for r in sample)
    assert_share(with_pii, total, config.pii_share)
    seen: set[bytes] = set()
    duplicates = 0
    for record in sample:
        if record.event is not None:  # malformed constants like b"null" repeat by chance
            duplicates += record.data in seen
            seen.add(record.data)
    assert_share(duplicates, total, config.duplicate_share)
    valid = [r.event for r in sample if r.event is not None]
    too_old = sum(e["received_at"] - corrected_ts(e) > 3 * DAY_MS for e in valid)
    assert_share(too_old, total, config.late_share, tolerance=0.5)
    future = sum(corrected_ts(e) - e["received_at"] > 23 * HOUR_MS for e in valid)
    assert_share(future, total, config.future_share, tolerance=0.6)


def test_mostly_in_arrival_order(sample: list[Record]) -> None:
    latest = 0
    behind = 0
    for record in sample:
        if record.event is None:
            continue
        behind += record.event["received_at"] < latest
        latest = max(latest, record.event["received_at"])
    config = GeneratorConfig()
    expected = config.out_of_order_share + config.duplicate_share
    assert_share(behind, len(sample), expected)


def test_session_level_shares(sample: list[Record]) -> None:
    config = GeneratorConfig()
    sessions = by_session(sample)
    bots = {sid for sid, evs in sessions.items() if evs[0]["ua"] in BOT_USER_AGENTS}
    assert_share(len(bots), len(sessions), config.bot_share, tolerance=0.5)
    skewed = sum(
        any(abs(e["received_at"] - e["sent_at"]) > 60_000 for e in evs if "sent_at" in e)
        for evs in sessions.values()
    )
    assert_share(skewed, len(sessions), config.skewed_clock_share, tolerance=0.5)
    humans = {sid: evs for sid, evs in sessions.items() if sid not in bots}
    with_errors = sum(any(e["type"] == "error" for e in evs) for evs in humans.values())
    assert_share(with_errors, len(humans), config.error_share)
    with_rage = sum(
        any(n >= 3 for n in rage_chains([e for e in evs if e["type"] == "click"]))
        for evs in humans.values()
    )
    assert_share(with_rage, len(humans), config.rage_click_share)


def test_rage_bursts_meet_the_thresholds(sample: list[Record]) -> None:
    chains = []
    for evs in by_session(sample).values():
        chains.extend(rage_chains([e for e in evs if e["type"] == "click"]))
    assert chains
    # Only planted bursts chain at all; a burst cut by the end of the run may be short.
    assert all(n <= 6 for n in chains)
    assert sum(n < 3 for n in chains) <= 2


# --- time ----------------------------------------------------------------------------


def test_clock_correction_recovers_event_time(sample: list[Record]) -> None:
    for record in sample:
        event = record.event
        if event is None or record.label in ("late", "future"):
            continue
        if "sent_at" in event:
            # corrected ts = true event time + network latency; the batch left the
            # browser at most one flush interval after the event.
            assert 0 <= event["received_at"] - corrected_ts(event) <= FLUSH_INTERVAL_MS
        else:
            assert -1_500 <= event["received_at"] - event["ts"] <= FLUSH_INTERVAL_MS + 5_500


def test_run_ends_near_now_and_nothing_ordinary_is_too_old_or_future() -> None:
    now_ms = START_MS + 7 * DAY_MS
    records = parse(generate_labeled_records(SAMPLE_SIZE, seed=2, now_ms=now_ms), check=False)
    valid = [r for r in records if r.event is not None]
    last_arrival = max(r.event["received_at"] for r in valid if r.event is not None)
    span = estimate_span_ms(SAMPLE_SIZE)
    assert abs(last_arrival - now_ms) <= 0.1 * span + 60_000
    for record in valid:
        assert record.event is not None
        corrected = corrected_ts(record.event)
        if record.label != "late":
            assert corrected >= now_ms - 3 * DAY_MS
        if record.label != "future":
            assert corrected <= now_ms + 23 * HOUR_MS
        if record.label == "late":
            assert corrected < now_ms - 3 * DAY_MS
        if record.label == "future":
            assert "sent_at" not in record.event
            assert corrected > now_ms + 23 * HOUR_MS


def test_huge_runs_stay_within_a_day() -> None:
    assert estimate_span_ms(50_000_000) <= DAY_MS


# --- realism ---------------------------------------------------------------------------


def test_traffic_looks_like_real_sites(sample: list[Record]) -> None:
    evs = events(sample)
    assert {e["site_id"] for e in evs} == set(GeneratorConfig().sites)
    assert {e["type"] for e in evs} == {"pageview", "click", "move", "scroll", "error", "custom"}
    urls = [urlsplit(e["url"]) for e in evs]
    paths = {u.path for u in urls}
    assert {"/", "/cart", "/checkout", "/products/shoes", "/docs/getting-started"} <= paths
    assert any(p.startswith("/blog/2026/11/") for p in paths)
    assert any(p.startswith("/orders/") and p[8:].isdigit() and len(p) >= 16 for p in paths)
    assert any("utm_source=" in u.query for u in urls)
    assert any(u.fragment for u in urls)
    assert any(e.get("referrer", "").startswith("https://www.google.com/") for e in evs)
    custom = [e for e in evs if e["type"] == "custom"]
    assert {"signup", "add_to_cart"} <= {e["name"] for e in custom}
    assert any(e.get("props") == {"plan": "pro", "price": 29} for e in custom)
    messages = {e["error"]["message"] for e in evs if e["type"] == "error"}
    assert "ReferenceError: gtag is not defined" in messages
    assert "Script error." in messages
    assert any(e.get("sent_at") is None for e in evs)
    assert sum("sent_at" in e for e in evs) > 0.8 * len(evs)
    viewports = {(e["vw"], e["vh"]) for e in evs if "vw" in e and e["ua"] in HUMAN_USER_AGENTS}
    assert (1920, 1080) in viewports
    assert any(vw < 500 for vw, _ in viewports)  # phones
    assert any(768 <= vw <= 1024 and vh > vw for vw, vh in viewports)  # tablets
    assert {e["ua"] for e in evs} <= set(HUMAN_USER_AGENTS) | set(BOT_USER_AGENTS)
    assert len({e["ua"] for e in evs} & set(HUMAN_USER_AGENTS)) >= 8


def test_pointer_events_are_plausible(sample: list[Record]) -> None:
    evs = events(sample)
    for event in evs:
        if event["type"] == "move":
            assert "Mobile" not in event["ua"] and "iPad" not in event["ua"]
        if event.get("fixed"):
            assert event["type"] == "click"
            assert 0 <= event["x"] < event["vw"] and 0 <= event["y"] < event["vh"]
    assert any(e.get("fixed") for e in evs)
    for evs_of_session in by_session(sample).values():
        for event in evs_of_session:
            if event["type"] == "scroll" and "dh" in event:
                assert event["scroll_y"] <= max(0, event["dh"] - event["vh"])
    clicks = Counter((e["url"].split("?")[0], e["target"]) for e in evs if e["type"] == "click")
    # Clicks concentrate on a few hot spots per page.
    assert clicks.most_common(1)[0][1] >= 20


def test_bots_of_every_kind_behave_like_bots() -> None:
    config = GeneratorConfig(start_ms=START_MS, bot_share=1.0, malformed_share=0.0)
    evs = events(parse(generate_labeled_records(5_000, seed=4, config=config)))
    assert {e["ua"] for e in evs} == set(BOT_USER_AGENTS)
    for event in evs:
        assert event["type"] in ("pageview", "scroll")
        if event["ua"].startswith(("python-requests/", "curl/")):
            assert "sent_at" not in event and "vw" not in event
        if "Googlebot" in event["ua"]:
            assert country_of(event["ip"]) == "US"


def test_client_ips_come_from_the_demo_table() -> None:
    config = GeneratorConfig(start_ms=START_MS, bot_share=0.0, concurrent_sessions=400)
    labeled = generate_labeled_records(SAMPLE_SIZE, seed=8, config=config)
    sessions = by_session(parse(labeled, check=False))
    ips = {sid: evs[0]["ip"] for sid, evs in sessions.items()}
    assert all(len({e["ip"] for e in evs}) == 1 for evs in sessions.values())
    unlisted = [ipaddress.ip_network(cidr) for cidr in UNLISTED_NETWORKS]
    unknown = 0
    for ip in ips.values():
        if country_of(ip) is None:
            unknown += 1
            assert any(ipaddress.ip_address(ip) in network for network in unlisted)
    assert_share(unknown, len(ips), 0.03, tolerance=0.6)
    assert len(set(ips.values())) < len(ips)  # a few sessions share an address
    assert any(":" in ip for ip in ips.values())
    countries = {country_of(ip) for ip in ips.values()} - {None}
    assert len(countries) >= 10
    assert not set(ips.values()) & set(PLANTED_IPS)


# --- planted PII -----------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    digits = [int(ch) for ch in number if ch.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_planted_values_are_what_they_claim() -> None:
    for card in PLANTED_CARDS:
        assert luhn_valid(card)
        assert 13 <= sum(ch.isdigit() for ch in card) <= 19
    assert any(" " in card for card in PLANTED_CARDS) and any("-" in c for c in PLANTED_CARDS)
    for ssn in PLANTED_SSNS:
        area, group, serial = ssn.split("-")
        assert area not in ("000", "666") and not area.startswith("9")
        assert group != "00" and serial != "0000"
    networks = [ipaddress.ip_network(c) for c, _ in DEMO_NETWORKS] + [
        ipaddress.ip_network(c) for c in UNLISTED_NETWORKS
    ]
    for ip in PLANTED_IPS:
        address = ipaddress.ip_address(ip)
        assert address.is_global
        assert not any(address in network for network in networks)
    assert all("@" in email for email in PLANTED_EMAILS)
    assert {"+1 (415) 555-0132", "415-555-0198", "+44 20 7946 0958"} <= set(PLANTED_PHONES)


def strings_in(value: Any, depth: int = 0) -> Iterator[tuple[str, int, bool]]:
    """(string, depth, inside a list) for every string value within `value`."""
    if isinstance(value, str):
        yield value, depth, False
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from ((s, d, True) for s, d, _ in strings_in(item, depth + 1))


def has_planted(text: str) -> bool:
    return any(value in text for value in PLANTED)


def test_planted_pii_reaches_every_field_kind() -> None:
    # Script errors are rare; make every session have some so error fields get plants.
    config = GeneratorConfig(start_ms=START_MS, pii_share=0.5, error_share=1.0)
    records = parse(generate_labeled_records(8_000, seed=9, config=config))
    kinds = Counter(r.label.removeprefix("pii:") for r in records if r.label.startswith("pii:"))
    assert set(kinds) == set(PII_FIELD_KINDS)
    found = {category: False for category in ("email", "phone", "card", "ssn", "ip")}
    for record in records:
        if not record.label.startswith("pii:"):
            continue
        event = record.event
        assert event is not None, "planted PII must not break the contract"
        kind = record.label.removeprefix("pii:")
        props = event.get("props", {})
        if kind == "props_value":
            assert any(has_planted(s) for s, _, _ in strings_in(props))
        elif kind == "props_nested":
            assert any(has_planted(s) and d >= 3 for s, d, _ in strings_in(props))
        elif kind == "props_list":
            assert any(has_planted(s) and in_list for s, _, in_list in strings_in(props))
        elif kind == "props_key":
            assert set(props) & set(SENSITIVE_PROP_KEYS)
        elif kind.startswith("error_"):
            assert has_planted(event["error"][kind.removeprefix("error_")])
        elif kind == "url_query":
            assert has_planted(urlsplit(event["url"]).query)
        elif kind == "url_path":
            assert has_planted(urlsplit(event["url"]).path)
        else:
            assert has_planted(event[kind])
        for category, values in (
            ("email", PLANTED_EMAILS),
            ("phone", PLANTED_PHONES),
            ("card", PLANTED_CARDS),
            ("ssn", PLANTED_SSNS),
            ("ip", PLANTED_IPS),
        ):
            found[category] |= any(value.encode() in record.data for value in values)
    assert all(found.values()), found
    secrets = [r for r in records if any(s.encode() in r.data for s in PLANTED_SECRETS)]
    assert secrets and all(r.label == "pii:props_key" for r in secrets)


def test_unlabelled_records_carry_no_planted_pii(sample: list[Record]) -> None:
    for record in sample:
        if not record.label.startswith("pii:"):
            assert not any(value in record.data for value in PLANTED_BYTES), record.label


# --- output -----------------------------------------------------------------------------------


def test_write_jsonl_writes_one_record_per_line(tmp_path: Path) -> None:
    records = list(generate_records(2_000, seed=1, config=GeneratorConfig(start_ms=START_MS)))
    target = tmp_path / "nested" / "events.jsonl"
    assert write_jsonl(target, iter(records)) == len(records)
    assert target.read_bytes().split(b"\n") == [*records, b""]


def test_write_jsonl_refuses_a_record_with_a_newline(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="newline"):
        write_jsonl(tmp_path / "x.jsonl", [b"{}", b'{"a":\n1}'])
