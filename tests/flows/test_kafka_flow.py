"""The flow on a real Kafka broker: `insightlite run --input kafka`, end to end."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow.dataset as ds
import pytest
import xxhash
from confluent_kafka import Producer

from connectors.kafka.topics import create_topics, topic_name
from devtools.generator import (
    PLANTED_CARDS,
    PLANTED_EMAILS,
    PLANTED_IPS,
    PLANTED_PHONES,
    PLANTED_SSNS,
    GeneratorConfig,
    generate_records,
)
from foundation.settings import Settings, load_settings
from tests.dates import RECENT_NOON_MS
from tests.e2e.cli import insightlite, query_json
from tests.kafka_fixture import read_topic
from tests.privacy_scan import ip_leaks, planted_leaks

NOW_MS = RECENT_NOON_MS
IP_FIELD = re.compile(r'"ip"\s*:\s*"([^"]+)"')


def produce_raw(bootstrap: str, topic: str, records: list[bytes]) -> None:
    """Records keyed by session id as the collector keys them; a record without one
    (malformed on purpose) by its own hash, so that the same records land on the same
    partitions and offsets in every topic they are produced to."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "enable.idempotence": True,
        }
    )
    for record in records:
        try:
            session_id = orjson.loads(record).get("session_id")
        except (orjson.JSONDecodeError, AttributeError):
            session_id = None
        key = session_id.encode() if isinstance(session_id, str) else xxhash.xxh64_digest(record)
        for _ in range(120):  # a full local queue drains as deliveries complete
            try:
                producer.produce(topic, record, key=key)
                break
            except BufferError:
                producer.poll(0.5)
        else:
            pytest.fail(f"the broker at {bootstrap} took no records for 60 s")
        producer.poll(0)
    assert producer.flush(30) == 0


def raw_topic_with(
    bootstrap: str, prefix: str, records: list[bytes], *, partitions: int = 3
) -> Settings:
    """Create a run's topics under ``prefix`` and put ``records`` on its raw_events topic."""
    settings = load_settings(
        kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix, kafka_partitions=partitions
    )
    create_topics(settings)
    produce_raw(bootstrap, topic_name(settings, "raw_events"), records)
    return settings


def run_kafka(data_dir: Path, env: dict[str, str], *extra: str) -> dict[str, Any]:
    result = insightlite(
        "run",
        "--input",
        "kafka",
        "--stop-at-end",
        "--data-dir",
        str(data_dir),
        "--json",
        *extra,
        env=env,
    )
    summary: dict[str, Any] = orjson.loads(result.stdout.strip().splitlines()[-1])
    return summary


def test_flow_reads_raw_events_and_writes_every_output(
    kafka_broker: Any, kafka_topics: Any, tmp_path: Path
) -> None:
    prefix = kafka_topics.prefix()
    config = GeneratorConfig(pii_share=0.3)
    records = list(generate_records(8_000, seed=4, config=config, now_ms=NOW_MS))
    settings = raw_topic_with(kafka_broker.bootstrap_servers, prefix, records)
    env = {
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
    }
    summary = run_kafka(tmp_path / "d", env)
    assert summary["events_in"] == 8_000
    unique = summary["accepted"] - summary["duplicates"]
    rows = query_json(tmp_path / "d", "SELECT count() AS n FROM events FINAL")[0]["n"]
    assert rows == unique
    sessions = query_json(tmp_path / "d", "SELECT sum(event_count) AS n FROM sessions FINAL")
    assert sessions[0]["n"] == unique
    archive = ds.dataset(tmp_path / "d" / "archive" / "events", partitioning="hive").to_table()
    assert archive.num_rows == unique
    # Kafka outputs: every rejected event on dead_letter, every kept event on
    # processed_events, grid increments on heatmap_updates.
    bootstrap = kafka_broker.bootstrap_servers
    dead = read_topic(bootstrap, topic_name(settings, "dead_letter"), summary["rejected_total"])
    assert all(orjson.loads(m.value())["reasons"] for m in dead)
    processed = read_topic(bootstrap, topic_name(settings, "processed_events"), unique)
    assert len({orjson.loads(m.value())["event_id"] for m in processed}) == unique
    updates = read_topic(bootstrap, topic_name(settings, "heatmap_updates"), 10)
    assert all("interaction_count" in orjson.loads(m.value()) for m in updates)
    # Each increment names its window write, so a replayed one is trivial to drop.
    assert all(orjson.loads(m.value())["update_id"].startswith("heat-") for m in updates)
    # The Kafka outputs are outputs too: no planted personal data, no client IP.
    raw_ips = {ip for r in records for ip in IP_FIELD.findall(r.decode("utf-8", "replace"))}
    planted = [*PLANTED_EMAILS, *PLANTED_PHONES, *PLANTED_CARDS, *PLANTED_SSNS, *PLANTED_IPS]
    for name, messages in (
        ("dead_letter", dead),
        ("processed_events", processed),
        ("heatmap_updates", updates),
    ):
        text = b"\n".join(m.value() for m in messages).decode()
        assert not planted_leaks(text, planted), name
        assert not ip_leaks(text, raw_ips), name

    # Two worker processes over the same topic give the same tables.
    two = run_kafka(tmp_path / "two", env, "--processes", "2")
    assert two["events_in"] == 8_000 and two["accepted"] == summary["accepted"]
    assert query_json(tmp_path / "two", "SELECT count() AS n FROM events FINAL")[0]["n"] == unique
