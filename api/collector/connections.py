"""Limits on connections, enforced in the HTTP server before a request reaches the app.

uvicorn has no deadline for a request's headers, so a client that opens connections and
never finishes its headers would hold them forever. The collector runs uvicorn with
the protocol classes below, which add:

- a header deadline: a request's headers must be complete within
  ``INSIGHTLITE_COLLECTOR_HEADER_TIMEOUT_SECONDS`` of the connection opening (or of the
  previous answer on a kept-alive connection); otherwise the connection is answered
  408 and closed;
- a cap on open connections per client address
  (``INSIGHTLITE_COLLECTOR_MAX_CONNECTIONS_PER_CLIENT``): one more is answered 429 and
  closed at once. The address is the rate limiter's (an IPv6 client by its /64). A
  trusted proxy's connections carry many clients, so they are not counted here: the app
  counts the requests in progress per forwarded client instead
  (``RequestHandling.handle``).

The body deadline is the app's (``RequestHandling.read_body``). The protocols find the
collector's ``ConnectionGuard`` in the lifespan state; without it (another app) they
behave exactly like uvicorn's own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.collector.envelope import IpNetwork, is_trusted_peer, rate_limit_key

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    _ProtocolBase = HttpToolsProtocol
else:
    _ProtocolBase = object

# The lifespan state key under which the app hands its guard to the protocol.
GUARD_STATE_KEY = "insightlite_connection_guard"
# Retry-After of a connection over the per-client cap: connections free up quickly.
CONNECTION_RETRY_AFTER_S = 1


class ConnectionGuard:
    """Open connections per client address, and the header deadline. One per process."""

    def __init__(
        self,
        *,
        header_timeout_s: float,
        max_per_client: int,
        trusted_proxies: Sequence[IpNetwork],
        count_refusal: Callable[[str], None],
    ) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_per_client = max_per_client
        self.trusted_proxies = trusted_proxies
        self.count_refusal = count_refusal
        self._open: Counter[str] = Counter()

    def direct_client_key(self, peer: str) -> str | None:
        """The peer's client key, or None for a trusted proxy (counted per request)."""
        if is_trusted_peer(peer, self.trusted_proxies):
            return None
        return rate_limit_key(peer)

    def acquire(self, key: str) -> bool:
        """Count one more connection of ``key``; False (and not counted) over the cap."""
        if self._open[key] >= self.max_per_client:
            return False
        self._open[key] += 1
        return True

    def release(self, key: str) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]  # a Counter of every address ever seen would only grow

    def open_connections(self, key: str) -> int:
        return self._open[key]


def refusal_bytes(status: int, reason: str, *, retry_after: int | None = None) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection, for use below the app."""
    body = orjson.dumps({"error": reason})
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        "access-control-allow-origin: *",
    ]
    if retry_after is not None:
        lines += ["access-control-expose-headers: Retry-After", f"retry-after: {retry_after}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _GuardedMixin(_ProtocolBase):
    """The guard's checks around uvicorn's HTTP/1.1 protocols (h11 and httptools).

    Uses only what both share: the asyncio.Protocol callbacks, ``on_response_complete``,
    ``app_state``, ``client``, ``transport``, ``loop`` and ``cycle`` (set when a request's
    headers are complete).
    """

    _guard: ConnectionGuard | None = None
    _client_key: str | None = None
    _header_timer: asyncio.TimerHandle | None = None
    _cycle_at_arm: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        guard = self.app_state.get(GUARD_STATE_KEY)
        if not isinstance(guard, ConnectionGuard):
            return
        self._guard = guard
        key = guard.direct_client_key(self.client[0] if self.client else "")
        if key is not None:
            if not guard.acquire(key):
                guard.count_refusal("too_many_connections")
                self._refuse(
                    429,
                    f"more than {guard.max_per_client} open connections from this client "
                    f"address: retry after {CONNECTION_RETRY_AFTER_S} s",
                    retry_after=CONNECTION_RETRY_AFTER_S,
                )
                return
            self._client_key = key
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._cycle_at_arm:
            self._cancel_header_timer()  # a new request's headers are complete

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._guard is not None and not self.transport.is_closing():
            self._arm_header_timer()  # the next request's headers have the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._guard is not None and self._client_key is not None:
            self._guard.release(self._client_key)
            self._client_key = None
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        assert self._guard is not None
        self._cancel_header_timer()
        self._cycle_at_arm = self.cycle
        self._header_timer = self.loop.call_later(
            self._guard.header_timeout_s, self._on_header_timeout
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self._guard is None or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a (pipelined) request is being answered: the app's deadlines apply
        self._guard.count_refusal("header_timeout")
        self._refuse(
            408,
            f"the request headers did not arrive within {self._guard.header_timeout_s:g} s",
        )

    def _refuse(self, status: int, reason: str, *, retry_after: int | None = None) -> None:
        self.transport.write(refusal_bytes(status, reason, retry_after=retry_after))
        self.transport.close()


class GuardedH11Protocol(_GuardedMixin, H11Protocol):  # type: ignore[misc]
    """uvicorn's h11 protocol with the collector's connection limits."""


def _auto_protocol() -> type[asyncio.Protocol]:
    # The same choice as uvicorn's "auto": httptools when installed, else h11.
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return GuardedH11Protocol

    class GuardedHttpToolsProtocol(_GuardedMixin, HttpToolsProtocol):
        """uvicorn's httptools protocol with the collector's connection limits."""

    return GuardedHttpToolsProtocol


GuardedHTTPProtocol = _auto_protocol()
