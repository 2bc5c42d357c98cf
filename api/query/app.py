"""The query API as an ASGI app: REST, GraphQL, health, readiness and metrics, and the
dashboard's built files at every other GET path (:mod:`api.query.dashboard`).

    uvicorn --factory api.query.app:app_from_environment      # what `insightlite api` runs

:func:`create_app` wires the pieces from settings; everything that depends on time
takes the ``clock`` given here, and the ClickHouse client factory can be replaced (the
demo passes the embedded engine it has just filled). Redis clients are made when the
app starts (inside its event loop) and closed when it stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.query.auth import TokenVerifier
from api.query.cache import ResponseCache
from api.query.client_pool import ClientPool
from api.query.dashboard import install_dashboard
from api.query.deps import RATE_LIMIT_STATE, Services
from api.query.erasure_routes import erasure_router
from api.query.error_handlers import error_response, install_error_handlers
from api.query.exports import ExportManager
from api.query.graphql import graphql_router
from api.query.guards import AddressLimitMiddleware, TokenSlots
from api.query.layer import QueryLayer
from api.query.live import live_router
from api.query.metrics import APIMetrics
from api.query.models import ErrorBody
from api.query.ratelimit import InMemoryRateLimiter, RedisRateLimiter
from api.query.replay_archive import ReplayArchive
from api.query.replay_routes import router as replay_router
from api.query.rest import router as rest_router
from api.query.webhooks import WebhookSender
from connectors.archive import FsspecDestination
from connectors.clickhouse import ClickHouseClient, connect
from connectors.crypto import site_key_destroyer
from foundation.settings import Settings, load_settings

log = logging.getLogger("insightlite.api")

Clock = Callable[[], float]
ClientFactory = Callable[[], ClickHouseClient]

API_VERSION = "1.0.0"


class ResponseHeadersMiddleware:
    """Pure ASGI: RateLimit-* headers on every answer to a counted request, security
    headers on all, and the request metrics (by route template, so labels stay bounded).
    """

    def __init__(self, app: ASGIApp, metrics: APIMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # The same dict the route's request.state writes into.
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                decision = state.get(RATE_LIMIT_STATE)
                if decision is not None:
                    for name, value in decision.headers().items():
                        headers[name] = value
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope.get("method", ""), str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - started)


def redis_client(url: str, *, max_connections: int = 64) -> Any:
    """An asyncio Redis client whose pool waits (up to a second) for a free connection.

    A plain pool raises at once when every connection is busy, which under a burst of
    requests would turn into spurious cache misses and in-memory rate limiting.
    """
    import redis.asyncio as redis_asyncio

    pool = redis_asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=1.0,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        health_check_interval=30,
    )
    return redis_asyncio.Redis(connection_pool=pool)


def _clickhouse_factory(settings: Settings) -> ClientFactory:
    """Clients of the ClickHouse that ``settings`` names."""
    url, database = settings.resolved_clickhouse_url, settings.clickhouse_database

    def client_factory() -> ClickHouseClient:
        return connect(url, database=database)

    return client_factory


def _webhook_sender(
    settings: Settings,
    metrics: APIMetrics,
    clock: Clock,
    sleep: Callable[[float], None],
) -> WebhookSender | None:
    """The signer and sender of export webhooks, or None when no secret is configured."""
    if settings.webhook_secret is None:
        return None
    return WebhookSender(
        settings.webhook_secret.get_secret_value().encode(),
        max_attempts=settings.webhook_max_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        clock=clock,
        sleep=sleep,
        on_attempt_outcome=lambda outcome: metrics.webhook_attempts.labels(outcome).inc(),
    )


@dataclass(frozen=True)
class _Wiring:
    """What the app builds once: the services routes use, and what the lifespan switches
    to Redis (and back) and closes."""

    services: Services
    cache: ResponseCache
    in_memory_limiter: InMemoryRateLimiter


def _build_services(
    settings: Settings,
    *,
    clock: Clock,
    client_factory: ClientFactory,
    metrics: APIMetrics,
    webhook_sleep: Callable[[float], None],
) -> _Wiring:
    """The query layer (client pool and response cache), token verifier, in-memory rate
    limiter, export manager, per-token slots and the recordings' archive, all on the
    one ``clock``."""
    # First: a missing or unusable key (ConfigError) is reported before anything is made.
    verifier = TokenVerifier.from_settings(settings, clock=clock)
    pool = ClientPool(client_factory, settings.api_clickhouse_pool_size)

    def count_cache(kind: str, outcome: str) -> None:
        metrics.cache_lookups.labels(kind, outcome).inc()

    cache = ResponseCache(
        ttl_seconds=settings.cache_ttl_seconds,
        max_entries=settings.cache_max_entries,
        clock=clock,
        on_result=count_cache,
    )
    exports = ExportManager(
        FsspecDestination(settings.export_url(settings.resolved_archive_url)),
        pool,
        webhook_urls=settings.webhook_urls,
        webhook_sender=_webhook_sender(settings, metrics, clock, webhook_sleep),
        max_range_days=settings.api_max_range_days,
        min_crowd=settings.min_crowd_for,
        clock=clock,
        on_finished=lambda kind, state: metrics.exports.labels(kind, state).inc(),
    )
    in_memory_limiter = InMemoryRateLimiter(clock=clock)
    services = Services(
        settings=settings,
        layer=QueryLayer(
            pool,
            cache,
            cell_height_px=settings.heatmap_cell_height_px,
            max_range_days=settings.api_max_range_days,
            replay_retention_days=settings.replay_retention_days,
            min_crowd=settings.min_crowd_for,
            clock=clock,
        ),
        verifier=verifier,
        limiter=in_memory_limiter,
        exports=exports,
        metrics=metrics,
        slots=TokenSlots(settings.api_max_requests_per_token, settings.api_max_queries_per_token),
        # The blobs are where the pipeline's replay step writes them.
        replays=ReplayArchive.for_settings(settings),
        clock=clock,
    )
    return _Wiring(services=services, cache=cache, in_memory_limiter=in_memory_limiter)


def _lifespan(
    wiring: _Wiring, clock: Clock
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """On start, the Redis client (when configured) behind the cache and the rate limiter;
    on stop, back to the in-memory limiter, and every client and worker closed."""
    services = wiring.services
    settings = services.settings
    metrics = services.metrics

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The Redis client belongs to this event loop: made here, closed on the way out.
        redis = None
        if settings.redis_url:
            redis = redis_client(settings.redis_url)
            wiring.cache.use_redis(redis)
            services.limiter = RedisRateLimiter(
                redis, clock=clock, on_fallback=metrics.rate_limit_fallbacks.inc
            )
        try:
            yield
        finally:
            services.limiter = wiring.in_memory_limiter
            wiring.cache.use_redis(None)
            services.exports.close()
            services.layer.close()
            if redis is not None:
                await redis.aclose()

    return lifespan


def _install_middleware(app: FastAPI, services: Services) -> None:
    """The per-address refusal limit inside the response headers and request metrics."""
    # Inside the headers middleware, so its refusals are counted and carry the headers.
    app.add_middleware(
        AddressLimitMiddleware,
        settings=services.settings,
        limiter=lambda: services.limiter,
        on_refused=services.metrics.address_refused.inc,
    )
    app.add_middleware(ResponseHeadersMiddleware, metrics=services.metrics)


def _mount_routes(app: FastAPI, metrics: APIMetrics) -> None:
    """REST under ``/v1``, GraphQL at ``/graphql``, then health, readiness and metrics."""
    app.include_router(rest_router)
    app.include_router(replay_router)
    app.include_router(graphql_router(), prefix="/graphql", tags=["graphql"])

    @app.get("/health", tags=["operations"], include_in_schema=True)
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], responses={503: {"model": ErrorBody}})
    async def ready(request: Request) -> Response:
        """Readiness: ClickHouse answers a query."""
        try:
            await request.app.state.services.layer.ping()
        except Exception as exc:
            log.warning("not ready: %s", type(exc).__name__)
            return error_response(503, "not_ready", "the analytics store does not answer")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)


def create_app(
    settings: Settings,
    *,
    clock: Clock = time.time,
    client_factory: ClientFactory | None = None,
    metrics: APIMetrics | None = None,
    webhook_sleep: Callable[[float], None] = time.sleep,
) -> FastAPI:
    """The API over the ClickHouse that ``settings`` names (or ``client_factory`` makes)."""
    metrics = metrics or APIMetrics()
    wiring = _build_services(
        settings,
        clock=clock,
        client_factory=client_factory or _clickhouse_factory(settings),
        metrics=metrics,
        webhook_sleep=webhook_sleep,
    )
    app = FastAPI(
        title="InsightLite query API",
        version=API_VERSION,
        description="Heatmaps, sessions, stats, errors and session recordings of the sites "
        "a token grants. "
        "Authenticate with `Authorization: Bearer <JWT>`.",
        lifespan=_lifespan(wiring, clock),
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = wiring.services
    install_error_handlers(app)
    _install_middleware(app, wiring.services)
    _mount_routes(app, metrics)
    # The live stream (a WebSocket) and its source, which stop with the app.
    live_clients = client_factory or _clickhouse_factory(settings)
    app.include_router(live_router(wiring.services, live_clients))
    # Erasure (permission data:erase), on a client of its own.
    app.include_router(
        erasure_router(live_clients, key_destroyer=site_key_destroyer(settings, actor="query api"))
    )
    install_dashboard(app, settings.api_dashboard_dir)
    return app


def app_from_environment() -> FastAPI:
    """The app from ``INSIGHTLITE_*`` variables (the uvicorn factory of ``insightlite api``)."""
    return create_app(load_settings())
