"""Crash safety, proved: SIGKILL a worker at random moments, restart it, and
the tables hold exactly what a run without crashes holds."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pyarrow.dataset as ds
import pytest

from connectors.kafka.topics import create_topics, topic_name
from devtools.generator import generate_records
from foundation.settings import load_settings
from tests.e2e.cli import ROOT, query_json
from tests.flows.test_kafka_flow import produce_raw, run_kafka

EVENTS = 200_000
NOW_MS = 1_764_072_000_000


def _committed_epoch(recovery: Path) -> int:
    """The highest epoch the recovery store has committed (0 before the first)."""
    epochs = [0]
    for part in recovery.glob("part-*.sqlite3"):
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(part)) as db:
            row = db.execute("SELECT max(commit_epoch) FROM commits").fetchone()
            epochs.append(row[0] or 0)
    return max(epochs)


def _tables(data_dir: Path) -> dict[str, Any]:
    events = query_json(
        data_dir, "SELECT count() AS n, uniqExact(event_id) AS ids FROM events FINAL"
    )[0]
    sessions = query_json(
        data_dir,
        "SELECT session_id, start_time, end_time, event_count, page_count, rage_click_count "
        "FROM sessions FINAL ORDER BY session_id",
    )
    heat = query_json(
        data_dir,
        "SELECT site_id, url_path, device_type, date_bucket, interaction_type, grid_x, grid_y, "
        "sum(interaction_count) AS n FROM heatmap_aggregates "
        "GROUP BY site_id, url_path, device_type, date_bucket, interaction_type, grid_x, grid_y",
    )
    archive = ds.dataset(data_dir / "archive" / "events", partitioning="hive").to_table()
    ids = Counter(archive.column("event_id").to_pylist())
    dead_letters = Counter(
        (record["source"], record["offset"], record["stage"])
        for path in (data_dir / "archive" / "dead_letter").rglob("*.jsonl")
        for record in map(orjson.loads, path.read_bytes().splitlines())
    )
    return {
        "dead_letters": dead_letters,
        "events": events,
        "sessions": sessions,
        "heat": {tuple(v for k, v in row.items() if k != "n"): row["n"] for row in heat},
        "archive_rows": archive.num_rows,
        "archive_ids": len(ids),
    }


@pytest.mark.slow
def test_sigkill_three_times_loses_nothing_and_counts_nothing_twice(
    kafka_broker: Any, kafka_topics: Any, tmp_path: Path
) -> None:
    prefix = kafka_topics.prefix()
    settings = load_settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=prefix,
        kafka_partitions=3,
    )
    create_topics(settings)
    records = list(generate_records(EVENTS, seed=12, now_ms=NOW_MS))
    produce_raw(kafka_broker.bootstrap_servers, topic_name(settings, "raw_events"), records)
    env = {
        **os.environ,
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
        "INSIGHTLITE_IP_HASH_SECRET": "crash-test-secret-0123456",
        "INSIGHTLITE_KAFKA_BATCH_SIZE": "2000",
        "INSIGHTLITE_LOG_LEVEL": "WARNING",
    }
    truth = run_kafka(tmp_path / "truth", env)
    expected = _tables(tmp_path / "truth")
    assert expected["events"]["n"] > EVENTS * 0.9

    crashed = tmp_path / "crashed"
    recovery = tmp_path / "recovery"
    env_crash = {**env, "INSIGHTLITE_SNAPSHOT_SECONDS": "1", "INSIGHTLITE_BACKUP_SECONDS": "0"}
    rng = random.Random(int(os.environ.get("CRASH_TEST_SEED", "7")))
    kills = 0
    for _ in range(3):
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "insightlite.cli",
                "run",
                "--input",
                "kafka",
                "--stop-at-end",
                "--data-dir",
                str(crashed),
                "--recovery-dir",
                str(recovery),
                "--json",
            ],
            cwd=ROOT,
            env=env_crash,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Kill only after measurable progress: a new epoch committed in the recovery
        # store, so every kill lands after real work and before the input's end.
        committed = _committed_epoch(recovery)
        deadline = time.monotonic() + 120
        while (
            worker.poll() is None
            and _committed_epoch(recovery) <= committed
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        time.sleep(rng.uniform(0.5, 2.5))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.communicate(timeout=60)
    assert kills == 3
    final = run_kafka(crashed, {**env_crash}, "--recovery-dir", str(recovery))
    # Resumed, not restarted from the beginning (which would read EVENTS again).
    assert 0 < final["events_in"] < EVENTS
    got = _tables(crashed)
    assert got["events"] == expected["events"]
    assert got["sessions"] == expected["sessions"]
    assert got["heat"] == expected["heat"]
    assert got["archive_ids"] == expected["archive_ids"] == truth["accepted"] - truth["duplicates"]
    assert got["archive_rows"] == got["archive_ids"]  # each accepted event once
    # Every dead letter once: the files are fixed source-offset buckets, rewritten alike.
    assert got["dead_letters"] == expected["dead_letters"]
    assert max(got["dead_letters"].values()) == 1
    assert sum(got["dead_letters"].values()) == truth["rejected_total"]
