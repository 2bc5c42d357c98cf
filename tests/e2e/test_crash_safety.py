"""Crash safety, proved: SIGKILL a worker at random moments after real progress,
restart the broker under it, resume, and every output (the tables, the archive, the
dead letters, the recordings' blobs and summaries, and the topics reduced by their
keys) holds exactly what a run without crashes holds."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pyarrow.dataset as ds
import pytest
import xxhash

from connectors.archive import ArchiveWriter, JsonLinesFormat
from connectors.archive.replays import ReplayBlobStore
from connectors.crypto import (
    ENCRYPTED_FIELD,
    ArchiveCipher,
    archive_cipher,
    is_encrypted,
    open_dead_letter,
)
from connectors.kafka.topics import topic_name
from devtools.generator import generate_records
from devtools.generator.replay import generate_replay_records
from devtools.local_kafka import LocalKafka
from foundation.settings import load_settings
from tests.dates import RECENT_NOON_MS
from tests.e2e.cli import query_json, start_insightlite
from tests.flows.test_kafka_flow import produce_raw, raw_topic_with, run_kafka
from tests.flows.test_sessions_flow import HEAT_CELL
from tests.kafka_fixture import read_topic, topic_size

EVENTS = 200_000
NOW_MS = RECENT_NOON_MS


def _place(record: dict[str, Any]) -> tuple[str, int, str]:
    """Where a dead letter's record was read: its source partition, offset and stage."""
    return (record["source"], record["offset"], record["stage"])


def _content(record: dict[str, Any]) -> bytes:
    """A dead letter without where and when it was written: the same in every run."""
    kept = {k: v for k, v in record.items() if k not in ("source", "offset", "failed_at")}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)


def _cipher(data_dir: Path) -> ArchiveCipher:
    """The keys a run over ``data_dir`` encrypted its dead letters and recordings with.

    Every rewrite after a crash encrypts with a fresh nonce: the outputs are compared
    by what they decrypt to, byte for byte, after checking they are all encrypted."""
    cipher = archive_cipher(load_settings(data_dir=data_dir))
    assert cipher is not None
    return cipher


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
    recordings = query_json(
        data_dir,
        "SELECT toString(session_id) AS session_id, min(start_time) AS start, "
        "max(end_time) AS end, arraySort(groupUniqArrayMerge(chunks)) AS chunks, "
        "uniqExactMerge(active_seconds) AS active, uniqExactMerge(clicks) AS clicks, "
        "uniqExactMerge(rage_clicks) AS rage, uniqExactMerge(errors) AS errors, "
        "arraySort(groupUniqArrayMerge(pages)) AS pages FROM session_replays "
        "GROUP BY site_id, session_id ORDER BY session_id",
    )
    chunk_rows = query_json(
        data_dir,
        "SELECT count() AS rows, uniqExact(chunk_id) AS chunks FROM session_replay_chunks FINAL",
    )[0]
    cipher = _cipher(data_dir)
    store = ReplayBlobStore(str(data_dir / "archive"), cipher=cipher)
    names = [name for _site, _session, names in store.sessions() for name in names]
    assert all(is_encrypted(store.destination.read_bytes(name)) for name in names)
    blobs = {name: xxhash.xxh64_hexdigest(store.read(name)) for name in names}
    archive = ds.dataset(data_dir / "archive" / "events", partitioning="hive").to_table()
    ids = Counter(archive.column("event_id").to_pylist())
    writer = ArchiveWriter(str(data_dir / "archive"), cipher=cipher)
    dead = writer.read_dead_letters()
    # Where each dead letter was found, to say so when one is found twice.
    dead_paths: dict[bytes, list[str]] = {}
    for path in writer.destination.list("dead_letter"):
        for stored in JsonLinesFormat.decode_records(writer.destination.read_bytes(path)):
            assert "payload" not in stored and ENCRYPTED_FIELD in stored
            record = open_dead_letter(cipher, stored)
            dead_paths.setdefault(_content(record), []).append(f"{path}@{record['offset']}")
    return {
        # Within a run, each rejected record once by its place in the input...
        "dead_letters": Counter(_place(record) for record in dead),
        # ...and across runs (whose topics place records alike only by chance) by content.
        "dead_letter_contents": Counter(_content(record) for record in dead),
        "dead_letter_paths": dead_paths,
        "events": events,
        "sessions": sessions,
        "heat": {tuple(v for k, v in row.items() if k != "n"): row["n"] for row in heat},
        "archive_rows": archive.num_rows,
        "archive_ids": len(ids),
        "recordings": recordings,
        "recording_chunk_rows": chunk_rows,
        "recording_blobs": blobs,
    }


