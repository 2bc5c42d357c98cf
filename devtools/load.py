"""Load sources (used by `insightlite generate --to-collector/--to-kafka`): post the
synthetic traffic to a collector, or produce it straight to Kafka's ``raw_events``.

Both make the traffic live: each record's times are moved so that it is received now,
keeping the event's own offsets (clock skew, late and future events stay what they
were). The collector source groups events per session into requests as a tracker
would (at most ``--batch``, never more than 500), sends the session's User-Agent, and
the record's IP as X-Forwarded-For only with ``--forwarded-for``. Records the
collector's envelope check would refuse (not JSON, no site_id) are counted and not
sent; ``--to-kafka`` writes every record as it is, malformed ones included.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from foundation.settings import Settings

MAX_COLLECTOR_EVENTS = 500
DEFAULT_BATCH = 20
DEFAULT_CONCURRENCY = 32
# Sessions whose requests are being assembled at once; the oldest is sent when a new
# session would exceed it, so memory stays bounded whatever the interleaving.
_OPEN_GROUPS = 64
_PROGRESS_EVERY_S = 5.0
# Used when a record carries no User-Agent: a current desktop Chrome.
FALLBACK_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_COLLECTOR_FIELDS = ("ip", "ua", "received_at")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# --- making the traffic live ---------------------------------------------------------


def _shift_times(event: dict[str, Any], received_at: int, now_ms: int) -> None:
    """Move the event as if it were received now, keeping ts and sent_at's offsets."""
    delta = now_ms - received_at
    for name in ("ts", "sent_at"):
        value = event.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            event[name] = max(0, value + delta)


@dataclass
class CollectorBatch:
    """One request's worth of one session's events, with the browser's UA and IP."""

    session_id: str
    ua: str
    ip: str
    received_at: int
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Unsendable:
    """Records the collector's envelope check would refuse, so they are not sent."""

    count: int = 0


def collector_batches(
    records: Iterable[bytes], max_events: int, unsendable: Unsendable
) -> Iterator[CollectorBatch]:
    """Group raw records per session (and per tracker batch) into requests."""
    max_events = min(max_events, MAX_COLLECTOR_EVENTS)
    open_groups: OrderedDict[tuple[str, str, str, int], CollectorBatch] = OrderedDict()
    for data in records:
        try:
            record = orjson.loads(data)
        except orjson.JSONDecodeError:
            unsendable.count += 1
            continue
        if not isinstance(record, dict) or not isinstance(record.get("site_id"), str):
            unsendable.count += 1
            continue
        ua = record.pop("ua", "")
        ip = record.pop("ip", "")
        received_at = record.pop("received_at", 0)
        session_id = record.get("session_id")
        session = session_id if isinstance(session_id, str) else ""
        ua = ua if isinstance(ua, str) else ""
        ip = ip if isinstance(ip, str) else ""
        received_at = received_at if isinstance(received_at, int) else 0
        key = (session, ua, ip, received_at)
        group = open_groups.get(key)
        if group is None:
            group = CollectorBatch(session, ua, ip, received_at)
            open_groups[key] = group
            if len(open_groups) > _OPEN_GROUPS:
                yield open_groups.popitem(last=False)[1]
        group.events.append(record)
        if len(group.events) >= max_events:
            del open_groups[key]
            yield group
    yield from open_groups.values()


# --- the collector source ------------------------------------------------------------


