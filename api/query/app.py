"""The query API as an ASGI app: REST, GraphQL, health, readiness and metrics.

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
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.query.auth import AccessDenied, AuthError, TokenVerifier
from api.query.cache import ResponseCache
from api.query.deps import RATE_LIMIT_STATE, RateLimited, Services
from api.query.exports import ExportManager
from api.query.graphql import graphql_router
from api.query.guards import (
    CONCURRENCY_RETRY_AFTER_SECONDS,
    AddressLimitMiddleware,
    TokenSlots,
    TooManyInProgress,
)
from api.query.layer import ClientPool, InvalidCursor, InvalidQuery, QueryLayer
from api.query.metrics import APIMetrics
from api.query.models import ErrorBody
from api.query.ratelimit import InMemoryRateLimiter, RedisRateLimiter
from api.query.rest import router as rest_router
from api.query.settings import APISettings, load_api_settings
from api.query.webhooks import WebhookSender
from connectors.archive import FsspecDestination
from connectors.clickhouse import ClickHouseClient, ClickHouseError, ClickHouseUnavailable, connect
from insightlite.settings import Settings, load_settings

log = logging.getLogger("insightlite.api")

Clock = Callable[[], float]
ClientFactory = Callable[[], ClickHouseClient]

API_VERSION = "1.0.0"
REALM = "insightlite"
# ClickHouse's UNKNOWN_TABLE and UNKNOWN_DATABASE: the pipeline has not run here yet.
_MISSING_SCHEMA_CODES = frozenset({60, 81})


def _error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = ErrorBody(error=error, message=message).model_dump_json(exclude_none=True)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


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


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def unauthorized(request: Request, exc: AuthError) -> Response:
        challenge = f'Bearer realm="{REALM}"'
        if not exc.missing:
            challenge += f', error="invalid_token", error_description="{exc.description}"'
        return _error(401, "unauthorized", exc.description, {"WWW-Authenticate": challenge})

    @app.exception_handler(AccessDenied)
    async def forbidden(request: Request, exc: AccessDenied) -> Response:
        return _error(403, "forbidden", exc.reason)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        return _error(429, "rate_limited", "too many requests", exc.decision.headers())

    @app.exception_handler(TooManyInProgress)
    async def too_many_in_progress(request: Request, exc: TooManyInProgress) -> Response:
        return _error(
            429,
            "too_many_in_progress",
            str(exc),
            {"Retry-After": str(CONCURRENCY_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # Location and message only: the offending input is not echoed back.
        detail = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
            for error in exc.errors()
        ]
        body = ErrorBody(error="invalid_request", message="invalid parameters", detail=detail)
        return Response(body.model_dump_json(), status_code=422, media_type="application/json")

    @app.exception_handler(InvalidQuery)
    async def invalid_query(request: Request, exc: InvalidQuery) -> Response:
        return _error(422, "invalid_request", str(exc))

    @app.exception_handler(InvalidCursor)
    async def invalid_cursor(request: Request, exc: InvalidCursor) -> Response:
        return _error(400, "bad_request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        names = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        error = names.get(exc.status_code, "http_error")
        message = error.replace("_", " ")
        return _error(exc.status_code, error, message, dict(exc.headers or {}))

    @app.exception_handler(ClickHouseError)
    async def store_error(request: Request, exc: ClickHouseError) -> Response:
        if isinstance(exc, ClickHouseUnavailable):
            log.warning("ClickHouse unavailable: %s", exc)
            return _error(
                503, "unavailable", "the analytics store is unavailable", {"Retry-After": "5"}
            )
        if getattr(exc, "code", None) in _MISSING_SCHEMA_CODES:
            return _error(503, "not_ready", "no analytics data has been written yet")
        log.error("query failed on %s: %s", request.url.path, exc)
        return _error(500, "internal_error", "the query failed")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, "internal_error", "unexpected error")


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


def create_app(
    settings: Settings,
    api_settings: APISettings,
    *,
    clock: Clock = time.time,
    client_factory: ClientFactory | None = None,
    metrics: APIMetrics | None = None,
    webhook_sleep: Callable[[float], None] = time.sleep,
) -> FastAPI:
    """The API over the ClickHouse that ``settings`` names (or ``client_factory`` makes)."""
    metrics = metrics or APIMetrics()
    verifier = TokenVerifier.from_settings(api_settings, clock=clock)
    if client_factory is None:
        url, database = settings.resolved_clickhouse_url, settings.clickhouse_database

        def client_factory() -> ClickHouseClient:
            return connect(url, database=database)

    pool = ClientPool(client_factory, api_settings.api_clickhouse_pool_size)

    def count_cache(kind: str, outcome: str) -> None:
        metrics.cache_lookups.labels(kind, outcome).inc()

    in_memory_limiter = InMemoryRateLimiter(clock=clock)
    cache = ResponseCache(
        ttl_seconds=api_settings.cache_ttl_seconds,
        max_entries=api_settings.cache_max_entries,
        clock=clock,
        on_result=count_cache,
    )
    sender = None
    if api_settings.webhook_secret is not None:
        sender = WebhookSender(
            api_settings.webhook_secret.get_secret_value().encode(),
            max_attempts=api_settings.webhook_max_attempts,
            backoff_seconds=api_settings.webhook_backoff_seconds,
            timeout_seconds=api_settings.webhook_timeout_seconds,
            clock=clock,
            sleep=webhook_sleep,
            on_attempt_outcome=lambda outcome: metrics.webhook_attempts.labels(outcome).inc(),
        )
    exports = ExportManager(
        FsspecDestination(api_settings.export_url(settings.resolved_archive_url)),
        pool,
        webhook_urls=api_settings.webhook_urls,
        webhook_sender=sender,
        max_range_days=api_settings.api_max_range_days,
        clock=clock,
        on_finished=lambda kind, state: metrics.exports.labels(kind, state).inc(),
    )
    services = Services(
        api_settings=api_settings,
        layer=QueryLayer(
            pool,
            cache,
            cell_height_px=settings.heatmap_cell_height_px,
            max_range_days=api_settings.api_max_range_days,
            clock=clock,
        ),
        verifier=verifier,
        limiter=in_memory_limiter,
        exports=exports,
        metrics=metrics,
        slots=TokenSlots(
            api_settings.api_max_requests_per_token, api_settings.api_max_queries_per_token
        ),
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The Redis client belongs to this event loop: made here, closed on the way out.
        redis = None
        if api_settings.redis_url:
            redis = redis_client(api_settings.redis_url)
            cache.use_redis(redis)
            services.limiter = RedisRateLimiter(
                redis, clock=clock, on_fallback=metrics.rate_limit_fallbacks.inc
            )
        try:
            yield
        finally:
            services.limiter = in_memory_limiter
            cache.use_redis(None)
            exports.close()
            pool.close()
            if redis is not None:
                await redis.aclose()

    app = FastAPI(
        title="InsightLite query API",
        version=API_VERSION,
        description="Heatmaps, sessions, stats and errors of the sites a token grants. "
        "Authenticate with `Authorization: Bearer <JWT>`.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    _install_error_handlers(app)
    # Inside the headers middleware, so its refusals are counted and carry the headers.
    app.add_middleware(
        AddressLimitMiddleware,
        settings=api_settings,
        limiter=lambda: services.limiter,
        on_refused=metrics.address_refused.inc,
    )
    app.add_middleware(ResponseHeadersMiddleware, metrics=metrics)
    app.include_router(rest_router)
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
            return _error(503, "not_ready", "the analytics store does not answer")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return app


def app_from_environment() -> FastAPI:
    """The app from ``INSIGHTLITE_*`` variables (the uvicorn factory of ``insightlite api``)."""
    return create_app(load_settings(), load_api_settings())
