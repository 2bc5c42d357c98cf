"""Reading `raw_events` with Bytewax's Kafka connector, a batch at a time.

Bytewax's `KafkaSource` tracks each partition's offset in the recovery store
(it never commits offsets to the broker) and consumes in batches. This
source keeps all of that and changes only what a batch becomes: one
`RawBatch` per consumed batch, rather than one item per message, so every
stage downstream works on a batch. Consumer errors are kept on the batch
and become dead letters; nothing on the error stream is dropped unseen.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bytewax.connectors.kafka import KafkaError, KafkaSource, KafkaSourceMessage
from bytewax.inputs import StatefulSourcePartition
from confluent_kafka import KafkaError as ClientError
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from foundation.metrics import SOURCE_ERRORS
from operators.model import RawBatch

log = logging.getLogger("insightlite.kafka")

# Poll again this soon when a partition had nothing: a busy loop would burn
# the worker's core while idle.
IDLE_BACKOFF = timedelta(milliseconds=50)
# Longest time spent gathering one batch from a partition.
GATHER_SECONDS = 0.2


class KafkaUnavailable(RuntimeError):
    """The brokers did not answer in time, or refused; the message says what to fix."""


def wait_for_topic(config: dict[str, Any], topic: str, timeout: float) -> int:
    """Wait up to ``timeout`` s for the brokers of ``config`` to list ``topic``; its
    partition count. Bytewax's source would wait for them forever."""
    servers = config.get("bootstrap.servers", "")
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(topic, timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, ClientError) and error.code() not in (
            ClientError._TRANSPORT,
            ClientError._TIMED_OUT,
        ):
            raise KafkaUnavailable(
                f"Kafka at {servers} refused the connection: {error.str()}"
            ) from None
        raise KafkaUnavailable(
            f"no Kafka broker answered at {servers} within {timeout:g} s "
            "(INSIGHTLITE_KAFKA_CONNECT_TIMEOUT_SECONDS): start the broker or fix "
            "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    described = metadata.topics.get(topic)
    if described is None or described.error is not None or not described.partitions:
        raise KafkaUnavailable(
            f"Kafka at {servers} has no topic {topic!r}: create the topics with "
            "`insightlite kafka init` (or check INSIGHTLITE_KAFKA_TOPIC_PREFIX)"
        )
    return len(described.partitions)


class _RawBatchPartition(StatefulSourcePartition[RawBatch, int | None]):
    def __init__(self, inner: StatefulSourcePartition, source: str, batch_size: int) -> None:
        self._inner = inner
        self._source = source
        self._batch_size = batch_size
        self._next_awake: datetime | None = None
        # Where to resume: the offset after the last record handed on. Taken
        # here rather than from the inner partition, which moves its own to
        # after *any* item, and a client error (a broker restarting) carries
        # offset -1001: its snapshot would then be -1000, librdkafka's
        # "stored offset", and a resume would restart the partition from its
        # reset policy instead of where it stopped.
        self._position: int | None = inner.snapshot()

    def next_batch(self) -> list[RawBatch]:
        messages = self._read()
        if not messages:
            self._next_awake = datetime.now(UTC) + IDLE_BACKOFF
            return []
        self._next_awake = None
        records: list[bytes] = []
        offsets: list[int] = []
        errors: list[tuple[int, str]] = []
        for message in messages:
            if isinstance(message, KafkaError):
                offset = message.msg.offset
                if offset is None or offset < 0:
                    # Not about a record (a broker restarting, a lost
                    # connection): the client reconnects by itself.
                    SOURCE_ERRORS.labels(message.err.name()).inc()
                    log.warning("Kafka consumer error, retrying: %s", message.err)
                    continue
                errors.append((offset, str(message.err)))
            elif isinstance(message, KafkaSourceMessage):
                offset = message.offset or 0
                if message.value is None:
                    errors.append((offset, "record without a value"))
                else:
                    records.append(message.value)
                    offsets.append(offset)
        last = max(offsets[-1] if offsets else -1, errors[-1][0] if errors else -1)
        # Never backwards: an error may name an offset already passed.
        if last >= 0 and (self._position is None or last + 1 > self._position):
            self._position = last + 1
        first = offsets[0] if offsets else (errors[0][0] if errors else 0)
        return [RawBatch(self._source, first, records, offsets, errors or None)]

    def _read(self) -> list[Any]:
        """Consume until a full batch or a short time budget: one consume call
        often returns a handful of records, and a batch of a handful costs
        every step its per-batch overhead."""
        messages: list[Any] = []
        deadline = time.monotonic() + GATHER_SECONDS
        while len(messages) < self._batch_size:
            try:
                more = self._inner.next_batch()
            except StopIteration:
                if messages:
                    return messages  # the end comes with the next call
                raise
            messages += more
            if not more or time.monotonic() >= deadline:
                break
        return messages

    def next_awake(self) -> datetime | None:
        return self._next_awake

    def snapshot(self) -> int | None:
        return self._position

    def close(self) -> None:
        self._inner.close()


class RawEventsSource(KafkaSource):
    """`raw_events` (or any topic of raw records) as a stream of `RawBatch`es."""

    def build_part(  # type: ignore[override]
        self, step_id: str, for_part: str, resume_state: int | None
    ) -> _RawBatchPartition:
        inner = super().build_part(step_id, for_part, resume_state)
        partition, topic = for_part.split("-", 1)
        return _RawBatchPartition(inner, f"{topic}.p{int(partition):03d}", self._batch_size)
