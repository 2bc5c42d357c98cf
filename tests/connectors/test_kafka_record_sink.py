"""The Kafka sink of record lists, against the real broker."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka.record_sink import KafkaDeliveryError, KafkaRecordsSink
from devtools.local_kafka import LocalKafka
from flows.cluster import free_ports
from tests.kafka_fixture import TopicFactory, read_topic


def test_every_record_of_every_item_is_written_in_order(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory
) -> None:
    (topic,) = kafka_topics()
    sink = KafkaRecordsSink(topic, {"bootstrap.servers": kafka_broker.bootstrap_servers})
    part = sink.build("step", 0, 1)
    items = [[(f"k{i}".encode(), f"v{i}-{j}".encode()) for j in range(50)] for i in range(4)]
    part.write_batch(items)
    part.close()
    written = read_topic(kafka_broker.bootstrap_servers, topic, 200)
    assert [(m.key(), m.value()) for m in written] == [pair for item in items for pair in item]


def test_a_record_the_broker_refuses_fails_the_write(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory
) -> None:
    # The topic takes at most 1 KB per record; the producer allows more, so the
    # broker refuses it after the producer has sent it.
    (topic,) = kafka_topics(config={"max.message.bytes": "1024"})
    sink = KafkaRecordsSink(topic, {"bootstrap.servers": kafka_broker.bootstrap_servers})
    part = sink.build("step", 0, 1)
    with pytest.raises(KafkaDeliveryError, match=topic):
        part.write_batch([[(b"k", b"small"), (None, b"x" * 5000)]])
    part.close()


def test_settings_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match=r"bootstrap\.servers"):
        KafkaRecordsSink("t", {})


def test_records_wait_for_a_broker_that_is_away_and_none_is_lost() -> None:
    """Deliveries time out while no broker answers; the write retries until one does."""
    (port,) = free_ports(1)
    bootstrap = f"127.0.0.1:{port}"
    retries: list[int] = []
    sink = KafkaRecordsSink(
        "outputs",
        {"bootstrap.servers": bootstrap, "message.timeout.ms": 1000},
        on_retry=lambda: retries.append(1),
        sleep=lambda seconds: time.sleep(min(seconds, 0.5)),
    )
    part = sink.build("step", 0, 1)
    records = [(None, f"r{i}".encode()) for i in range(100)]
    writer = threading.Thread(target=part.write_batch, args=([records],))
    writer.start()
    time.sleep(3)
    assert writer.is_alive() and retries, "the write should be waiting and retrying"
    with LocalKafka(port=port) as kafka:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("outputs", 1, 1)])["outputs"].result(timeout=30)
        writer.join(timeout=120)
        assert not writer.is_alive()
        part.close()
        written = read_topic(kafka.bootstrap_servers, "outputs", 100)
        assert {m.value() for m in written} == {value for _, value in records}
