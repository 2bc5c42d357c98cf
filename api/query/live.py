"""The live stream: ``/v1/sites/{site}/live``, a WebSocket of a site's events as the
pipeline writes them, and a summary of its active visitors every second.

The token is never in the URL (URLs end up in logs): the client's first message is
``{"type": "auth", "token": "<JWT>"}``, within ``api_live_auth_timeout_seconds``. The
token is checked as a REST request's is (the same verifier: signature, algorithm,
audience, issuer, time claims), then

    4401  no auth message in time, no token, or a token that is not valid
    4400  a first message that is not ``{"type": "auth", "token": "..."}``, or a
          malformed site id
    4403  the token does not grant the site, or ``live:read``
    4429  too many refused answers from the address, the token's rate limit (opening a
          connection costs one request), the token's connections
          (``api_live_max_connections_per_token``) or the process's
          (``api_live_max_connections``)

each as a close code with a short reason. Refusals 4401, 4403 and 4429 count against
the client address as the REST refusals do (``api.query.guards``).

Then the server sends ``ready``, a summary, and events, summaries (every second) and
pings (every ``api_live_heartbeat_seconds``); see docs/api.md. A connection closes with
4401 when its token expires, 4408 when the client has not read for two heartbeats (its
sends are blocked), 1001 when the API stops. What the client sends after the auth
message is read and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import orjson
from fastapi import APIRouter, FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from api.query.auth import MAX_TOKEN_CHARS, PERMISSION_LIVE, AccessDenied, AuthError, Principal
from api.query.client_pool import ClientPool
from api.query.deps import Services
from api.query.live_events import ping_message, ready_message
from api.query.live_hub import (
    CLOSE_NOT_READING,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHORIZED,
    LiveConnection,
    LiveHub,
    LiveRefusal,
)
from api.query.live_metrics import LiveMetrics, live_metrics
from api.query.live_sources import (
    KafkaLiveSource,
    LiveSource,
    SourceObserver,
    WatchedSites,
    kafka_consumer_config,
)
from api.query.live_tail import ClickHouseTailSource
from connectors.clickhouse import ClickHouseClient
from connectors.kafka.topics import PROCESSED_EVENTS, topic_name
from foundation.settings import SITE_ID_PATTERN, Settings

log = logging.getLogger("insightlite.api.live")

ClientFactory = Callable[[], ClickHouseClient]

LIVE_PATH: Final = "/v1/sites/{site}/live"
CLOSE_MALFORMED: Final = 4400
CLOSE_FORBIDDEN: Final = 4403
# Refusals that take a token from the client address's bucket, as 401, 403 and 429 do.
ADDRESS_COUNTED: Final = frozenset({CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_TOO_MANY})
# The auth message: the token and a little JSON around it.
MAX_AUTH_MESSAGE_CHARS: Final = MAX_TOKEN_CHARS + 256
# A close frame's reason holds at most 123 bytes.
MAX_REASON_BYTES: Final = 123
# How long closing waits for a client that does not read (the close frame queues behind
# what it has not read); the connection is dropped after.
CLOSE_WAIT_SECONDS: Final = 2.0
# Live connections use one ClickHouse client each at most: seeding and the tail.
LIVE_POOL_SIZE: Final = 2


class _ClientGone(Exception):
    """The client closed the connection."""


class _AddressRefused(LiveRefusal):
    """The address has used up its refusals (not counted again, as REST's 429)."""


async def _receive_auth(websocket: WebSocket, timeout: float) -> str:
    """The token of the first message; LiveRefusal when there is none."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout)
    except TimeoutError:
        raise LiveRefusal(CLOSE_UNAUTHORIZED, f"no auth message within {timeout:g} s") from None
    if message["type"] == "websocket.disconnect":
        raise _ClientGone
    text = message.get("text")
    if text is None:
        raise LiveRefusal(CLOSE_MALFORMED, "the first message must be JSON text")
    if len(text) > MAX_AUTH_MESSAGE_CHARS:
        raise LiveRefusal(CLOSE_MALFORMED, "the first message is too long")
    try:
        body: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise LiveRefusal(CLOSE_MALFORMED, "the first message is not JSON") from None
    if not isinstance(body, dict) or body.get("type") != "auth":
        raise LiveRefusal(
            CLOSE_MALFORMED, 'the first message must be {"type": "auth", "token": ...}'
        )
    token = body.get("token")
    if token is None or token == "":
        raise LiveRefusal(CLOSE_UNAUTHORIZED, "token required")
    if not isinstance(token, str):
        raise LiveRefusal(CLOSE_MALFORMED, "token must be a string")
    return token


async def _admit(websocket: WebSocket, site: str, services: Services) -> tuple[Principal, str]:
    """The principal allowed to watch ``site``, checked in the order of REST requests
    (api.query.deps): the address's refusals, the token, its rate limit (a connection
    costs one request), the site id, then the site and permission."""
    settings = services.settings
    limit = settings.api_rate_limit_refused_per_address
    if not (await services.limiter.peek(_address_key(websocket), limit)).allowed:
        services.metrics.address_refused.inc()
        raise _AddressRefused(CLOSE_TOO_MANY, "too many refused requests from this address")
    token = await _receive_auth(websocket, settings.api_live_auth_timeout_seconds)
    try:
        principal = services.verifier.verify(token)
    except AuthError as exc:
        raise LiveRefusal(CLOSE_UNAUTHORIZED, exc.description) from None
    decision = await services.limiter.hit(
        principal.rate_key, settings.rate_limit_per_minute(principal.tier), 1
    )
    if not decision.allowed:
        services.metrics.rate_limited.labels(principal.tier).inc()
        raise LiveRefusal(CLOSE_TOO_MANY, "rate limited")
    if not SITE_ID_PATTERN.fullmatch(site):
        raise LiveRefusal(CLOSE_MALFORMED, "malformed site id (1-64 of A-Za-z0-9._-)")
    try:
        principal.require(site, PERMISSION_LIVE)
    except AccessDenied as exc:
        raise LiveRefusal(CLOSE_FORBIDDEN, exc.reason) from None
    return principal, token


def _address_key(websocket: WebSocket) -> str:
    # The key api.query.guards.AddressLimitMiddleware counts refused requests under.
    client = websocket.client
    return "address:" + (client.host if client else "unknown")


def _reason(text: str) -> str:
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with ``code``, unless the client is gone; a client that does not read is
    dropped after CLOSE_WAIT_SECONDS."""
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, TimeoutError):
        await asyncio.wait_for(websocket.close(code, _reason(reason)), CLOSE_WAIT_SECONDS)