def _topics(bootstrap: str, prefix: str, data_dir: Path) -> dict[str, Any]:
    """Every output topic read back (read committed), and reduced by its record keys.

    The topics are at least once: a replay may produce a record again, always with
    the same key, so after dropping repeated keys they must equal a run without
    crashes. Dead letters are compared decrypted (with the keys of the run's
    ``data_dir``), after checking none carries its payload in clear.
    """
    names = load_settings(kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix)

    def read(topic: str) -> list[dict[str, Any]]:
        name = topic_name(names, topic)
        return [
            orjson.loads(m.value())
            for m in read_topic(bootstrap, name, topic_size(bootstrap, name))
        ]

    processed = read("processed_events")
    cipher = _cipher(data_dir)
    sealed = read("dead_letter")
    assert all("payload" not in record and ENCRYPTED_FIELD in record for record in sealed)
    dead = [open_dead_letter(cipher, record) for record in sealed]
    heat: dict[tuple[Any, ...], int] = {}
    for update in read("heatmap_updates"):
        cell = tuple(update[k] for k in HEAT_CELL)
        heat[(update["update_id"], *cell)] = update["interaction_count"]
    heat_by_cell: Counter[tuple[Any, ...]] = Counter()
    for (_update, *cell), count in heat.items():
        heat_by_cell[tuple(cell)] += count
    return {
        "processed_ids": Counter(record["event_id"] for record in processed),
        "dead_keys": Counter(_place(record) for record in dead),
        "dead_contents": {_content(record) for record in dead},
        "heat": dict(heat_by_cell),
    }


