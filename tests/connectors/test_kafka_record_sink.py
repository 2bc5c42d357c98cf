"""The Kafka sink of record lists, against the real broker."""

from __future__ import annotations

import pytest

from connectors.kafka.record_sink import KafkaDeliveryError, KafkaRecordsSink
from insightlite.kafka_local import LocalKafka
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
