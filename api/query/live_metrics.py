"""Prometheus metrics of the live stream, on the query API's registry."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge


class LiveMetrics:
    """Connections, messages, drops, refusals and the source's state."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Gauge(
            "insightlite_api_live_connections",
            "Live stream connections open (streaming) in this process.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.messages = Counter(
            "insightlite_api_live_messages_sent",
            "Messages sent on live connections, by type (ready, event, summary, ping).",
            ["type"],
            registry=registry,
        )
        self.dropped = Counter(
            "insightlite_api_live_dropped_events",
            "Events dropped, oldest first, because a connection's queue was full.",
            registry=registry,
        )
        self.refusals = Counter(
            "insightlite_api_live_refusals",
            "Live connections refused before streaming, by close code.",
            ["code"],
            registry=registry,
        )
        self.closes = Counter(
            "insightlite_api_live_closes",
            "Streaming connections the server closed, by reason "
            "(token_expired, not_reading, shutdown).",
            ["reason"],
            registry=registry,
        )
        self.source_events = Counter(
            "insightlite_api_live_source_events",
            "Events the live source read for watched sites, by outcome (delivered, "
            "duplicate) or the reason a record could not be read.",
            ["outcome"],
            registry=registry,
        )
        self.source_reading = Gauge(
            "insightlite_api_live_source_reading",
            "1 while the live source reads (Kafka partitions assigned, or the ClickHouse "
            "tail answering), 0 otherwise.",
            registry=registry,
            multiprocess_mode="max",
        )

    # The source's observer (api.query.live_sources.SourceObserver).
    def unreadable(self, reason: str) -> None:
        self.source_events.labels(reason).inc()

    def reading(self, up: bool) -> None:
        self.source_reading.set(1 if up else 0)


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, LiveMetrics] = (
    weakref.WeakKeyDictionary()
)


def live_metrics(registry: CollectorRegistry) -> LiveMetrics:
    """The live stream's metrics on ``registry``, made once per registry (two apps
    sharing one registry share them, instead of registering the names twice)."""
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = _BY_REGISTRY[registry] = LiveMetrics(registry)
    return found
