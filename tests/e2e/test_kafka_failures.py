"""Infrastructure failures during a run: the broker restarts; nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson

from connectors.kafka.topics import create_topics, topic_name
from devtools.generator import generate_records
from devtools.local_kafka import LocalKafka
from foundation.settings import load_settings
from tests.dates import RECENT_NOON_MS
from tests.e2e.cli import ROOT, query_json
from tests.flows.test_kafka_flow import produce_raw
from tests.kafka_fixture import read_topic, topic_size

EVENTS = 60_000


def test_broker_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    with LocalKafka() as kafka:
        settings = load_settings(
            kafka_bootstrap_servers=kafka.bootstrap_servers, kafka_partitions=3
        )
        create_topics(settings)
        records = list(generate_records(EVENTS, seed=31, now_ms=RECENT_NOON_MS))
        produce_raw(kafka.bootstrap_servers, topic_name(settings, "raw_events"), records)
        env = {
            **os.environ,
            "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "INSIGHTLITE_KAFKA_BATCH_SIZE": "500",
            "INSIGHTLITE_LOG_LEVEL": "WARNING",
        }
        flow = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "insightlite.cli",
                "run",
                "--input",
                "kafka",
                "--stop-at-end",
                "--data-dir",
                str(tmp_path / "d"),
                "--json",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)
        assert flow.poll() is None, "the run finished before the broker could be restarted"
        kafka.restart()
        out, err = flow.communicate(timeout=300)
        assert flow.returncode == 0, err[-3000:]
        summary = orjson.loads(out.strip().splitlines()[-1])
        assert summary["events_in"] == EVENTS
        unique = summary["accepted"] - summary["duplicates"]
        # The Kafka outputs lose nothing either (at least once: duplicates allowed).
        bootstrap = kafka.bootstrap_servers
        processed_topic = topic_name(settings, "processed_events")
        processed = read_topic(bootstrap, processed_topic, topic_size(bootstrap, processed_topic))
        assert len({orjson.loads(m.value())["event_id"] for m in processed}) == unique
        dead = read_topic(bootstrap, topic_name(settings, "dead_letter"), summary["rejected_total"])
        assert len(dead) >= summary["rejected_total"]
    assert query_json(tmp_path / "d", "SELECT count() AS n FROM events FINAL")[0]["n"] == unique
