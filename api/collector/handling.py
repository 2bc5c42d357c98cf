"""What every collector route does around its own work.

``RequestHandling.handle`` resolves the client's address, holds a request-in-progress
slot for a client behind a trusted proxy (api/collector/connections.py), turns a refusal
into its answer, and counts the answer and its latency in the route's metrics.
``read_body`` reads the body within its deadline and size limit, ``send_records`` writes
to Kafka and answers 413 or 503 when Kafka does not take it. ``/ingest`` and
``/replay`` use them alike; only what they check and write differs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from api.collector.connections import CONNECTION_RETRY_AFTER_S, ConnectionGuard
from api.collector.envelope import (
    EnvelopeError,
    client_ip,
    is_trusted_peer,
    parse_networks,
    rate_limit_key,
    too_large,
)
from api.collector.metrics import CollectorMetrics, RouteMetrics
from api.collector.producer import ProduceError, Record, RecordTooLarge
from foundation.settings import Settings

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

# A route's own work: the request and the client's address in, the answer out; a
# refusal may be raised as EnvelopeError.
RouteWork = Callable[[Request, str], Awaitable[Response]]


class RecordSink(Protocol):
    """What the collector needs from Kafka (``KafkaRecordProducer`` in production)."""

    async def send(self, records: list[Record]) -> None: ...

    async def ready(self) -> tuple[bool, str]: ...

    def close(self, timeout: float = 10.0) -> int: ...


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:MAX_USER_AGENT_CHARS]


async def preflight(request: Request) -> Response:
    """The CORS preflight of a POST route: any origin, without credentials."""
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)


def rate_limited(metrics: RouteMetrics, limit: str, retry_after: int, unit: str) -> Response:
    """429 for a client IP (``limit`` "ip") or a site over its rate of ``unit``."""
    what = "this client IP" if limit == "ip" else "this site"
    metrics.rejected.labels(f"rate_limited_{limit}").inc()
    return json_response(
        429,
        {"error": f"too many {unit} from {what}: retry after {retry_after} s"},
        {**CORS_HEADERS, "Retry-After": str(retry_after)},
    )


class ThrottledLog:
    """Logs a repeated failure at most once per interval, with how many were folded in."""

    def __init__(self, route: str, interval_s: float = 5.0) -> None:
        self.route = route
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
        log.warning("%s: " + message + suffix, self.route, *args)


async def send_records(
    sink: RecordSink,
    records: list[Record],
    metrics: RouteMetrics,
    produce_log: ThrottledLog,
    *,
    too_large_message: Callable[[RecordTooLarge], str] = str,
) -> Response | None:
    """None once Kafka acknowledged every record; else the answer: 413 for a record the
    producer cannot hold, 503 with Retry-After when Kafka did not take the write."""
    try:
        await sink.send(records)
    except RecordTooLarge as exc:
        metrics.rejected.labels("record_too_large").inc()
        return json_response(413, {"error": too_large_message(exc)}, CORS_HEADERS)
    except ProduceError as exc:
        metrics.produce_errors.labels(exc.code).inc(exc.failed)
        produce_log.warning(
            "answered 503: %d of %d records not taken by Kafka: %s",
            exc.failed,
            len(records),
            exc.reason,
        )
        return json_response(
            503,
            {"error": "the event store is unavailable: retry later"},
            {**CORS_HEADERS, "Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
        )
    return None


class RequestHandling:
    """The client address rules, the connection guard and the body deadline of one
    collector process, shared by its routes."""

    def __init__(self, settings: Settings, metrics: CollectorMetrics) -> None:
        self.trusted_proxies = parse_networks(settings.collector_trusted_proxies)
        self.body_timeout_s = settings.collector_body_timeout_seconds
        self.connections = ConnectionGuard(
            header_timeout_s=settings.collector_header_timeout_seconds,
            max_per_client=settings.collector_max_connections_per_client,
            trusted_proxies=self.trusted_proxies,
            # Refused before any route is known: counted with /ingest's refusals.
            count_refusal=lambda reason: metrics.rejected.labels(reason).inc(),
        )

    async def handle(self, request: Request, metrics: RouteMetrics, work: RouteWork) -> Response:
        """Run a route's ``work`` for the client's address; refusals become answers."""
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
            response = await work(request, ip)
        except EnvelopeError as exc:
            response = refusal(exc, metrics)
        except ClientDisconnect:
            # The client left before its body arrived: nothing was produced, and nobody
            # reads this answer.
            metrics.rejected.labels("client_disconnected").inc()
            response = json_response(400, {"error": "the client disconnected during the upload"})
        finally:
            if held is not None:
                self.connections.release(held)
        metrics.requests.labels(str(response.status_code)).inc()
        metrics.latency.observe(time.perf_counter() - started)
        return response

    async def read_body(self, request: Request, limit: int) -> bytes:
        """The body as sent; 413 past ``limit`` bytes, 408 past the body deadline."""
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


def refusal(exc: EnvelopeError, metrics: RouteMetrics) -> Response:
    """The answer to a refused request, counted by its reason."""
    metrics.rejected.labels(exc.code).inc()
    headers = dict(CORS_HEADERS)
    if exc.status == 429:
        headers["Retry-After"] = str(CONNECTION_RETRY_AFTER_S)
    if exc.status == 503:
        headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
    if exc.status == 408:
        # The rest of a slow body may still be on its way: do not wait for it.
        headers["Connection"] = "close"
    return json_response(exc.status, {"error": exc.reason}, headers)
