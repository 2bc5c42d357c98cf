"""The collector: ``POST /ingest`` takes a browser's batch of events into ``raw_events``,
``POST /replay`` a session-replay chunk into ``replay_events`` (api/collector/replay.py).

    POST /ingest     a JSON array of events (gzip allowed; text/plain for sendBeacon)
                     -> 202 {"accepted": N} once Kafka acknowledged every record
    POST /replay     one replay chunk, JSON or gzip (docs/replay.md)
                     -> 202 {"accepted": 1} once Kafka acknowledged it
    GET  /health     the process is alive
    GET  /ready      Kafka answers and raw_events exists (cached for 2 s)
    GET  /metrics    Prometheus metrics

Answers to a refused request: 400 (the reason in {"error": ...}), 408 and the
connection closed (headers or body not received in time), 413 (too large), 415
(content type or encoding), 429 with Retry-After (a site or a client IP over its rate,
or a client address over its open connections), 503 with Retry-After (Kafka did not
take the records, or the visitor-key store cannot be reached: retry, nothing was
silently dropped). Every refusal is counted by
reason in ``insightlite_collector_rejected_requests`` (``/replay``'s in
``insightlite_collector_replay_rejected_requests``). CORS is open to every origin,
without credentials, so any site's tracker can post and read the answer.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.collector.connections import GUARD_STATE_KEY
from api.collector.envelope import (
    EnvelopeLimits,
    check_media_type,
    gunzip_bounded,
    is_gzip,
    parse_events,
    rate_limit_key,
    to_records,
)
from api.collector.handling import (
    CORS_HEADERS,
    RecordSink,
    RequestHandling,
    ThrottledLog,
    json_response,
    preflight,
    rate_limited,
    send_records,
    user_agent,
)
from api.collector.metrics import CollectorMetrics
from api.collector.producer import (
    DEFAULT_DELIVERY_TIMEOUT_S,
    KafkaRecordProducer,
    producer_config,
    replay_producer_config,
)
from api.collector.ratelimit import RateLimiter
from api.collector.replay import ClientFacts, ReplayCollector
from api.collector.visitors import EdgeVisitors
from connectors.kafka.topics import RAW_EVENTS, REPLAY_EVENTS, topic_name
from connectors.visitor_keys import DailyKeys, VisitorKeyStore
from connectors.visitor_keys.stores import open_key_store
from foundation.settings import Settings, load_settings
from operators.visitor import VisitorDeriver

__all__ = ["Collector", "CollectorMetrics", "RecordSink", "create_app", "create_app_from_env"]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Collector:
    """``POST /ingest`` and the process's shared pieces, with its clocks, limits and Kafka
    sink passed in."""

    def __init__(
        self,
        settings: Settings,
        sink: RecordSink,
        *,
        now_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: CollectorMetrics | None = None,
        facts: ClientFacts | None = None,
        key_store: VisitorKeyStore | None = None,
    ) -> None:
        self.sink = sink
        # One classifier and country lookup for both routes (the replay route's facts).
        self.facts = facts or ClientFacts.from_settings(settings)
        store = key_store if key_store is not None else open_key_store(settings, os.urandom)
        self.visitors = EdgeVisitors(
            VisitorDeriver(self.facts.classifier, self.facts.countries),
            DailyKeys(store, now_ms),
        )
        self.now_ms = now_ms
        self.monotonic = monotonic
        self.metrics = metrics or CollectorMetrics.create()
        self.handling = RequestHandling(settings, self.metrics)
        self.connections = self.handling.connections
        self.limits = EnvelopeLimits(
            max_body_bytes=settings.collector_max_body_bytes,
            max_events=settings.collector_max_events,
            site_allowlist=frozenset(settings.site_allowlist),
        )
        self.rate_limiter = RateLimiter(
            site_rate=settings.collector_site_rate,
            site_burst=settings.collector_site_burst,
            ip_rate=settings.collector_ip_rate,
            ip_burst=settings.collector_ip_burst,
        )
        self._produce_log = ThrottledLog("/ingest")

    async def ingest(self, request: Request) -> Response:
        return await self.handling.handle(request, self.metrics.ingest, self._ingest)

    async def _ingest(self, request: Request, ip: str) -> Response:
        check_media_type(request.headers.get("content-type"))
        gzipped = is_gzip(request.headers.get("content-encoding"))
        body = await self.handling.read_body(request, self.limits.max_body_bytes)
        if gzipped:
            body = gunzip_bounded(body, self.limits.max_body_bytes)
        events = parse_events(body, self.limits)
        received_at = self.now_ms()
        # Before the rate limits: a request refused here spends no tokens.
        visitors = await self.visitors.fields(events, ip, user_agent(request), received_at)
        records = to_records(events, visitors=visitors, received_at=received_at)

        per_site = Counter(str(event["site_id"]) for event in events)
        refusal = self.rate_limiter.admit(rate_limit_key(ip), dict(per_site), self.monotonic())
        if refusal is not None:
            limit, retry_after = refusal
            return rate_limited(self.metrics.ingest, limit, retry_after, "events")

        refused = await send_records(self.sink, records, self.metrics.ingest, self._produce_log)
        if refused is not None:
            return refused
        self.metrics.events_accepted.inc(len(records))
        return json_response(202, {"accepted": len(records)}, CORS_HEADERS)

    async def health(self, request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    async def ready(self, request: Request) -> Response:
        # raw_events only: the events are the product; a replay_events problem shows as
        # /replay's 503s, and must not take the collector out of its load balancer.
        ok, reason = await self.sink.ready()
        if ok:
            return json_response(200, {"ready": True})
        return json_response(503, {"ready": False, "reason": reason})

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def create_app(
    settings: Settings,
    *,
    sink: RecordSink | None = None,
    replay_sink: RecordSink | None = None,
    now_ms: Callable[[], int] = wall_clock_ms,
    monotonic: Callable[[], float] = time.monotonic,
    delivery_timeout_s: float = DEFAULT_DELIVERY_TIMEOUT_S,
    key_store: VisitorKeyStore | None = None,
) -> Starlette:
    """The collector app. Without ``sink``, events go to ``raw_events`` on the configured
    Kafka, and without ``replay_sink`` replay chunks go to ``replay_events`` through a
    producer of their own (ConfigError when INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS is not
    set; GeoDatabaseError when INSIGHTLITE_GEOIP_DB is not a MaxMind database)."""
    if sink is None:
        sink = KafkaRecordProducer(
            producer_config(settings, delivery_timeout_s=delivery_timeout_s),
            topic_name(settings, RAW_EVENTS),
            delivery_timeout_s=delivery_timeout_s,
        )
    if replay_sink is None:
        replay_sink = KafkaRecordProducer(
            replay_producer_config(settings, delivery_timeout_s=delivery_timeout_s),
            topic_name(settings, REPLAY_EVENTS),
            delivery_timeout_s=delivery_timeout_s,
        )
    collector = Collector(settings, sink, now_ms=now_ms, monotonic=monotonic, key_store=key_store)
    replay = ReplayCollector(
        settings,
        replay_sink,
        collector.handling,
        collector.metrics.replay,
        facts=collector.facts,
        now_ms=now_ms,
        monotonic=monotonic,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        for route_sink in (collector.sink, replay.sink):
            start = getattr(route_sink, "start", None)
            if callable(start):
                start()  # connect now, not on the first request
        await anyio.to_thread.run_sync(collector.visitors.start, now_ms())
        try:
            # uvicorn hands this state to its connections: the guarded protocols
            # (api/collector/connections.py) find the collector's limits there.
            yield {GUARD_STATE_KEY: collector.connections}
        finally:
            collector.sink.close()
            replay.sink.close()
            replay.facts.close()

    app = Starlette(
        routes=[
            Route("/ingest", collector.ingest, methods=["POST"]),
            Route("/ingest", preflight, methods=["OPTIONS"]),
            Route("/replay", replay.post, methods=["POST"]),
            Route("/replay", preflight, methods=["OPTIONS"]),
            Route("/health", collector.health, methods=["GET"]),
            Route("/ready", collector.ready, methods=["GET"]),
            Route("/metrics", collector.metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.collector = collector
    app.state.replay = replay
    return app


def create_app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings from the INSIGHTLITE_* environment."""
    return create_app(load_settings())
