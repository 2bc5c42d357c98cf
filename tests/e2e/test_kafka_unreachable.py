"""`run --input kafka` without a usable broker: one clear line, a bounded wait, exit 1."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from connectors.kafka.config import LIBRDKAFKA_LOGGER, quiet_client_config
from devtools.local_kafka import free_port
from foundation.settings import load_settings
from tests.e2e.cli import ROOT


def _run_kafka_input(
    tmp_path: Path, bootstrap: str, **env: str
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "insightlite.cli",
                "run",
                "--input",
                "kafka",
                "--stop-at-end",
                "--bootstrap-servers",
                bootstrap,
                "--data-dir",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            env={**os.environ, "INSIGHTLITE_KAFKA_CONNECT_TIMEOUT_SECONDS": "2", **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the run kept waiting for an unreachable broker: {exc}")


def test_no_broker_is_one_clear_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    result = _run_kafka_input(tmp_path, bootstrap)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"insightlite: no Kafka broker answered at {bootstrap} within 2 s "
        "(INSIGHTLITE_KAFKA_CONNECT_TIMEOUT_SECONDS): start the broker or fix "
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS"
    ]


def test_a_missing_topic_is_named(kafka_broker: Any, kafka_topics: Any, tmp_path: Path) -> None:
    prefix = kafka_topics.prefix()
    result = _run_kafka_input(
        tmp_path, kafka_broker.bootstrap_servers, INSIGHTLITE_KAFKA_TOPIC_PREFIX=prefix
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"insightlite: Kafka at {kafka_broker.bootstrap_servers} has no topic "
        f"'{prefix}raw_events': create the topics with `insightlite kafka init` "
        "(or check INSIGHTLITE_KAFKA_TOPIC_PREFIX)"
    ]


def test_client_log_lines_become_one_warning(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    config = quiet_client_config(settings, client_id="unreachable-test")
    consumer = Consumer({**config, "group.id": "unreachable-test", "reconnect.backoff.ms": 10})
    consumer.assign([TopicPartition("raw_events", 0, 0)])
    caplog.set_level(logging.DEBUG, logger=LIBRDKAFKA_LOGGER)
    try:
        deadline = time.monotonic() + 60
        # Until librdkafka has reported several failed connection attempts.
        while time.monotonic() < deadline:
            consumer.consume(1, 0.2)
            if sum(r.name == LIBRDKAFKA_LOGGER for r in caplog.records) >= 5:
                break
    finally:
        consumer.close()
    client_records = [r for r in caplog.records if r.name == LIBRDKAFKA_LOGGER]
    assert len(client_records) >= 5
    warnings = [r for r in client_records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].kafka_client == "unreachable-test"  # type: ignore[attr-defined]
    assert "FAIL" not in capfd.readouterr().err  # nothing written by librdkafka itself
