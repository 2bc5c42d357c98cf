"""Producing lists of records to one Kafka topic, a list per flow item.

Bytewax's `KafkaSink` takes one `KafkaSinkMessage` per item: one dataclass
and one trip through the dataflow per record. The flow's outputs come in
chunks, so this sink takes a whole chunk's `(key, value)` pairs as one item.
Each `write_batch` ends with a flush that waits for the broker's
acknowledgements, so what an epoch wrote is durable before its snapshot
(at least once); a record the broker finally refuses fails the worker, which
resumes from its last snapshot, rather than being dropped unseen.
"""

from __future__ import annotations

from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, Producer

KeyedRecord = tuple[bytes | None, bytes]

# How long to let the producer drain when its local queue is full.
QUEUE_FULL_WAIT_S = 0.05


class KafkaDeliveryError(RuntimeError):
    """The broker refused a record after the producer's own retries."""


class _RecordsPartition(StatelessSinkPartition[list[KeyedRecord]]):
    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._failure: KafkaError | None = None

    def _on_delivery(self, error: KafkaError | None, _message: object) -> None:
        if error is not None and self._failure is None:
            self._failure = error

    def write_batch(self, items: list[list[KeyedRecord]]) -> None:
        produce = self._producer.produce
        poll = self._producer.poll
        for records in items:
            for key, value in records:
                while True:
                    try:
                        produce(self._topic, value, key, on_delivery=self._on_delivery)
                        break
                    except BufferError:
                        poll(QUEUE_FULL_WAIT_S)
            poll(0)
        self._producer.flush()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise KafkaDeliveryError(f"writing to {self._topic} failed: {failure}")

    def close(self) -> None:
        self._producer.flush()


class KafkaRecordsSink(DynamicSink[list[KeyedRecord]]):
    """Every worker produces its items' records to `topic` with its own producer."""

    def __init__(self, topic: str, config: dict[str, Any]) -> None:
        if not config.get("bootstrap.servers"):
            raise ValueError("a Kafka sink needs bootstrap.servers")
        self._topic = topic
        self._config = dict(config)

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _RecordsPartition:
        config = {
            "client.id": f"insightlite-{step_id}-{worker_index}",
            **self._config,
            # Reports for failed records only: a Python callback per delivered
            # record would cost more than producing it.
            "delivery.report.only.error": True,
        }
        return _RecordsPartition(Producer(config), self._topic)