async def _send_loop(
    websocket: WebSocket, connection: LiveConnection, metrics: LiveMetrics
) -> None:
    outbox = connection.outbox
    while True:
        kind, text = await outbox.take()
        connection.sending_since = time.monotonic()
        await websocket.send_text(text)
        connection.sending_since = None
        metrics.messages.labels(kind).inc()


async def _receive_loop(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _heartbeat(
    connection: LiveConnection, interval: float, services: Services, metrics: LiveMetrics
) -> None:
    """A ping every ``interval``; the connection is closed once a send has waited for
    two intervals (the client does not read)."""
    while True:
        await asyncio.sleep(interval)
        started = connection.sending_since
        if started is not None and time.monotonic() - started >= 2 * interval:
            metrics.closes.labels("not_reading").inc()
            connection.request_close(CLOSE_NOT_READING, "not reading: closed after two heartbeats")
            return
        connection.outbox.push_ping(ping_message(int(services.clock() * 1000)))


async def _stream(
    websocket: WebSocket, connection: LiveConnection, services: Services, metrics: LiveMetrics
) -> None:
    """Send until the client leaves or the server ends the connection."""
    await websocket.send_text(ready_message(connection.site))
    metrics.messages.labels("ready").inc()
    interval = services.settings.api_live_heartbeat_seconds
    tasks = {
        asyncio.create_task(_send_loop(websocket, connection, metrics)),
        asyncio.create_task(_receive_loop(websocket)),
        asyncio.create_task(_heartbeat(connection, interval, services, metrics)),
        asyncio.create_task(connection.close_requested.wait()),
    }
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failures = [task.exception() for task in done if not task.cancelled()]
    for failure in failures:
        # A client gone mid-send is the usual end; anything else is a bug, logged.
        if failure is not None and not isinstance(failure, WebSocketDisconnect | OSError):
            log.error("live stream: a connection of %s failed", connection.site, exc_info=failure)
    gone = any(failures) or websocket.client_state == WebSocketState.DISCONNECTED
    if connection.close_request is not None and not gone:
        await _close(websocket, connection.close_request.code, connection.close_request.reason)


def live_source(
    settings: Settings,
    pool: ClientPool,
    *,
    watched: WatchedSites,
    observer: SourceObserver,
    clock: Callable[[], float],
) -> LiveSource:
    """The Kafka source when a broker is configured, else the ClickHouse tail."""
    if settings.kafka_bootstrap_servers.strip():
        return KafkaLiveSource(
            kafka_consumer_config(settings),
            topic_name(settings, PROCESSED_EVENTS),
            watched=watched,
            observer=observer,
        )
    return ClickHouseTailSource(
        pool,
        watched=watched,
        observer=observer,
        poll_seconds=settings.api_live_tail_poll_seconds,
        batch_rows=settings.api_live_tail_batch_rows,
        lookback_seconds=settings.api_live_tail_lookback_seconds,
        recent_ids=settings.api_live_recent_ids,
        clock=clock,
    )


def live_router(services: Services, client_factory: ClientFactory) -> APIRouter:
    """The live stream's route, and its hub, stopped when the app stops."""
    settings = services.settings
    metrics = live_metrics(services.metrics.registry)
    pool = ClientPool(client_factory, LIVE_POOL_SIZE)

    def make_source(watched: WatchedSites, observer: SourceObserver) -> LiveSource:
        return live_source(settings, pool, watched=watched, observer=observer, clock=services.clock)

    hub = LiveHub(
        verifier=services.verifier,
        metrics=metrics,
        source_factory=make_source,
        pool=pool,
        queue_messages=settings.api_live_queue_messages,
        max_connections=settings.api_live_max_connections,
        max_connections_per_token=settings.api_live_max_connections_per_token,
        recent_ids=settings.api_live_recent_ids,
        clock=services.clock,
        min_crowd=settings.min_crowd_for,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.live_hub = hub
        try:
            yield
        finally:
            await hub.close()

    router = APIRouter(lifespan=lifespan)

    async def live(websocket: WebSocket, site: str) -> None:
        """A site's events and active visitors, live (see the module doc)."""
        await websocket.accept()
        if not hub.try_open():
            await _refuse_with(websocket, LiveRefusal(CLOSE_TOO_MANY, "too many live connections"))
            return
        try:
            principal, token = await _admit(websocket, site, services)
            async with hub.stream(site, principal, token) as connection:
                await _stream(websocket, connection, services, metrics)
        except LiveRefusal as refusal:
            await _refuse_with(websocket, refusal)
        except (_ClientGone, WebSocketDisconnect):
            pass
        finally:
            hub.release_open()

    async def _refuse_with(websocket: WebSocket, refusal: LiveRefusal) -> None:
        metrics.refusals.labels(str(refusal.code)).inc()
        await _close(websocket, refusal.code, refusal.reason)
        if refusal.code in ADDRESS_COUNTED and not isinstance(refusal, _AddressRefused):
            limit = settings.api_rate_limit_refused_per_address
            await services.limiter.hit(_address_key(websocket), limit)

    router.add_api_websocket_route(LIVE_PATH, live, name="live")
    return router
