"""The collector: ``POST /ingest`` takes a browser's batch of events into ``raw_events``.

    POST /ingest     a JSON array of events (gzip allowed; text/plain for sendBeacon)
                     -> 202 {"accepted": N} once Kafka acknowledged every record
    GET  /health     the process is alive
    GET  /ready      Kafka answers and the topic exists (cached for 2 s)
    GET  /metrics    Prometheus metrics

Answers to a refused request: 400 (the reason in {"error": ...}), 408 and the
connection closed (headers or body not received in time), 413 (too large), 415
(content type or encoding), 429 with Retry-After (a site or a client IP over its rate,
or a client address over its open connections), 503 with Retry-After (Kafka did not
take the records: retry, nothing was silently dropped). Every refusal is counted by
reason in ``insightlite_collector_rejected_requests``. CORS is open to every origin,
without credentials, so any site's tracker can post and read the answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client import Counter as PromCounter
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from api.collector.connections import (
    CONNECTION_RETRY_AFTER_S,
    GUARD_STATE_KEY,
    ConnectionGuard,
)
from api.collector.envelope import (
    EnvelopeError,
    EnvelopeLimits,
    check_media_type,
    client_ip,
    gunzip_bounded,
    is_gzip,
    is_trusted_peer,
    parse_events,
    parse_networks,
    rate_limit_key,
    to_records,
    too_large,
)
from api.collector.producer import (
    DEFAULT_DELIVERY_TIMEOUT_S,
    KafkaRecordProducer,
    ProduceError,
    Record,
    RecordTooLarge,
    producer_config,
)
from api.collector.ratelimit import RateLimiter
from connectors.kafka.topics import RAW_EVENTS, topic_name
from foundation.settings import Settings, load_settings

log = logging.getLogger("insightlite.collector")

# How long a client should wait after a 503: Kafka outages are rarely shorter.
UNAVAILABLE_RETRY_AFTER_S = 5
MAX_USER_AGENT_CHARS = 2048  # the contract's limit on ua; longer headers are cut

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class RecordSink(Protocol):
    """What the collector needs from Kafka (``KafkaRecordProducer`` in production)."""

    async def send(self, records: list[Record]) -> None: ...

    async def ready(self) -> tuple[bool, str]: ...

    def close(self, timeout: float = 10.0) -> int: ...


@dataclass
class CollectorMetrics:
    registry: CollectorRegistry
    requests: PromCounter
    events_accepted: PromCounter
    rejected: PromCounter
    produce_errors: PromCounter
    latency: Histogram

    @classmethod
    def create(cls) -> CollectorMetrics:
        # A registry per app: tests build many apps in one process. Under several
        # workers the values also go to PROMETHEUS_MULTIPROC_DIR and /metrics sums them.
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            requests=PromCounter(
                "insightlite_collector_requests",
                "Ingest requests answered, by HTTP status",
                ["status"],
                registry=registry,
            ),
            events_accepted=PromCounter(
                "insightlite_collector_events_accepted",
                "Events acknowledged by Kafka and answered 202",
                registry=registry,
            ),
            rejected=PromCounter(
                "insightlite_collector_rejected_requests",
                "Ingest requests refused, by reason",
                ["reason"],
                registry=registry,
            ),
            produce_errors=PromCounter(
                "insightlite_collector_kafka_produce_errors",
                "Records Kafka did not take, by error",
                ["error"],
                registry=registry,
            ),
            latency=Histogram(
                "insightlite_collector_request_seconds",
                "Ingest request latency, from the first body byte to the answer",
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                registry=registry,
            ),
        )

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


class _Throttled:
    """Logs a repeated failure at most once per interval, with how many were folded in."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self._last = -interval_s
        self._folded = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self._folded += 1
            return
        folded, self._folded, self._last = self._folded, 0, now
        suffix = f" (and {folded} more since the last report)" if folded else ""
        log.warning(message + suffix, *args)