@dataclass
class CollectorLoadSummary:
    requests: int = 0
    events_sent: int = 0
    events_accepted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    unsendable: int = 0

    def count_class(self, first_digit: int) -> int:
        return sum(n for status, n in self.statuses.items() if status // 100 == first_digit)

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
        return ordered[index] * 1000

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.statuses.get(202, 0) == self.requests

    def as_dict(self) -> dict[str, Any]:
        elapsed = max(self.elapsed_s, 1e-9)
        return {
            "requests": self.requests,
            "events_sent": self.events_sent,
            "events_accepted": self.events_accepted,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "4xx": self.count_class(4),
            "5xx": self.count_class(5),
            "connection_errors": self.connection_errors,
            "p50_ms": round(self.percentile_ms(0.50), 2),
            "p99_ms": round(self.percentile_ms(0.99), 2),
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.events_accepted / elapsed, 1),
            "requests_per_s": round(self.requests / elapsed, 1),
            "unsendable": self.unsendable,
        }

    def report(self) -> str:
        d = self.as_dict()
        lines = [
            f"sent {d['events_sent']:,} events in {d['requests']:,} requests over "
            f"{d['elapsed_s']:.1f} s ({d['requests_per_s']:,.0f} requests/s)",
            f"accepted {d['events_accepted']:,} events ({d['events_per_s']:,.0f} events/s); "
            f"4xx: {d['4xx']:,}, 5xx: {d['5xx']:,}, connection errors: "
            f"{d['connection_errors']:,}",
            f"latency p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
        ]
        if self.statuses:
            lines.append("statuses: " + ", ".join(f"{k} × {v:,}" for k, v in d["statuses"].items()))
        if self.unsendable:
            lines.append(
                f"not sent: {self.unsendable:,} malformed records the collector would refuse "
                "(not JSON or no site_id)"
            )
        return "\n".join(lines)


async def post_to_collector(
    batches: Iterable[CollectorBatch],
    *,
    url: str,
    rate: float,
    duration_s: float | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    forwarded_for: bool = False,
    gzip_bodies: bool = False,
    now_ms: Callable[[], int] = wall_clock_ms,
    progress: Callable[[CollectorLoadSummary], None] | None = None,
) -> CollectorLoadSummary:
    """POST the batches at ``rate`` events/s with at most ``concurrency`` in flight."""
    import aiohttp

    summary = CollectorLoadSummary()
    started = time.monotonic()
    next_progress = started + _PROGRESS_EVERY_S
    slots = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)

    async def send(session: aiohttp.ClientSession, batch: CollectorBatch) -> None:
        try:
            now = now_ms()
            for event in batch.events:
                _shift_times(event, batch.received_at, now)
            body = orjson.dumps(batch.events)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": batch.ua or FALLBACK_USER_AGENT,
            }
            if gzip_bodies:
                body = gzip.compress(body, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
            if forwarded_for and batch.ip:
                headers["X-Forwarded-For"] = batch.ip
            sent = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    answer = await response.read()
                    summary.latencies_s.append(time.perf_counter() - sent)
                    summary.statuses[response.status] += 1
                    if response.status == 202:
                        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                            summary.events_accepted += int(orjson.loads(answer)["accepted"])
            except (aiohttp.ClientError, TimeoutError):
                summary.connection_errors += 1
        finally:
            slots.release()

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        for batch in batches:
            now = time.monotonic()
            if duration_s is not None and now - started >= duration_s:
                break
            # Pace by events: the batch is due when the events before it have had their time.
            delay = started + summary.events_sent / rate - now
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            summary.requests += 1
            summary.events_sent += len(batch.events)
            task = asyncio.create_task(send(session, batch))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            if progress is not None and time.monotonic() >= next_progress:
                next_progress += _PROGRESS_EVERY_S
                summary.elapsed_s = time.monotonic() - started
                progress(summary)
        if in_flight:
            await asyncio.gather(*in_flight)
    summary.elapsed_s = time.monotonic() - started
    return summary


# --- the Kafka source ----------------------------------------------------------------


@dataclass
class KafkaLoadSummary:
    produced: int = 0
    acknowledged: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.acknowledged == self.produced

    def as_dict(self) -> dict[str, Any]:
        elapsed = max(self.elapsed_s, 1e-9)
        return {
            "produced": self.produced,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "errors": dict(self.errors),
            "elapsed_s": round(self.elapsed_s, 3),
            "records_per_s": round(self.acknowledged / elapsed, 1),
        }

    def report(self) -> str:
        d = self.as_dict()
        text = (
            f"produced {d['produced']:,} records in {d['elapsed_s']:.1f} s; acknowledged "
            f"{d['acknowledged']:,} ({d['records_per_s']:,.0f} records/s), failed {d['failed']:,}"
        )
        if self.errors:
            text += "\nerrors: " + ", ".join(f"{k} × {v:,}" for k, v in self.errors.items())
        return text


class LoadError(RuntimeError):
    """The load cannot start (Kafka unreachable, topic missing); the message says why."""


def _check_topic(producer: Any, topic: str, settings: Settings) -> None:
    from confluent_kafka import KafkaException

    # Without this, records for a missing topic (auto-creation is off) would only fail
    # after librdkafka's delivery timeout, minutes later.
    deadline = time.monotonic() + 3  # a topic just created is listed a moment later
    while True:
        try:
            metadata = producer.list_topics(topic, timeout=10)
        except KafkaException as exc:
            raise LoadError(
                f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc.args[0]}"
            ) from None
        found = metadata.topics.get(topic)
        if found is not None and found.error is None and found.partitions:
            return
        if time.monotonic() >= deadline:
            raise LoadError(f"topic {topic} does not exist: run `insightlite kafka init` first")
        time.sleep(0.1)


