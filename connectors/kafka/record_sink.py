"""Producing lists of records to one Kafka topic, a list per flow item.

Bytewax's `KafkaSink` takes one `KafkaSinkMessage` per item (one dataclass and
one trip through the dataflow per record) and ignores delivery reports, so a
record that times out while the broker is away is lost unseen. The flow's
outputs come in chunks, so this sink takes a whole chunk's `(key, value)`
pairs as one item, and it checks every delivery: each `write_batch` flushes
and waits for the broker's acknowledgements, re-producing what failed for a
transient reason (the broker restarting or unreachable) with backoff until it
is written, so what an epoch wrote is durable before its snapshot (at least
once). A record the broker refuses for good (too large, not authorised) fails
the worker, which resumes from its last snapshot.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, Message, Producer

log = logging.getLogger("insightlite.kafka")

KeyedRecord = tuple[bytes | None, bytes]

# How long to let the producer drain when its local queue is full.
QUEUE_FULL_WAIT_S = 0.05
FIRST_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 30.0
# Failures that pass once the broker is back; librdkafka's own "retriable" flag
# does not cover the local timeouts a broker restart causes.
TRANSIENT_CODES = frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._UNKNOWN_PARTITION,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    }
)


class KafkaDeliveryError(RuntimeError):
    """The broker refused a record for a reason that retrying cannot fix."""


def is_transient(error: KafkaError) -> bool:
    return not error.fatal() and (error.retriable() or error.code() in TRANSIENT_CODES)


class _RecordsPartition(StatelessSinkPartition[list[KeyedRecord]]):
    def __init__(
        self,
        new_producer: Callable[[], Producer],
        topic: str,
        on_retry: Callable[[], None] | None,
        sleep: Callable[[float], None],
    ) -> None:
        self._new_producer = new_producer
        self._producer = new_producer()
        self._topic = topic
        self._on_retry = on_retry
        self._sleep = sleep
        self._failed: list[tuple[KafkaError, KeyedRecord]] = []

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failed.append((error, (message.key(), message.value() or b"")))

    def _produce(self, records: Sequence[KeyedRecord]) -> None:
        produce = self._producer.produce
        poll = self._producer.poll
        for key, value in records:
            while True:
                try:
                    produce(self._topic, value, key, on_delivery=self._on_delivery)
                    break
                except BufferError:
                    poll(QUEUE_FULL_WAIT_S)
        poll(0)

    def write_batch(self, items: list[list[KeyedRecord]]) -> None:
        for records in items:
            self._produce(records)
        delay = FIRST_RETRY_DELAY_S
        attempt = 0
        while True:
            self._producer.flush()
            if not self._failed:
                return
            failed, self._failed = self._failed, []
            errors = {str(error) for error, _ in failed}
            if not all(is_transient(error) for error, _ in failed):
                raise KafkaDeliveryError(f"writing to {self._topic} failed: {sorted(errors)}")
            attempt += 1
            if self._on_retry is not None:
                self._on_retry()
            log.warning(
                "%d records to %s failed (attempt %d), retrying in %.1fs: %s",
                len(failed),
                self._topic,
                attempt,
                delay,
                sorted(errors),
            )
            self._sleep(delay * (0.5 + random.random()))
            delay = min(MAX_RETRY_DELAY_S, delay * 2)
            if any(error.fatal() for error, _ in failed):
                self._producer = self._new_producer()
            self._produce([record for _, record in failed])

    def close(self) -> None:
        self._producer.flush()


class KafkaRecordsSink(DynamicSink[list[KeyedRecord]]):
    """Every worker produces its items' records to `topic` with its own producer."""

    def __init__(
        self,
        topic: str,
        config: dict[str, Any],
        *,
        on_retry: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not config.get("bootstrap.servers"):
            raise ValueError("a Kafka sink needs bootstrap.servers")
        self._topic = topic
        self._config = dict(config)
        self._on_retry = on_retry
        self._sleep = sleep

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _RecordsPartition:
        config = {
            "client.id": f"insightlite-{step_id}-{worker_index}",
            **self._config,
            # Reports for failed records only: a Python callback per delivered
            # record would cost more than producing it.
            "delivery.report.only.error": True,
        }
        return _RecordsPartition(lambda: Producer(config), self._topic, self._on_retry, self._sleep)
