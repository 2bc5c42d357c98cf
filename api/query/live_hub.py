"""The live stream's state in one API process: who watches which site, the shared source
and window of each site, and each connection's bounded queue.

- One source (:mod:`api.query.live_sources`) runs while at least one connection
  streams, and stops when the last one leaves or the app stops.
- Each watched site has an :class:`~api.query.live_events.ActivityWindow`, started from
  ClickHouse's events of the last five minutes when its first connection arrives, and
  dropped when its last one leaves.
- Events are fanned out to every connection of their site, in the order the source
  read them; an event id seen lately is dropped (Kafka delivers at least once).
- A connection's :class:`Outbox` holds at most ``api_live_queue_messages`` events: when
  it is full the oldest is dropped and counted, and the next summary says how many.
  The latest summary and ping wait beside it, and go first.
- Every second each connection gets its site's summary, and a connection whose token
  has expired meanwhile is closed (4401).

Everything here runs on the app's event loop (no locks but the lifecycle's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

import anyio.to_thread

from api.query.auth import AuthError, Principal, TokenVerifier
from api.query.client_pool import ClientPool
from api.query.live_crowd import CellCrowds
from api.query.live_events import (
    ACTIVE_WINDOW_MS,
    MAX_ACTIVE_KEYS,
    ActivityWindow,
    LiveEvent,
    RecentIds,
    SiteSummary,
)
from api.query.live_metrics import LiveMetrics
from api.query.live_sources import LiveSource, SourceObserver, WatchedSites
from api.query.live_tail import recent_activity

log = logging.getLogger("insightlite.api.live")

Clock = Callable[[], float]
SourceFactory = Callable[[WatchedSites, SourceObserver], LiveSource]

SUMMARY_SECONDS: Final = 1.0
# events_per_second is the mean over this many summaries.
RATE_TICKS: Final = 10
# How long a new connection waits for its source to read and its window to be seeded
# before it is told ready anyway (the source keeps trying; events follow once it reads).
READY_WAIT_SECONDS: Final = 5.0
# How long shutting down waits for open connections to close.
SHUTDOWN_WAIT_SECONDS: Final = 5.0

CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_TOO_MANY: Final = 4429
CLOSE_NOT_READING: Final = 4408
CLOSE_GOING_AWAY: Final = 1001


class LiveRefusal(Exception):
    """A connection is refused or ended with an application close code and a reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class Outbox:
    """What waits to be sent on one connection (see the module doc)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._events: deque[str] = deque()
        self._ping: str | None = None
        self._summary: SiteSummary | None = None
        self._dropped = 0
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._events)

    def push_event(self, message: str) -> bool:
        """Queue an event; False when the oldest one was dropped to make room."""
        room = len(self._events) < self._capacity
        if not room:
            self._events.popleft()
            self._dropped += 1
        self._events.append(message)
        self._wake.set()
        return room

    def push_summary(self, summary: SiteSummary) -> None:
        self._summary = summary
        self._wake.set()

    def push_ping(self, message: str) -> None:
        self._ping = message
        self._wake.set()

    async def take(self) -> tuple[str, str]:
        """The next (type, text) to send: the ping, the summary (with the events dropped
        since the previous one), then the oldest event."""
        while True:
            if self._ping is not None:
                message, self._ping = self._ping, None
                return "ping", message
            if self._summary is not None:
                summary, self._summary = self._summary, None
                dropped, self._dropped = self._dropped, 0
                return "summary", summary.message(dropped)
            if self._events:
                return "event", self._events.popleft()
            self._wake.clear()
            await self._wake.wait()


@dataclass(eq=False)
class LiveConnection:
    """One streaming connection: its site, token, queue and state."""

    site: str
    principal: Principal
    token: str
    outbox: Outbox
    # When the send in progress started (monotonic), None between sends.
    sending_since: float | None = None
    close_request: LiveRefusal | None = None
    close_requested: asyncio.Event = field(default_factory=asyncio.Event)

    def request_close(self, code: int, reason: str) -> None:
        if self.close_request is None:
            self.close_request = LiveRefusal(code, reason)
            self.close_requested.set()


@dataclass(eq=False)
class _Site:
    window: ActivityWindow
    cells: CellCrowds
    connections: set[LiveConnection] = field(default_factory=set)
    seeded: asyncio.Event = field(default_factory=asyncio.Event)
    seeding: asyncio.Task[None] | None = None
    events_this_tick: int = 0
    recent_ticks: deque[int] = field(default_factory=lambda: deque(maxlen=RATE_TICKS))


class LiveHub:
    """Connections, sites, the source and the summaries of one process."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        metrics: LiveMetrics,
        source_factory: SourceFactory,
        pool: ClientPool,
        queue_messages: int,
        max_connections: int,
        max_connections_per_token: int,
        recent_ids: int,
        clock: Clock,
        min_crowd: Callable[[str], int] = lambda _site: 1,
    ) -> None:
        self._verifier = verifier
        self.metrics = metrics
        self._source_factory = source_factory
        self._pool = pool
        self._queue_messages = queue_messages
        self._max_connections = max_connections
        self._max_per_token = max_connections_per_token
        self._recent_ids = recent_ids
        self._clock = clock
        self._min_crowd = min_crowd
        self._open = 0
        self._per_token: dict[str, int] = {}
        self._sites: dict[str, _Site] = {}
        self._watched: frozenset[str] = frozenset()
        self._recent = RecentIds(recent_ids)
        self._source_task: asyncio.Task[None] | None = None
        self._source_ready: asyncio.Event | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._lifecycle: asyncio.Lock | None = None
        self._idle: asyncio.Event | None = None

    # -- admission ---------------------------------------------------------------------

    def try_open(self) -> bool:
        """Count a new connection (authenticating or streaming) against the process cap."""
        if self._open >= self._max_connections:
            return False
        self._open += 1
        return True

    def release_open(self) -> None:
        self._open -= 1

    def watched_sites(self) -> frozenset[str]:
        return self._watched

    @property
    def source_running(self) -> bool:
        """Whether the source runs (while any connection streams)."""
        return self._source_task is not None

    @asynccontextmanager
    async def stream(
        self, site: str, principal: Principal, token: str
    ) -> AsyncIterator[LiveConnection]:
        """A connection of ``site`` for its lifetime, once its window is seeded and the
        source reads (or after READY_WAIT_SECONDS); LiveRefusal over the token's limit."""
        key = principal.rate_key
        if self._per_token.get(key, 0) >= self._max_per_token:
            raise LiveRefusal(
                CLOSE_TOO_MANY, f"this token already has {self._max_per_token} live connections"
            )
        self._per_token[key] = self._per_token.get(key, 0) + 1
        connection = LiveConnection(site, principal, token, Outbox(self._queue_messages))
        try:
            state = await self._join(connection)
            await self._wait_ready(state)
            connection.outbox.push_summary(self._summary(state, count_tick=False))
            self.metrics.connections.inc()
            try:
                yield connection
            finally:
                self.metrics.connections.dec()
        finally:
            await self._leave(connection)
            self._per_token[key] -= 1
            if not self._per_token[key]:
                del self._per_token[key]

    def _lock(self) -> asyncio.Lock:
        if self._lifecycle is None:
            self._lifecycle = asyncio.Lock()
        return self._lifecycle

    async def _join(self, connection: LiveConnection) -> _Site:
        async with self._lock():
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            if self._source_task is None:
                self._start_source()
            state = self._sites.get(connection.site)
            if state is None:
                state = self._sites[connection.site] = _Site(
                    ActivityWindow(), CellCrowds(self._min_crowd(connection.site))
                )
                state.seeding = asyncio.create_task(self._seed(connection.site, state))
                self._watched = frozenset(self._sites)
            state.connections.add(connection)
            return state

    async def _wait_ready(self, state: _Site) -> None:
        assert self._source_ready is not None
        waits = [
            asyncio.create_task(state.seeded.wait()),
            asyncio.create_task(self._source_ready.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=READY_WAIT_SECONDS)
        finally:
            for wait in waits:
                wait.cancel()

    async def _leave(self, connection: LiveConnection) -> None:
        async with self._lock():
            state = self._sites.get(connection.site)
            if state is not None:
                state.connections.discard(connection)
                if not state.connections:
                    del self._sites[connection.site]
                    self._watched = frozenset(self._sites)
                    if state.seeding is not None:
                        await _cancel(state.seeding)
            if not self._sites:
                await self._stop_source()
                assert self._idle is not None
                self._idle.set()

    # -- the source and the ticks -------------------------------------------------------

    def _start_source(self) -> None:
        self._source_ready = asyncio.Event()
        source = self._source_factory(self.watched_sites, self.metrics)
        self._source_task = asyncio.create_task(self._run_source(source, self._source_ready))
        self._ticker = asyncio.create_task(self._tick())

    async def _run_source(self, source: LiveSource, ready: asyncio.Event) -> None:
        try:
            await source.run(self.publish, ready)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A source handles its own failures; this is a bug, logged, not a crash.
            log.exception("live stream: the %s source stopped", source.name)

    async def _stop_source(self) -> None:
        for task in (self._ticker, self._source_task):
            if task is not None:
                await _cancel(task)
        self._ticker = self._source_task = None
        self.metrics.reading(False)

    def publish(self, events: list[LiveEvent]) -> None:
        """Fan ``events`` out to their sites' connections, dropping duplicates."""
        now_ms = int(self._clock() * 1000)
        delivered = duplicates = dropped = 0
        for event in events:
            state = self._sites.get(event.site_id)
            if state is None:
                continue
            if not self._recent.add(event.event_id):
                duplicates += 1
                continue
            delivered += 1
            state.events_this_tick += 1
            state.window.see(event.session_id, event.ip_hash, event.timestamp_ms, now_ms)
            message = event.message
            cell, coarse = event.cell, event.coarse_message
            # A dot on the live heatmap only from a cell of k sessions or more.
            if cell is not None and coarse is not None:
                message = message if state.cells.see(cell, event.session_id) else coarse
            for connection in state.connections:
                if not connection.outbox.push_event(message):
                    dropped += 1
        if delivered:
            self.metrics.source_events.labels("delivered").inc(delivered)
        if duplicates:
            self.metrics.source_events.labels("duplicate").inc(duplicates)
        if dropped:
            self.metrics.dropped.inc(dropped)

    async def _seed(self, site: str, state: _Site) -> None:
        """Start the site's window from ClickHouse's last five minutes of events."""
        since_ms = int(self._clock() * 1000) - ACTIVE_WINDOW_MS

        def read() -> list[tuple[str, int, int]]:
            with self._pool.client() as client:
                return recent_activity(client, site, since_ms, MAX_ACTIVE_KEYS)

        try:
            rows = await anyio.to_thread.run_sync(read)
        except Exception as exc:
            # No events table yet, or ClickHouse down: the window starts empty.
            log.warning("live stream: cannot seed %s's active visitors (%s)", site, exc)
        else:
            now_ms = int(self._clock() * 1000)
            for session_id, ip_hash, latest_ms in rows:
                state.window.see(session_id, ip_hash, latest_ms, now_ms)
        finally:
            state.seeded.set()

    def _summary(self, state: _Site, *, count_tick: bool) -> SiteSummary:
        now_ms = int(self._clock() * 1000)
        if count_tick:
            state.recent_ticks.append(state.events_this_tick)
            state.events_this_tick = 0
        ticks = state.recent_ticks
        rate = sum(ticks) / (len(ticks) * SUMMARY_SECONDS) if ticks else 0.0
        visitors, sessions = state.window.counts(now_ms)
        held = sessions < state.cells.min_crowd
        return SiteSummary(now_ms, visitors, sessions, rate, suppressed=held)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(SUMMARY_SECONDS)
            for state in list(self._sites.values()):
                summary = self._summary(state, count_tick=True)
                for connection in list(state.connections):
                    self._check_token(connection)
                    connection.outbox.push_summary(summary)

    def _check_token(self, connection: LiveConnection) -> None:
        """Close the connection (4401) once its token is no longer valid."""
        if connection.close_request is not None:
            return
        try:
            self._verifier.verify(connection.token)
        except AuthError as exc:
            self.metrics.closes.labels("token_expired").inc()
            connection.request_close(CLOSE_UNAUTHORIZED, exc.description)

    # -- shutdown ----------------------------------------------------------------------

    async def close(self) -> None:
        """Close every connection (1001), stop the source and close the clients."""
        for state in list(self._sites.values()):
            for connection in state.connections:
                if connection.close_request is None:
                    self.metrics.closes.labels("shutdown").inc()
                connection.request_close(CLOSE_GOING_AWAY, "server shutting down")
        if self._sites and self._idle is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), SHUTDOWN_WAIT_SECONDS)
        async with self._lock():
            for state in self._sites.values():
                if state.seeding is not None:
                    await _cancel(state.seeding)
            await self._stop_source()
        await anyio.to_thread.run_sync(self._pool.close)
        # A later start of the app (in another event loop) begins afresh.
        self._lifecycle = self._idle = None
        self._recent = RecentIds(self._recent_ids)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