def live_raw_record(data: bytes, now_ms: int) -> tuple[bytes | None, bytes]:
    """(key, value) for raw_events: the record received now; malformed bytes as they are."""
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None, data
    if not isinstance(record, dict):
        return None, data
    received_at = record.get("received_at")
    if isinstance(received_at, int) and not isinstance(received_at, bool):
        _shift_times(record, received_at, now_ms)
        record["received_at"] = now_ms
    session_id = record.get("session_id")
    key = session_id.encode() if isinstance(session_id, str) and session_id else None
    return key, orjson.dumps(record)


def produce_to_kafka(
    records: Iterable[bytes],
    settings: Settings,
    *,
    rate: float | None = None,
    duration_s: float | None = None,
    now_ms: Callable[[], int] = wall_clock_ms,
    progress: Callable[[KafkaLoadSummary], None] | None = None,
) -> KafkaLoadSummary:
    """Produce the records to ``raw_events`` keyed by session id; waits for every ack."""
    import logging

    from confluent_kafka import KafkaError, Producer

    from connectors.kafka.config import client_config
    from connectors.kafka.topics import RAW_EVENTS, topic_name

    summary = KafkaLoadSummary()

    def on_delivery(error: KafkaError | None, _message: object) -> None:
        if error is None:
            summary.acknowledged += 1
        else:
            summary.failed += 1
            summary.errors[error.name()] += 1

    producer = Producer(
        {
            **client_config(settings, client_id="insightlite-load"),
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": settings.collector_compression,
            "linger.ms": 20,
            "logger": logging.getLogger("insightlite.load.librdkafka"),
        }
    )
    topic = topic_name(settings, RAW_EVENTS)
    _check_topic(producer, topic, settings)
    started = time.monotonic()
    next_progress = started + _PROGRESS_EVERY_S
    for data in records:
        now = time.monotonic()
        if duration_s is not None and now - started >= duration_s:
            break
        if rate is not None:
            delay = started + summary.produced / rate - now
            if delay > 0.002:
                producer.poll(delay)  # serve delivery reports while waiting
        key, value = live_raw_record(data, now_ms())
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # the local queue is full: let it drain
        summary.produced += 1
        producer.poll(0)
        if progress is not None and time.monotonic() >= next_progress:
            next_progress += _PROGRESS_EVERY_S
            summary.elapsed_s = time.monotonic() - started
            progress(summary)
    left = producer.flush(60)
    summary.failed += left
    if left:
        summary.errors["not_delivered_at_exit"] += left
    summary.elapsed_s = time.monotonic() - started
    return summary


# --- running ---------------------------------------------------------------------------


def run_loop(coroutine: Any) -> Any:
    """Run ``coroutine`` to its end on uvloop when installed, asyncio's loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
