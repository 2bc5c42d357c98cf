"""Pytest fixtures for tests against a real Kafka broker (no mocks).

    def test_roundtrip(kafka_broker, kafka_topics):
        (topic,) = kafka_topics("raw")                      # unique name, deleted afterwards
        producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})

- ``kafka_broker`` (session): one ``LocalKafka`` for the whole run, started on first use
  (about 6 s; the first run on a machine also fetches the jars with Maven). Do not stop
  or restart it: tests that break a broker start their own ``LocalKafka``.
- ``read_topic(bootstrap, topic, count)``: the first ``count`` records of a topic (all
  partitions, from the beginning, no consumer group), for assertions.
- ``kafka_topics`` (function): a ``TopicFactory``.
  ``kafka_topics("a", "b", partitions=3)`` creates topics with unique names and returns
  them once the broker lists them. ``kafka_topics.prefix()`` gives a unique topic prefix
  (for ``INSIGHTLITE_KAFKA_TOPIC_PREFIX`` and ``create_topics``);
  ``kafka_topics.wait_listed(*names)`` waits until topics made that way are listed.
  Every topic made with either is deleted when the test ends.

Tests are skipped, with the reason, when no Java 17+ runtime is installed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from devtools.local_kafka import LocalKafka, java_available

_ADMIN_TIMEOUT_S = 30.0
# librdkafka's chatter (e.g. an admin client outliving the broker at the end of the
# session) goes to pytest's log capture rather than to the terminal.
_client_log = logging.getLogger("tests.kafka.client")


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[LocalKafka]:
    """A real single-node KRaft broker on 127.0.0.1, shared by the whole test session."""
    if not java_available():
        pytest.skip("the local Kafka broker needs Java 17 or newer (apt-get install default-jre)")
    broker = LocalKafka()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def read_topic(
    bootstrap_servers: str, topic: str, count: int, *, timeout: float = 30.0
) -> list[Message]:
    """The first ``count`` records of ``topic`` (every partition, from the start).

    Fails the test when fewer arrive within ``timeout`` s. Assigns partitions directly, so
    no consumer group (nor ``__consumer_offsets``) is involved.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"read-topic-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "logger": _client_log,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        partitions = metadata.topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=count - len(records), timeout=0.5):
                if message.error() is not None:
                    raise KafkaException(message.error())
                records.append(message)
        if len(records) < count:
            pytest.fail(f"read {len(records)} of {count} records from {topic} in {timeout} s")
        return records
    finally:
        consumer.close()


def topic_size(bootstrap: str, topic: str) -> int:
    """How many records the topic holds (sum of its partitions' end offsets)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "topic-size", "logger": _client_log}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
    finally:
        consumer.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "t"


class TopicFactory:
    """Creates uniquely named topics for one test and deletes them afterwards."""

    def __init__(self, broker: LocalKafka, test_name: str) -> None:
        self.broker = broker
        self.bootstrap_servers = broker.bootstrap_servers
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "logger": _client_log,
        }
        self.admin = AdminClient(config)
        self._test_slug = _slug(test_name)
        self._topics: list[str] = []
        self._prefixes: list[str] = []

    def prefix(self) -> str:
        """A topic prefix no other test uses; topics starting with it are deleted at the end."""
        prefix = f"{self._test_slug}-{uuid.uuid4().hex[:8]}."
        self._prefixes.append(prefix)
        return prefix

    def __call__(
        self, *bases: str, partitions: int = 1, config: dict[str, str] | None = None
    ) -> list[str]:
        """Create one topic per base name (one topic when none is given); returns the names."""
        names = [
            f"{self._test_slug}-{_slug(base)}-{uuid.uuid4().hex[:8]}" for base in bases or ("t",)
        ]
        futures = self.admin.create_topics(
            [NewTopic(name, partitions, 1, config=dict(config or {})) for name in names],
            operation_timeout=_ADMIN_TIMEOUT_S,
        )
        for future in futures.values():
            future.result(timeout=_ADMIN_TIMEOUT_S)
        self._topics.extend(names)
        self.wait_listed(*names)
        return names

    def wait_listed(self, *names: str, timeout: float = _ADMIN_TIMEOUT_S) -> None:
        """Wait until the broker lists the topics: it does a moment after creating them,
        and a client asking in between is told the topic does not exist."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.admin.list_topics(timeout=timeout).topics
            if all(name in listed and listed[name].partitions for name in names):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the broker did not list {names} within {timeout} s")
            time.sleep(0.05)

    def cleanup(self) -> None:
        names = set(self._topics)
        if self._prefixes:
            existing = self.admin.list_topics(timeout=_ADMIN_TIMEOUT_S).topics
            names.update(
                name for name in existing if any(name.startswith(p) for p in self._prefixes)
            )
        if not names:
            return
        futures: dict[str, Any] = self.admin.delete_topics(
            sorted(names), operation_timeout=_ADMIN_TIMEOUT_S
        )
        for future in futures.values():
            # Already gone (the test deleted it) or the broker is down: nothing to free.
            with contextlib.suppress(KafkaException):
                future.result(timeout=_ADMIN_TIMEOUT_S)


@pytest.fixture
def kafka_topics(
    kafka_broker: LocalKafka, request: pytest.FixtureRequest
) -> Iterator[TopicFactory]:
    """Factory of unique topics on the session broker, deleted when the test ends."""
    factory = TopicFactory(kafka_broker, request.node.name)
    try:
        yield factory
    finally:
        factory.cleanup()
