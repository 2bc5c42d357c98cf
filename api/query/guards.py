"""Guards that keep one client from starving the others (besides the token buckets).

- :class:`TokenSlots`: per process, at most ``api_max_requests_per_token`` requests of
  one token in progress (more answer 429 with ``Retry-After``), and at most
  ``api_max_queries_per_token`` of its ClickHouse queries running at once (more wait
  for their turn). The pool holds ``api_clickhouse_pool_size`` clients, so one token's
  heavy queries, even the fields of one GraphQL query, leave clients for other tokens.
  The request's query semaphore travels in a context variable, which the query layer
  reads (tasks that GraphQL starts for its fields inherit it).
- :class:`AddressLimitMiddleware`: every 401, 403 or 429 answer takes a token from the
  client address's bucket (``api_rate_limit_refused_per_address`` per minute); once it
  is empty every request from that address answers 429 until it refills, before any
  token is checked. Unauthenticated floods and token guessing are limited this way.
  The address is the connection's peer as the server sees it (behind a proxy, run
  uvicorn with its proxy-headers options so it is the client's).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.query.models import ErrorBody
from api.query.ratelimit import RateLimiter
from foundation.settings import Settings

# The semaphore of the current request's token, read by QueryLayer before each query.
QUERY_SLOTS: contextvars.ContextVar[asyncio.Semaphore | None] = contextvars.ContextVar(
    "insightlite_query_slots", default=None
)
REFUSED_STATUSES: Final = frozenset({401, 403, 429})
# Liveness, readiness and metrics stay reachable for monitoring from any address.
EXEMPT_PATHS: Final = frozenset({"/health", "/ready", "/metrics"})
CONCURRENCY_RETRY_AFTER_SECONDS: Final = 1


class TooManyInProgress(Exception):
    """The token already has its maximum of requests in progress (HTTP 429)."""

    def __init__(self, maximum: int) -> None:
        super().__init__(f"{maximum} requests of this token are already in progress")
        self.maximum = maximum


@dataclass
class _TokenEntry:
    requests: int
    queries: asyncio.Semaphore


class TokenSlots:
    """Requests in progress and running queries per token, in this process.

    Used from the event loop only (no lock needed); an entry lives while its token has
    a request in progress, so the table never outgrows the requests being served.
    """

    def __init__(self, max_requests: int, max_queries: int) -> None:
        self._max_requests = max_requests
        self._max_queries = max_queries
        self._entries: dict[str, _TokenEntry] = {}

    def in_progress(self, key: str) -> int:
        entry = self._entries.get(key)
        return 0 if entry is None else entry.requests

    @asynccontextmanager
    async def request(self, key: str) -> AsyncIterator[asyncio.Semaphore]:
        """A slot for one request of ``key``; TooManyInProgress when none is free."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _TokenEntry(0, asyncio.Semaphore(self._max_queries))
        if entry.requests >= self._max_requests:
            raise TooManyInProgress(self._max_requests)
        entry.requests += 1
        try:
            yield entry.queries
        finally:
            entry.requests -= 1
            if entry.requests == 0:
                del self._entries[key]


def error_response(status: int, error: str, message: str, headers: dict[str, str]) -> Response:
    body = ErrorBody(error=error, message=message).model_dump_json(exclude_none=True)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class AddressLimitMiddleware:
    """Pure ASGI: refused answers count per client address (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        limiter: Callable[[], RateLimiter],
        on_refused: Callable[[], None],
    ) -> None:
        self.app = app
        self.limit = settings.api_rate_limit_refused_per_address
        # Read per request: the app swaps in the Redis limiter when it starts.
        self.limiter = limiter
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client: Any = scope.get("client")
        key = "address:" + (str(client[0]) if client else "unknown")
        limiter = self.limiter()
        decision = await limiter.peek(key, self.limit)
        if not decision.allowed:
            self.on_refused()
            refusal = error_response(
                429,
                "rate_limited",
                "too many refused requests from this address",
                decision.headers(),
            )
            await refusal(scope, receive, send)
            return
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            if status in REFUSED_STATUSES:
                await limiter.hit(key, self.limit)
