"""Fixtures of the ``POST /replay`` tests, loaded with ``pytest_plugins``.

    pytest_plugins = ["tests.api.collector_replay_fixtures"]

- ``replay_collector`` (function): ``replay_collector(**settings)`` is
  ``make_harness`` on the session broker; the apps' producers are closed afterwards.
- ``geoip_db`` (session): the demo GeoIP database, in a folder of its own.

Helpers (``Harness``, ``make_chunk``, ``serving``, ...) are in ``collector_replay_support``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.demo_geoip import build_demo_mmdb
from devtools.local_kafka import LocalKafka
from tests.api.collector_replay_support import Harness, MakeHarness, make_harness
from tests.kafka_fixture import TopicFactory


@pytest.fixture(scope="session")
def geoip_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_mmdb(tmp_path_factory.mktemp("geo") / "country.mmdb")


@pytest.fixture
def replay_collector(kafka_broker: LocalKafka, kafka_topics: TopicFactory) -> Iterator[MakeHarness]:
    harnesses: list[Harness] = []

    def make(*, delivery_timeout_s: float = 10.0, **overrides: Any) -> Harness:
        harness = make_harness(
            kafka_broker, kafka_topics, delivery_timeout_s=delivery_timeout_s, **overrides
        )
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        harness.app.state.collector.sink.close(timeout=5)
        harness.app.state.replay.sink.close(timeout=5)