class Collector:
    """The request handling, with its clocks, limits and Kafka sink passed in."""

    def __init__(
        self,
        settings: Settings,
        sink: RecordSink,
        *,
        now_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: CollectorMetrics | None = None,
    ) -> None:
        self.sink = sink
        self.now_ms = now_ms
        self.monotonic = monotonic
        self.metrics = metrics or CollectorMetrics.create()
        self.limits = EnvelopeLimits(
            max_body_bytes=settings.collector_max_body_bytes,
            max_events=settings.collector_max_events,
            site_allowlist=frozenset(settings.site_allowlist),
        )
        self.trusted_proxies = parse_networks(settings.collector_trusted_proxies)
        self.rate_limiter = RateLimiter(
            site_rate=settings.collector_site_rate,
            site_burst=settings.collector_site_burst,
            ip_rate=settings.collector_ip_rate,
            ip_burst=settings.collector_ip_burst,
        )
        self.body_timeout_s = settings.collector_body_timeout_seconds
        self.connections = ConnectionGuard(
            header_timeout_s=settings.collector_header_timeout_seconds,
            max_per_client=settings.collector_max_connections_per_client,
            trusted_proxies=self.trusted_proxies,
            count_refusal=lambda reason: self.metrics.rejected.labels(reason).inc(),
        )
        self._produce_log = _Throttled()

    async def ingest(self, request: Request) -> Response:
        started = time.perf_counter()
        peer = request.client.host if request.client else ""
        ip = client_ip(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        # A trusted proxy's connection carries many clients: count its requests in
        # progress per forwarded client, as the server counts a direct client's
        # connections (api/collector/connections.py).
        held = rate_limit_key(ip) if is_trusted_peer(peer, self.trusted_proxies) else None
        try:
            if held is not None and not self.connections.acquire(held):
                held = None
                raise EnvelopeError(
                    429,
                    "too_many_connections",
                    f"more than {self.connections.max_per_client} requests in progress "
                    f"from this client address: retry after {CONNECTION_RETRY_AFTER_S} s",
                )
            response = await self._ingest(request, ip)
        except EnvelopeError as exc:
            self.metrics.rejected.labels(exc.code).inc()
            headers = dict(CORS_HEADERS)
            if exc.status == 429:
                headers["Retry-After"] = str(CONNECTION_RETRY_AFTER_S)
            if exc.status == 408:
                # The rest of a slow body may still be on its way: do not wait for it.
                headers["Connection"] = "close"
            response = _json(exc.status, {"error": exc.reason}, headers)
        except ClientDisconnect:
            # The client left before its body arrived: nothing was produced, and nobody
            # reads this answer.
            self.metrics.rejected.labels("client_disconnected").inc()
            response = _json(400, {"error": "the client disconnected during the upload"})
        finally:
            if held is not None:
                self.connections.release(held)
        self.metrics.requests.labels(str(response.status_code)).inc()
        self.metrics.latency.observe(time.perf_counter() - started)
        return response

    async def _ingest(self, request: Request, ip: str) -> Response:
        check_media_type(request.headers.get("content-type"))
        gzipped = is_gzip(request.headers.get("content-encoding"))
        body = await self._read_body(request)
        if gzipped:
            body = gunzip_bounded(body, self.limits.max_body_bytes)
        events = parse_events(body, self.limits)
        ua = request.headers.get("user-agent", "")[:MAX_USER_AGENT_CHARS]
        # Before the rate limits: a request refused here spends no tokens.
        records = to_records(events, ip=ip, ua=ua, received_at=self.now_ms())

        per_site = Counter(str(event["site_id"]) for event in events)
        refusal = self.rate_limiter.admit(rate_limit_key(ip), dict(per_site), self.monotonic())
        if refusal is not None:
            limit, retry_after = refusal
            what = "this client IP" if limit == "ip" else "this site"
            self.metrics.rejected.labels(f"rate_limited_{limit}").inc()
            return _json(
                429,
                {"error": f"too many events from {what}: retry after {retry_after} s"},
                {**CORS_HEADERS, "Retry-After": str(retry_after)},
            )

        try:
            await self.sink.send(records)
        except RecordTooLarge as exc:
            self.metrics.rejected.labels("record_too_large").inc()
            return _json(413, {"error": str(exc)}, CORS_HEADERS)
        except ProduceError as exc:
            self.metrics.produce_errors.labels(exc.code).inc(exc.failed)
            self._produce_log.warning(
                "answered 503: %d of %d records not taken by Kafka: %s",
                exc.failed,
                len(records),
                exc.reason,
            )
            return _json(
                503,
                {"error": "the event store is unavailable: retry later"},
                {**CORS_HEADERS, "Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
            )
        self.metrics.events_accepted.inc(len(records))
        return _json(202, {"accepted": len(records)}, CORS_HEADERS)

    async def _read_body(self, request: Request) -> bytes:
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        # isascii: str.isdigit also accepts digits int() refuses, such as "²".
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise too_large(limit)
        chunks: list[bytes] = []
        size = 0
        # A deadline for the whole body: a client trickling bytes must not hold the
        # connection (the server's own deadline covers only the headers).
        with anyio.move_on_after(self.body_timeout_s) as deadline:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
        if deadline.cancelled_caught:
            raise EnvelopeError(
                408,
                "body_timeout",
                f"the request body did not arrive within {self.body_timeout_s:g} s",
            )
        return b"".join(chunks)

    async def preflight(self, request: Request) -> Response:
        return Response(status_code=204, headers=PREFLIGHT_HEADERS)

    async def health(self, request: Request) -> Response:
        return _json(200, {"status": "ok"})

    async def ready(self, request: Request) -> Response:
        ok, reason = await self.sink.ready()
        if ok:
            return _json(200, {"ready": True})
        return _json(503, {"ready": False, "reason": reason})

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def create_app(
    settings: Settings,
    *,
    sink: RecordSink | None = None,
    now_ms: Callable[[], int] = wall_clock_ms,
    monotonic: Callable[[], float] = time.monotonic,
    delivery_timeout_s: float = DEFAULT_DELIVERY_TIMEOUT_S,
) -> Starlette:
    """The collector app. Without ``sink``, records go to ``raw_events`` on the configured
    Kafka (ConfigError when INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS is not set)."""
    if sink is None:
        sink = KafkaRecordProducer(
            producer_config(settings, delivery_timeout_s=delivery_timeout_s),
            topic_name(settings, RAW_EVENTS),
            delivery_timeout_s=delivery_timeout_s,
        )
    collector = Collector(settings, sink, now_ms=now_ms, monotonic=monotonic)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        start = getattr(collector.sink, "start", None)
        if callable(start):
            start()  # connect now, not on the first request
        try:
            # uvicorn hands this state to its connections: the guarded protocols
            # (api/collector/connections.py) find the collector's limits there.
            yield {GUARD_STATE_KEY: collector.connections}
        finally:
            collector.sink.close()

    app = Starlette(
        routes=[
            Route("/ingest", collector.ingest, methods=["POST"]),
            Route("/ingest", collector.preflight, methods=["OPTIONS"]),
            Route("/health", collector.health, methods=["GET"]),
            Route("/ready", collector.ready, methods=["GET"]),
            Route("/metrics", collector.metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.collector = collector
    return app


def create_app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings from the INSIGHTLITE_* environment."""
    return create_app(load_settings())
