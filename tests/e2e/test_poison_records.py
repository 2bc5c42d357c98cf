"""One record must never stop the pipeline.

A UUID followed by a newline used to pass validation (Python's `$` matches before
a final newline); ClickHouse then refused the insert, the worker exited, and with
recovery on every restart replayed the same record and exited again: nothing after
it was ever stored. Here such records sit in the middle of ordinary traffic, read
from the real broker with a recovery store, and the run is started twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from connectors.archive import ArchiveWriter
from connectors.crypto import archive_cipher
from devtools.generator import generate_records
from foundation.settings import load_settings
from tests.dates import RECENT_NOON_MS
from tests.e2e.cli import insightlite, query_json
from tests.flows.test_kafka_flow import raw_topic_with, run_kafka
from tests.operators.conftest import make_event

NOW_MS = RECENT_NOON_MS
UUID = "3f2b8c1e-1111-4222-8333-444455556666"


def _poison(**fields: Any) -> bytes:
    """A valid click as the collector writes it, with some fields replaced."""
    return orjson.dumps(make_event(**{"event_id": UUID, **fields}))


POISON = [
    _poison(event_id=UUID + "\n"),
    _poison(session_id="9a7c4d2e-5555-4666-8777-888899990000\n"),
    _poison(site_id="shop.example.com\n"),
    _poison(url="https://host\n/x"),
    _poison(url="https://shop.example.com/a\x00b"),
    _poison(referrer="https://r.example/\r\n"),
]
EXPECTED_REASONS = {"bad_uuid": 2, "bad_site_id": 1, "bad_url": 2, "control_character": 1}


def test_poison_records_are_dead_lettered_and_everything_after_them_is_stored(
    kafka_broker: Any, kafka_topics: Any, tmp_path: Path
) -> None:
    prefix = kafka_topics.prefix()
    ordinary = list(generate_records(3_000, seed=21, now_ms=NOW_MS))
    records = ordinary[:1_000] + POISON + ordinary[1_000:]
    raw_topic_with(kafka_broker.bootstrap_servers, prefix, records, partitions=1)
    env = {
        **os.environ,
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
        "INSIGHTLITE_LOG_LEVEL": "WARNING",
    }
    data_dir = tmp_path / "data"
    recovery = ("--recovery-dir", str(tmp_path / "recovery"))
    first = run_kafka(data_dir, env, *recovery)  # exited non-zero before the fix
    assert first["events_in"] == len(records)
    for reason, count in EXPECTED_REASONS.items():
        assert first["rejected"].get(reason, 0) >= count, (reason, first["rejected"])
    assert "sink_rejected" not in first["rejected"]
    # A restart resumes after what the first run stored, and reads nothing again.
    second = run_kafka(data_dir, env, *recovery)
    assert second["events_in"] == 0

    # Exactly the events a run over the ordinary traffic alone stores.
    truth_file = tmp_path / "ordinary.jsonl"
    truth_file.write_bytes(b"\n".join(ordinary) + b"\n")
    truth_dir = tmp_path / "truth"
    insightlite("run", "--input", f"file:{truth_file}", "--data-dir", str(truth_dir), env=env)
    ids_sql = "SELECT toString(event_id) AS id FROM events FINAL ORDER BY id"
    stored = [row["id"] for row in query_json(data_dir, ids_sql)]
    assert len(stored) > 2_500
    assert stored == [row["id"] for row in query_json(truth_dir, ids_sql)]
    # Dead letters' payloads are encrypted: read them with the run's keys.
    cipher = archive_cipher(load_settings(data_dir=data_dir))
    dead = ArchiveWriter(str(data_dir / "archive"), cipher=cipher).read_dead_letters()
    codes = [reason["code"] for record in dead for reason in record["reasons"]]
    for reason, count in EXPECTED_REASONS.items():
        assert codes.count(reason) >= count
