"""The visitor fields ``/ingest`` writes instead of the client's IP and user agent.

Every request's events get their derived fields (operators/visitor.py) with the key of
the collector's UTC day (``received_at``). The collector keeps today's and tomorrow's
keys created ahead (at start and when its day turns), and sweeps expired keys as it
goes. When the key store cannot be reached, the request is refused with 503: an event
is never written with an unkeyed or stand-in hash.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio.to_thread

from api.collector.envelope import EnvelopeError
from connectors.visitor_keys import DailyKeys, KeyStoreUnavailable
from foundation.units import HOUR_MS
from operators.visitor import Client, VisitorDeriver, VisitorFields, key_day

log = logging.getLogger("insightlite.collector")

KEY_STORE_RETRY_AFTER_S = 5
SWEEP_INTERVAL_MS = HOUR_MS


class KeyStoreDown(EnvelopeError):
    """503: the visitor-key store cannot be reached; counted as ``key_store_unavailable``."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            503,
            "key_store_unavailable",
            "the visitor-key store is unavailable: retry later",
        )
        self.detail = reason


class EdgeVisitors:
    """Derives the visitor fields of a request's events, with the day keys it keeps."""

    def __init__(self, deriver: VisitorDeriver, keys: DailyKeys) -> None:
        self.deriver = deriver
        self.keys = keys
        self._ready_day: int | None = None
        self._last_sweep_ms: int | None = None

    def prepare(self, now_ms: int) -> None:
        """Ensure today's and tomorrow's keys and sweep expired ones when due (blocking)."""
        day = key_day(now_ms)
        if self._ready_day != day:
            self.keys.ensure_ahead()
            self._ready_day = day
        if self._last_sweep_ms is None or now_ms - self._last_sweep_ms >= SWEEP_INTERVAL_MS:
            destroyed = self.keys.sweep()
            self._last_sweep_ms = now_ms
            if destroyed:
                log.info("destroyed the visitor keys of %d day(s)", len(destroyed))

    def start(self, now_ms: int) -> None:
        """At start-up: create the keys ahead; a store down now is logged, not fatal
        (requests answer 503 until it is back)."""
        try:
            self.prepare(now_ms)
        except KeyStoreUnavailable as exc:
            log.warning("visitor-key store unavailable at start: %s", exc)

    def _blocking_fields(
        self, events: Sequence[dict[str, Any]], ip: str, ua: str, received_at: int
    ) -> list[VisitorFields]:
        self.prepare(received_at)
        day = key_day(received_at)
        key = self.keys.key(day)
        clients = [Client(str(event["site_id"]), ip, ua, received_at) for event in events]
        return self.deriver.derive(clients, {day: key})

    async def fields(
        self, events: Sequence[dict[str, Any]], ip: str, ua: str, received_at: int
    ) -> list[VisitorFields]:
        """The events' visitor fields; KeyStoreDown (503) when the store is unreachable."""
        try:
            day = key_day(received_at)
            in_memory = self._ready_day == day and self.keys.cached(day)
            if in_memory and not self._sweep_due(received_at):
                return self._blocking_fields(events, ip, ua, received_at)
            # The store is asked: do not block the event loop on it.
            return await anyio.to_thread.run_sync(
                self._blocking_fields, events, ip, ua, received_at
            )
        except KeyStoreUnavailable as exc:
            raise KeyStoreDown(str(exc)) from None

    def _sweep_due(self, now_ms: int) -> bool:
        return self._last_sweep_ms is None or now_ms - self._last_sweep_ms >= SWEEP_INTERVAL_MS
