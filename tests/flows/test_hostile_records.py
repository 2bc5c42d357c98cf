"""Hostile values in every field: what validation accepts, the destinations accept.

Each example runs the production flow (every stage, sessions, heatmaps, the
embedded ClickHouse, the Parquet archive and the dead letters) over records whose
fields carry control characters, newlines, NUL, lone surrogates, huge numbers,
NaN/Infinity, look-alike characters and very long strings. The invariant: the run
ends normally, and every record is either stored or kept as a dead letter, whether
a stage rejected it or a destination refused it (`sink_rejected`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bytewax.testing import TestingSource, run_main
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.archive import ArchiveWriter
from connectors.clickhouse import connect
from connectors.crypto import archive_cipher
from connectors.flow_sinks import close_deferred_clients
from foundation.metrics import RunTotals
from foundation.settings import Settings, load_settings
from insightlite.runner import InputSpec, apply_schema, build_pipeline_flow
from operators.model import RawBatch
from tests.operators.conftest import RECEIVED_AT, make_event

NOW = datetime.fromtimestamp(RECEIVED_AT / 1000, UTC)

HOSTILE_PIECES = [
    "\n",
    "\r\n",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "\u200b",
    "\ufeff",
    "\u0430",  # Cyrillic a
    "\uff11",  # fullwidth 1
    "\u0661",  # Arabic-Indic 1
    "\U0001f600",
    "'; DROP TABLE events; --",
    "\\",
    '"',
    "%00",
    "x" * 5000,
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_PIECES),
    st.sampled_from(HOSTILE_PIECES),
    st.text(st.characters(codec="utf-8"), max_size=24),
    st.text(st.characters(codec="utf-8"), min_size=20_000, max_size=40_000),
)
hostile_number = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 2**63, 2**64 - 1, 2**64, 1.5, 10**30]),
)
hostile_json = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_number, hostile_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)
    ),
    max_leaves=8,
)

FIELDS = [
    "v",
    "event_id",
    "session_id",
    "site_id",
    "type",
    "ts",
    "sent_at",
    "url",
    "referrer",
    "x",
    "y",
    "vw",
    "vh",
    "scroll_y",
    "dh",
    "target",
    "fixed",
    "error",
    "name",
    "props",
    "ip",
    "ua",
    "received_at",
]


@st.composite
def hostile_value(draw: st.DrawFn, valid: Any) -> Any:
    kind = draw(st.sampled_from(["suffix", "suffix", "prefix", "text", "number", "json"]))
    if kind in ("suffix", "prefix") and isinstance(valid, str):
        # Mostly one short hostile character: a valid value with a newline after it
        # is the kind of value a prefix check lets through.
        piece = draw(st.one_of(st.sampled_from(HOSTILE_PIECES[:13]), hostile_text))
        return valid + piece if kind == "suffix" else piece + valid
    if kind == "number":
        return draw(hostile_number)
    if kind == "json":
        return draw(hostile_json)
    return draw(hostile_text)


# Raw-text attacks that no JSON encoder writes: bare NaN/Infinity, lone surrogates,
# invalid UTF-8, deep nesting.
RAW_ATTACKS = [
    (b'"x": 120', b'"x": NaN'),
    (b'"x": 120', b'"x": Infinity'),
    (b'"x": 120', b'"x": -Infinity'),
    (b'"x": 120', b'"x": 1e400'),
    (b'"target": "#buy"', b'"target": "\\ud800"'),
    (b'"target": "#buy"', b'"target": "\xed\xa0\x80"'),
    (b'"target": "#buy"', b'"target": "\xff\xfe"'),
    (b'"target": "#buy"', b'"target": ' + b"[" * 900 + b"]" * 900),
]


def valid_event(index: int, session: int) -> dict[str, Any]:
    """A valid click with its own event id, in one of a few sessions."""
    return make_event(
        event_id=str(uuid.UUID(int=index + 1)),
        session_id=str(uuid.UUID(int=(1 << 64) + session)),
        referrer="https://search.example/",
        target="#buy",
    )


def _with(index: int = 0, **fields: Any) -> bytes:
    """A valid record with some fields replaced, as the collector would write it."""
    return json.dumps({**valid_event(index, session=0), **fields}, ensure_ascii=False).encode()


@st.composite
def hostile_records(draw: st.DrawFn) -> list[bytes]:
    records: list[bytes] = []
    for index in range(draw(st.integers(min_value=1, max_value=25))):
        event = valid_event(index, session=index % 3)
        for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
            event[name] = draw(hostile_value(event.get(name)))
        # ensure_ascii=False: the hostile characters travel as themselves, not escaped.
        raw = json.dumps(event, ensure_ascii=False, separators=(", ", ": ")).encode(
            "utf-8", "surrogatepass"
        )
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            old, new = draw(st.sampled_from(RAW_ATTACKS))
            raw = raw.replace(old, new, 1)
        records.append(raw)
    return records


def _settings(directory: Path) -> Settings:
    return load_settings(
        data_dir=str(directory),
        sink_batch_seconds=0.05,
        archive_flush_seconds=0.05,
    )


def _count(settings: Settings, sql: str) -> int:
    with connect(settings.resolved_clickhouse_url) as client:
        return int(client.query(sql).rows[0][0])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@example(records=[_with(event_id=str(uuid.UUID(int=1)) + "\n"), _with(index=1)])
@example(records=[_with(session_id=str(uuid.UUID(int=9)) + "\n"), _with(index=1)])
@example(records=[_with(site_id="shop.example.com\n"), _with(index=1)])
@example(records=[_with(url="https://host\n/x"), _with(url="https://host/a\x00b", index=1)])
@given(records=hostile_records())
def test_hostile_records_are_stored_or_dead_lettered_and_the_run_goes_on(
    records: list[bytes], tmp_path_factory: Any
) -> None:
    directory = tmp_path_factory.mktemp("hostile")
    config = _settings(directory)
    apply_schema(config)
    totals = RunTotals()
    flow = build_pipeline_flow(
        config,
        InputSpec("file", path="hostile"),
        now=NOW,
        totals=totals,
        source=TestingSource([RawBatch("fuzz", 0, records)]),
    )
    run_main(flow)  # the invariant's first half: it returns
    close_deferred_clients()

    summary = totals.as_dict()
    refused_by_sinks = summary["rejected"].get("sink_rejected", 0)
    assert summary["events_in"] == len(records)
    assert summary["accepted"] + summary["rejected_total"] - refused_by_sinks + summary[
        "filtered_total"
    ] == len(records)
    # Dead letters' payloads are encrypted: read them with the run's keys.
    archive = ArchiveWriter(config.resolved_archive_url, cipher=archive_cipher(config))
    dead = archive.read_dead_letters()
    stored_events = summary["accepted"] - summary["duplicates"]
    in_clickhouse = _count(config, "SELECT count() FROM events")
    in_archive = archive.read_events().num_rows
    refused_clickhouse = sum(
        1
        for record in dead
        if record["stage"] == "sink"
        and record["reasons"][0]["detail"].startswith("clickhouse.events:")
    )
    refused_archive = sum(
        1
        for record in dead
        if record["stage"] == "sink" and record["reasons"][0]["detail"].startswith("archive:")
    )
    assert in_clickhouse + refused_clickhouse == stored_events
    assert in_archive + refused_archive == stored_events
    # Every stage's reject is kept, once.
    assert sum(1 for record in dead if record["stage"] != "sink") == (
        summary["rejected_total"] - refused_by_sinks
    )