@pytest.mark.slow
def test_sigkill_three_times_and_a_broker_restart_lose_nothing_and_count_nothing_twice(
    tmp_path: Path,
) -> None:
    with LocalKafka() as kafka:
        bootstrap = kafka.bootstrap_servers
        records = list(generate_records(EVENTS, seed=12, now_ms=NOW_MS))
        chunks = generate_replay_records(records, seed=12, share=0.2)
        # The same input under two prefixes: one run without crashes, one with.
        for prefix in ("truth.", "crashed."):
            settings = raw_topic_with(bootstrap, prefix, records)
            produce_raw(bootstrap, topic_name(settings, "replay_events"), chunks)
        env = {
            **os.environ,
            "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "INSIGHTLITE_KAFKA_BATCH_SIZE": "2000",
            "INSIGHTLITE_LOG_LEVEL": "WARNING",
            # The recordings are dated like the events, longer ago than the default
            # 30 days: keep them, or their rows' TTL could drop them mid-test.
            "INSIGHTLITE_REPLAY_RETENTION_DAYS": "3650",
        }
        truth = run_kafka(tmp_path / "truth", {**env, "INSIGHTLITE_KAFKA_TOPIC_PREFIX": "truth."})
        expected = _tables(tmp_path / "truth")
        assert expected["events"]["n"] > EVENTS * 0.9
        assert truth["replay"]["stored"] > 100
        expected_topics = _topics(bootstrap, "truth.", tmp_path / "truth")

        crashed = tmp_path / "crashed"
        recovery = tmp_path / "recovery"
        env_crash = {
            **env,
            "INSIGHTLITE_KAFKA_TOPIC_PREFIX": "crashed.",
            "INSIGHTLITE_SNAPSHOT_SECONDS": "1",
            "INSIGHTLITE_BACKUP_SECONDS": "0",
        }
        rng = random.Random(int(os.environ.get("CRASH_TEST_SEED", "7")))
        kills = restarts = 0
        for attempt in range(3):
            worker = _start_worker(crashed, recovery, env_crash)
            _wait_for_progress(worker, recovery)
            if attempt == 1:
                # The broker goes away and comes back under a running worker.
                kafka.restart()
                restarts += 1
                _wait_for_progress(worker, recovery)
            time.sleep(rng.uniform(0.5, 2.5))
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                kills += 1
            worker.communicate(timeout=60)
        assert (kills, restarts) == (3, 1)
        final = run_kafka(crashed, env_crash, "--recovery-dir", str(recovery))
        # Resumed, not restarted from the beginning (which would read EVENTS again).
        assert 0 < final["events_in"] < EVENTS
        got = _tables(crashed)
        got_topics = _topics(bootstrap, "crashed.", crashed)

    # Per output: what a run without crashes holds, and what the crashed run holds.
    print(  # shown with -s: the figures the notes quote
        orjson.dumps(
            {
                "events": [expected["events"]["n"], got["events"]["n"]],
                "archive_rows": [expected["archive_rows"], got["archive_rows"]],
                "dead_letters": [
                    sum(expected["dead_letters"].values()),
                    sum(got["dead_letters"].values()),
                ],
                "processed_events_records": [
                    sum(expected_topics["processed_ids"].values()),
                    sum(got_topics["processed_ids"].values()),
                ],
                "dead_letter_records": [
                    sum(expected_topics["dead_keys"].values()),
                    sum(got_topics["dead_keys"].values()),
                ],
                "recording_blobs": [len(expected["recording_blobs"]), len(got["recording_blobs"])],
                "recording_chunk_rows": [
                    expected["recording_chunk_rows"]["rows"],
                    got["recording_chunk_rows"]["rows"],
                ],
                "final_run_events_in": final["events_in"],
            }
        ).decode()
    )
    assert got["events"] == expected["events"]
    assert got["sessions"] == expected["sessions"]
    assert got["heat"] == expected["heat"]
    assert got["archive_ids"] == expected["archive_ids"] == truth["accepted"] - truth["duplicates"]
    assert got["archive_rows"] == got["archive_ids"]  # each accepted event once
    # Every dead letter once: the files are fixed source-offset buckets, rewritten alike.
    twice = {
        content[:160]: got["dead_letter_paths"][content]
        for content, count in got["dead_letter_contents"].items()
        if count != expected["dead_letter_contents"].get(content)
    }
    assert not twice, twice
    assert max(got["dead_letters"].values()) == 1
    rejected_chunks = truth["replay"]["chunks_in"] - truth["replay"]["stored"]
    assert sum(got["dead_letters"].values()) == truth["rejected_total"] + rejected_chunks
    # Each recording's chunks once, blobs byte for byte, summaries exact.
    assert got["recording_blobs"] == expected["recording_blobs"]
    assert len(got["recording_blobs"]) == truth["replay"]["stored"]
    assert got["recording_chunk_rows"] == expected["recording_chunk_rows"]
    assert got["recording_chunk_rows"]["rows"] == truth["replay"]["stored"]
    assert got["recordings"] == expected["recordings"]
    # The topics, reduced by their keys, hold what a run without crashes holds.
    assert set(got_topics["processed_ids"]) == set(expected_topics["processed_ids"])
    assert len(expected_topics["processed_ids"]) == truth["accepted"] - truth["duplicates"]
    assert len(got_topics["dead_keys"]) == len(expected_topics["dead_keys"])
    assert got_topics["dead_contents"] == expected_topics["dead_contents"]
    assert got_topics["heat"] == expected_topics["heat"]


def _start_worker(data_dir: Path, recovery: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    args = ["run", "--input", "kafka", "--stop-at-end", "--data-dir", str(data_dir)]
    args += ["--recovery-dir", str(recovery), "--json"]
    return start_insightlite(args, env, data_dir.parent / "worker.log")


def _wait_for_progress(worker: subprocess.Popen[bytes], recovery: Path) -> None:
    """Until the recovery store commits a new epoch: a kill then lands after real work."""
    committed = _committed_epoch(recovery)
    deadline = time.monotonic() + 120
    while (
        worker.poll() is None
        and _committed_epoch(recovery) <= committed
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
