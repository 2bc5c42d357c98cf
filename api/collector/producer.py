"""Writing a request's records to Kafka from async code, and knowing that they landed.

librdkafka reports each record's fate through a delivery callback, served by whoever
calls ``poll``. A dedicated poll thread serves them; the callbacks of one request count
down a shared counter, and the last one resolves the request's asyncio future on the
event loop. So the event loop never blocks on Kafka, and a request is answered 202
only after the broker acknowledged every record (``acks=all``, idempotent producer):
nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from connectors.kafka.config import client_config
from connectors.kafka.topics import replay_max_record_bytes
from foundation.settings import Settings

log = logging.getLogger("insightlite.collector.kafka")
_librdkafka_log = logging.getLogger("insightlite.collector.librdkafka")

Record = tuple[bytes | None, bytes]

# librdkafka gives up on a record after this long and reports it failed; the request
# then gets a 503 and the client retries it.
DEFAULT_DELIVERY_TIMEOUT_S = 10.0
# Beyond librdkafka's own timeout, how long to wait for its report before answering 503.
_REPORT_MARGIN_S = 2.0
_POLL_INTERVAL_S = 0.05


class ProduceError(Exception):
    """Kafka did not take (all of) a request's records; worth retrying later."""

    def __init__(self, code: str, reason: str, failed: int) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.failed = failed


class RecordTooLarge(Exception):
    """One record exceeds the producer's ``message.max.bytes``: the client must split it."""

    def __init__(self, index: int, limit: int) -> None:
        super().__init__(f"event {index} is larger than the {limit} bytes a Kafka record may hold")
        self.index = index
        self.limit = limit


def producer_config(
    settings: Settings, *, delivery_timeout_s: float = DEFAULT_DELIVERY_TIMEOUT_S
) -> dict[str, Any]:
    """The collector's producer settings: durable (acks=all, idempotent) and batched."""
    return {
        **client_config(settings, client_id="insightlite-collector"),
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": settings.collector_compression,
        # A few ms of batching turns many small requests into few large produce calls;
        # the request waits for its acknowledgement anyway.
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "message.timeout.ms": max(1, round(delivery_timeout_s * 1000)),
        # Bound the local queue (default 1 GiB): when Kafka is slow, requests get 503s
        # instead of the process growing without limit.
        "queue.buffering.max.kbytes": 128 * 1024,
        "queue.buffering.max.messages": 500_000,
        "socket.keepalive.enable": True,
    }


def replay_producer_config(
    settings: Settings, *, delivery_timeout_s: float = DEFAULT_DELIVERY_TIMEOUT_S
) -> dict[str, Any]:
    """The replay producer's settings: the collector's, with records as large as a chunk.

    A producer of its own: ``message.max.bytes`` is per producer, and raising it for
    ``raw_events`` would let a single event grow far past what the pipeline expects.
    """
    return {
        **producer_config(settings, delivery_timeout_s=delivery_timeout_s),
        "client.id": "insightlite-collector-replay",
        "message.max.bytes": replay_max_record_bytes(settings),
    }


class _Pending:
    """The outstanding deliveries of one request; counts down from the poll thread."""

    __slots__ = ("error", "failed", "future", "lock", "loop", "remaining")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[KafkaError | None], n: int
    ) -> None:
        self.loop = loop
        self.future = future
        self.remaining = n
        self.failed = 0
        self.error: KafkaError | None = None
        self.lock = threading.Lock()

    def on_delivery(self, error: KafkaError | None, _message: object) -> None:
        with self.lock:
            if error is not None:
                self.failed += 1
                if self.error is None:
                    self.error = error
            self.remaining -= 1
            done = self.remaining == 0
        if done:
            self._resolve()

    def abandon(self, never_produced: int) -> None:
        """Records that were never handed to librdkafka will never call back."""
        with self.lock:
            self.remaining -= never_produced
            done = self.remaining == 0
        if done:
            self._resolve()

    def _resolve(self) -> None:
        # The loop may be gone at shutdown: nobody waits for the answer then.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_set_result, self.future, self.error)


def _set_result(future: asyncio.Future[KafkaError | None], error: KafkaError | None) -> None:
    if not future.done():
        future.set_result(error)


