"""Where the live stream's events come from: one source per API process, shared by
every connection, run by :class:`api.query.live_hub.LiveHub` while anyone watches;
what every source offers (:class:`LiveSource`), and the Kafka one.

:class:`KafkaLiveSource` (when ``INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS`` is set) reads
``processed_events`` from its end: every partition is assigned at its high watermark,
nothing is ever committed, so no consumer group holds state at the broker. A broker
that is down, or a topic not created yet, is retried with a growing pause (0.5 s to
30 s); the API keeps serving meanwhile. Without Kafka the stream tails ClickHouse
(:mod:`api.query.live_tail`).

ClickHouse and librdkafka calls block, so they run in worker threads; a source task is
cancelled to stop it, after the call in progress returns (at most a poll's wait).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

import anyio.to_thread
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from api.query.live_events import LiveEvent, Unreadable
from api.query.live_events import event_from_record as decode_record
from connectors.kafka.config import quiet_client_config
from foundation.settings import Settings

log = logging.getLogger("insightlite.api.live")

Publish = Callable[[list[LiveEvent]], None]
WatchedSites = Callable[[], frozenset[str]]

FIRST_RETRY_SECONDS: Final = 0.5
LAST_RETRY_SECONDS: Final = 30.0
KAFKA_BATCH: Final = 500
KAFKA_WAIT_SECONDS: Final = 0.25
KAFKA_METADATA_TIMEOUT_SECONDS: Final = 5.0
# New partitions of the topic are picked up this often.
KAFKA_REFRESH_SECONDS: Final = 30.0
# No group is joined (nothing is subscribed or committed); librdkafka wants a name.
KAFKA_GROUP: Final = "insightlite-api-live"


class SourceUnavailable(Exception):
    """The source cannot read now (broker or ClickHouse down, topic missing); retried."""


class SourceObserver(Protocol):
    """What a source reports: records it could not read, and whether it reads."""

    def unreadable(self, reason: str) -> None: ...

    def reading(self, up: bool) -> None: ...


class LiveSource(Protocol):
    name: str

    async def run(self, publish: Publish, ready: asyncio.Event) -> None:
        """Read until cancelled, handing events of the watched sites to ``publish``;
        set ``ready`` once reading (every event written after that is delivered)."""
        ...


class Backoff:
    """Pauses between attempts: 0.5 s, doubling up to 30 s, back to 0.5 s on success."""

    def __init__(self) -> None:
        self.delay = FIRST_RETRY_SECONDS

    def reset(self) -> None:
        self.delay = FIRST_RETRY_SECONDS

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, LAST_RETRY_SECONDS)


def kafka_consumer_config(settings: Settings) -> dict[str, Any]:
    """An assign-only consumer that commits nothing and starts from the end."""
    config = quiet_client_config(settings, client_id="insightlite-api-live")
    config.update(
        {
            "group.id": KAFKA_GROUP,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": False,
            "auto.offset.reset": "latest",
            # The product promises an event on the dashboard within 2 s of its write.
            "fetch.wait.max.ms": 100,
        }
    )
    return config


class KafkaLiveSource:
    """``processed_events`` from its end (see the module doc)."""

    name = "kafka"

    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        *,
        watched: WatchedSites,
        observer: SourceObserver,
    ) -> None:
        self._config = config
        self._topic = topic
        self._watched = watched
        self._observer = observer

    async def run(self, publish: Publish, ready: asyncio.Event) -> None:
        backoff = Backoff()
        warned = False
        while True:
            consumer: Consumer | None = None
            try:
                consumer = await anyio.to_thread.run_sync(self._open)
                log.info("live stream reads %s", self._topic)
                self._observer.reading(True)
                ready.set()
                backoff.reset()
                warned = False
                await self._read(consumer, publish)
            except SourceUnavailable as exc:
                # Once per outage at WARNING, then quietly until it reads again.
                log.log(logging.DEBUG if warned else logging.WARNING, "live stream: %s", exc)
                warned = True
            except Exception:
                log.exception("live stream: the Kafka source failed; starting it again")
            finally:
                self._observer.reading(False)
                if consumer is not None:
                    await anyio.to_thread.run_sync(consumer.close)
            await backoff.wait()

    def _open(self) -> Consumer:
        consumer = Consumer(self._config)
        try:
            consumer.assign(self._partitions_at_end(consumer, set()))
        except BaseException:
            consumer.close()
            raise
        return consumer

    def _partitions_at_end(self, consumer: Consumer, known: set[int]) -> list[TopicPartition]:
        """The topic's partitions not in ``known``, each at its current end."""
        try:
            metadata = consumer.list_topics(self._topic, timeout=KAFKA_METADATA_TIMEOUT_SECONDS)
            topic = metadata.topics.get(self._topic)
            if topic is None or topic.error is not None or not topic.partitions:
                raise SourceUnavailable(f"topic {self._topic} not found yet")
            assigned = []
            for number in sorted(set(topic.partitions) - known):
                partition = TopicPartition(self._topic, number)
                _, end = consumer.get_watermark_offsets(
                    partition, timeout=KAFKA_METADATA_TIMEOUT_SECONDS
                )
                assigned.append(TopicPartition(self._topic, number, end))
            return assigned
        except KafkaException as exc:
            raise SourceUnavailable(f"Kafka not reachable ({_reason(exc)})") from None

    async def _read(self, consumer: Consumer, publish: Publish) -> None:
        known = {partition.partition for partition in consumer.assignment()}
        refresh_at = time.monotonic() + KAFKA_REFRESH_SECONDS
        while True:
            events = await anyio.to_thread.run_sync(self._consume, consumer)
            if events:
                publish(events)
            if time.monotonic() >= refresh_at:
                added = await anyio.to_thread.run_sync(self._partitions_at_end, consumer, known)
                if added:
                    consumer.incremental_assign(added)
                    known.update(partition.partition for partition in added)
                refresh_at = time.monotonic() + KAFKA_REFRESH_SECONDS

    def _consume(self, consumer: Consumer) -> list[LiveEvent]:
        messages: list[Message] = consumer.consume(KAFKA_BATCH, KAFKA_WAIT_SECONDS)
        watched = self._watched()
        events: list[LiveEvent] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise SourceUnavailable(f"Kafka consumer failed ({error.str()})")
                # Transport errors: librdkafka reconnects by itself.
                log.debug("live stream: Kafka reports %s", error.str())
                continue
            decoded = decode_record(message.value())
            if isinstance(decoded, Unreadable):
                self._observer.unreadable(decoded.reason)
            elif decoded.site_id in watched:
                events.append(decoded)
        return events


def _reason(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return str(error.str()) if isinstance(error, KafkaError) else str(exc)
