"""The collector's Prometheus metrics, one registry per app.

``POST /ingest`` keeps the names the dashboards and alerts in ``infra/`` use
(``insightlite_collector_requests``, ``_events_accepted``, ``_rejected_requests``,
``_kafka_produce_errors``, ``_request_seconds``); ``POST /replay`` has the same set under
``insightlite_collector_replay_*``, so replay traffic (few, large requests) never skews
the event route's rates and latencies. Refusals made before a request reaches a route
(a header deadline, a connection over the per-client cap) are counted with the ingest
route's refusals, as they always were.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class RouteMetrics:
    """What the shared request handling counts for one route."""

    requests: PromCounter  # by HTTP status
    accepted: PromCounter  # events (/ingest) or chunks (/replay) acknowledged by Kafka
    rejected: PromCounter  # by reason
    produce_errors: PromCounter  # records Kafka did not take, by error
    latency: Histogram
    # Requests answered 202 but not written, by reason (bots on /replay).
    filtered: PromCounter | None = None


@dataclass
class CollectorMetrics:
    registry: CollectorRegistry
    requests: PromCounter
    events_accepted: PromCounter
    rejected: PromCounter
    produce_errors: PromCounter
    latency: Histogram
    replay_requests: PromCounter
    replay_chunks_accepted: PromCounter
    replay_rejected: PromCounter
    replay_produce_errors: PromCounter
    replay_latency: Histogram
    replay_filtered: PromCounter

    @classmethod
    def create(cls) -> CollectorMetrics:
        # A registry per app: tests build many apps in one process. Under several
        # workers the values also go to PROMETHEUS_MULTIPROC_DIR and /metrics sums them.
        registry = CollectorRegistry(auto_describe=True)

        def counter(name: str, help_text: str, labels: tuple[str, ...] = ()) -> PromCounter:
            return PromCounter(name, help_text, list(labels), registry=registry)

        def histogram(name: str, help_text: str) -> Histogram:
            return Histogram(name, help_text, buckets=LATENCY_BUCKETS, registry=registry)

        return cls(
            registry=registry,
            requests=counter(
                "insightlite_collector_requests",
                "Ingest requests answered, by HTTP status",
                ("status",),
            ),
            events_accepted=counter(
                "insightlite_collector_events_accepted",
                "Events acknowledged by Kafka and answered 202",
            ),
            rejected=counter(
                "insightlite_collector_rejected_requests",
                "Ingest requests refused, by reason",
                ("reason",),
            ),
            produce_errors=counter(
                "insightlite_collector_kafka_produce_errors",
                "Records Kafka did not take, by error",
                ("error",),
            ),
            latency=histogram(
                "insightlite_collector_request_seconds",
                "Ingest request latency, from the first body byte to the answer",
            ),
            replay_requests=counter(
                "insightlite_collector_replay_requests",
                "Replay chunk requests answered, by HTTP status",
                ("status",),
            ),
            replay_chunks_accepted=counter(
                "insightlite_collector_replay_chunks_accepted",
                "Replay chunks acknowledged by Kafka and answered 202",
            ),
            replay_rejected=counter(
                "insightlite_collector_replay_rejected_requests",
                "Replay chunk requests refused, by reason",
                ("reason",),
            ),
            replay_produce_errors=counter(
                "insightlite_collector_replay_kafka_produce_errors",
                "Replay records Kafka did not take, by error",
                ("error",),
            ),
            replay_latency=histogram(
                "insightlite_collector_replay_request_seconds",
                "Replay chunk request latency, from the first body byte to the answer",
            ),
            replay_filtered=counter(
                "insightlite_collector_replay_filtered_chunks",
                "Replay chunks answered 202 but not written (bots), by reason",
                ("reason",),
            ),
        )

    @property
    def ingest(self) -> RouteMetrics:
        return RouteMetrics(
            self.requests, self.events_accepted, self.rejected, self.produce_errors, self.latency
        )

    @property
    def replay(self) -> RouteMetrics:
        return RouteMetrics(
            self.replay_requests,
            self.replay_chunks_accepted,
            self.replay_rejected,
            self.replay_produce_errors,
            self.replay_latency,
            self.replay_filtered,
        )

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)