class _Handle:
    """One librdkafka producer and the thread that serves its callbacks."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.fatal: KafkaError | None = None
        # librdkafka's own log goes through Python logging (levels, JSON format) rather
        # than straight to stderr.
        self.producer = Producer({**config, "error_cb": self._on_error, "logger": _librdkafka_log})
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._poll_loop, name="kafka-producer-poll", daemon=True
        )
        self._thread.start()

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self.fatal = error
            log.error("Kafka producer failed fatally, it will be replaced: %s", error.str())
        elif error.code() not in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            log.warning("Kafka producer error: %s", error.str())

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(_POLL_INTERVAL_S)

    def close(self, timeout: float) -> int:
        """Stop the poll thread, deliver what is queued; returns the records left over."""
        self._stop.set()
        self._thread.join(timeout=5)
        return int(self.producer.flush(timeout))


class KafkaRecordProducer:
    """Sends a request's records to one topic and awaits their acknowledgement.

    ``start()`` is implied by the first use, so the producer is created in the process
    (and after the fork) that uses it.
    """

    def __init__(
        self,
        config: dict[str, Any],
        topic: str,
        *,
        delivery_timeout_s: float = DEFAULT_DELIVERY_TIMEOUT_S,
        ready_cache_s: float = 2.0,
        ready_timeout_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = dict(config)
        self.topic = topic
        self.delivery_timeout_s = delivery_timeout_s
        self.ready_cache_s = ready_cache_s
        self.ready_timeout_s = ready_timeout_s
        self.max_record_bytes = int(self.config.get("message.max.bytes", 1_000_000))
        self._monotonic = monotonic
        self._handle: _Handle | None = None
        self._handle_lock = threading.Lock()
        self._ready: tuple[float, bool, str] | None = None
        self._ready_lock: asyncio.Lock | None = None

    def start(self) -> None:
        self._current()

    def _current(self) -> _Handle:
        with self._handle_lock:
            handle = self._handle
            if handle is not None and handle.fatal is not None:
                # A fatal error (e.g. the idempotent producer lost its sequence) makes the
                # handle unusable for good: replace it; the old one is closed aside.
                threading.Thread(target=handle.close, args=(0,), daemon=True).start()
                handle = None
            if handle is None:
                handle = _Handle(self.config)
                self._handle = handle
            return handle

    async def send(self, records: Sequence[Record]) -> None:
        """Produce the records; return once Kafka acknowledged all of them.

        Raises RecordTooLarge (the client's fault) or ProduceError (Kafka's; retry later).
        """
        if not records:
            return
        handle = self._current()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[KafkaError | None] = loop.create_future()
        pending = _Pending(loop, future, len(records))
        deadline = self._monotonic() + self.delivery_timeout_s
        for index, (key, value) in enumerate(records):
            while True:
                try:
                    handle.producer.produce(self.topic, value, key, on_delivery=pending.on_delivery)
                    break
                except BufferError:
                    # The local queue is full: Kafka is slower than the traffic. Wait for
                    # room, up to the delivery timeout, without blocking the loop.
                    if self._monotonic() >= deadline:
                        pending.abandon(len(records) - index)
                        raise ProduceError(
                            "queue_full",
                            "the Kafka producer's queue stayed full",
                            len(records) - index,
                        ) from None
                    await asyncio.sleep(0.005)
                except KafkaException as exc:
                    pending.abandon(len(records) - index)
                    error = exc.args[0] if exc.args else None
                    if isinstance(error, KafkaError):
                        if error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                            raise RecordTooLarge(index, self.max_record_bytes) from None
                        raise ProduceError(
                            error.name().lower().lstrip("_"), error.str(), len(records) - index
                        ) from None
                    raise ProduceError("produce", str(exc), len(records) - index) from None
        wait = max(0.0, deadline - self._monotonic()) + _REPORT_MARGIN_S
        try:
            error = await asyncio.wait_for(future, timeout=wait)
        except TimeoutError:
            raise ProduceError(
                "no_report",
                f"Kafka did not acknowledge the records within {self.delivery_timeout_s:g} s",
                len(records),
            ) from None
        if error is not None:
            raise ProduceError(
                error.name().lower().lstrip("_"),
                f"Kafka did not take {pending.failed} of {len(records)} records: {error.str()}",
                pending.failed,
            )

    async def ready(self) -> tuple[bool, str]:
        """(True, "ok") when the topic's metadata came from a broker recently, else why not.

        The answer is cached for ``ready_cache_s``: a readiness probe must not load Kafka.
        """
        now = self._monotonic()
        cached = self._ready
        if cached is not None and now - cached[0] < self.ready_cache_s:
            return cached[1], cached[2]
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            cached = self._ready
            if cached is not None and self._monotonic() - cached[0] < self.ready_cache_s:
                return cached[1], cached[2]
            ok, reason = await asyncio.to_thread(self._check_metadata)
            self._ready = (self._monotonic(), ok, reason)
            return ok, reason

    def _check_metadata(self) -> tuple[bool, str]:
        handle = self._current()
        try:
            metadata = handle.producer.list_topics(self.topic, timeout=self.ready_timeout_s)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else exc
            reason = error.str() if isinstance(error, KafkaError) else str(error)
            return False, f"Kafka unreachable: {reason}"
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            detail = "" if topic is None or topic.error is None else f": {topic.error.str()}"
            return False, f"topic {self.topic} is not available{detail}"
        return True, "ok"

    def close(self, timeout: float = 10.0) -> int:
        """Deliver what is still queued (up to ``timeout`` s); returns the records not sent."""
        with self._handle_lock:
            handle, self._handle = self._handle, None
        if handle is None:
            return 0
        left = handle.close(timeout)
        if left:
            log.error("%d records were still queued for Kafka at shutdown", left)
        return left
