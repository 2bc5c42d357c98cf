"""Prometheus metrics of the query API, on a registry of their own.

Routes are labelled by their template (``/v1/sites/{site}/heatmap``), never by the raw
path, so the label set stays bounded whatever clients send. With several uvicorn
workers set ``PROMETHEUS_MULTIPROC_DIR`` (``insightlite api`` does) and ``/metrics``
adds up every worker's counts.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as generate_text

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class APIMetrics:
    """The counters and histograms the API updates."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "insightlite_api_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "insightlite_api_request_duration_seconds",
            "Time from request to the end of the response, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "insightlite_api_cache_lookups",
            "Answer cache lookups by kind of answer and outcome (local, redis, miss).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "insightlite_api_rate_limit_rejections",
            "Requests refused with 429, by token tier.",
            ["tier"],
            registry=self.registry,
        )
        self.graphql_cost_refused = Counter(
            "insightlite_api_graphql_cost_rejections",
            "GraphQL queries refused for costing more than the tier's maximum, by tier.",
            ["tier"],
            registry=self.registry,
        )
        self.concurrency_refused = Counter(
            "insightlite_api_concurrency_rejections",
            "Requests refused with 429 because their token had too many in progress, by tier.",
            ["tier"],
            registry=self.registry,
        )
        self.address_refused = Counter(
            "insightlite_api_address_rate_limit_rejections",
            "Requests refused with 429 because their address had too many refused requests.",
            registry=self.registry,
        )
        self.rate_limit_fallbacks = Counter(
            "insightlite_api_rate_limit_store_fallbacks",
            "Requests limited in memory because Redis could not be reached.",
            registry=self.registry,
        )
        self.exports = Counter(
            "insightlite_api_exports",
            "Exports that finished, by kind and final state.",
            ["kind", "state"],
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "insightlite_api_webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, http_error, network_error).",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_text(registry), CONTENT_TYPE_LATEST
        return generate_text(self.registry), CONTENT_TYPE_LATEST
