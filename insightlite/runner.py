"""Run the pipeline: build the source, stages and sinks from settings, run, summarise."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bytewax.inputs import Source
from bytewax.testing import run_main

from connectors.clickhouse import apply_migrations, connect
from connectors.flow_sinks import ArchiveSink, clickhouse_sink, is_embedded
from connectors.sources import GeneratorSource, JsonLinesSource
from flows.pipeline import BatchLimits, FlowOutputs, build_flow
from flows.stages import build_sessions_spec, build_stages
from insightlite.metrics import RunTotals
from insightlite.settings import ConfigError, Settings
from operators.model import EventBatch, RawBatch

log = logging.getLogger("insightlite.run")


@dataclass(frozen=True)
class InputSpec:
    kind: str  # "generate" or "file"
    events: int = 0
    path: str = ""
    seed: int = 0


def parse_input(spec: str, seed: int = 0) -> InputSpec:
    """`generate:N` or `file:PATH` (a bare path means a file)."""
    kind, _, rest = spec.partition(":")
    if kind == "generate":
        try:
            events = int(rest.replace("_", ""))
        except ValueError:
            raise ConfigError(f"--input: 'generate:N' needs a whole number, got {rest!r}") from None
        if events < 0:
            raise ConfigError("--input: the number of events must not be negative")
        return InputSpec("generate", events=events, seed=seed)
    if kind == "file" and rest:
        return InputSpec("file", path=rest)
    raise ConfigError(f"--input: expected 'generate:N' or 'file:PATH', got {spec!r}")


def build_source(spec: InputSpec, settings: Settings, now: datetime) -> Source[RawBatch]:
    if spec.kind == "generate":
        return GeneratorSource(
            spec.events,
            seed=spec.seed,
            now_ms=int(now.timestamp() * 1000),
            batch_size=settings.input_batch_size,
        )
    try:
        return JsonLinesSource(spec.path, batch_size=settings.input_batch_size)
    except FileNotFoundError as exc:
        raise ConfigError(f"--input: {exc}") from None


def apply_schema(settings: Settings) -> list[str]:
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    return apply_migrations(client)


@contextlib.contextmanager
def batch_friendly_gc() -> Iterator[None]:
    """Fewer garbage-collector passes while batches of small dicts stream through.

    The flow's data holds no reference cycles, but every event dict counts as
    an allocation, so the default thresholds start a collection every few
    hundred events, and the full ones walk every live object. Objects alive
    at start-up are frozen out of collections altogether.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def serve_metrics(settings: Settings) -> None:
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info(
            "serving Prometheus metrics on %s:%d", settings.metrics_host, settings.metrics_port
        )


def run_pipeline(
    settings: Settings,
    spec: InputSpec,
    *,
    now: datetime | None = None,
    on_batch: Callable[[EventBatch], None] | None = None,
) -> dict[str, Any]:
    """Run the flow on one worker until the input ends; return the summary."""
    now = now or datetime.now(UTC)
    source = build_source(spec, settings, now)
    stages = build_stages(settings)
    applied = apply_schema(settings)
    if applied:
        log.info("applied schema migrations: %s", ", ".join(applied))
    totals = RunTotals()
    archive_url = settings.resolved_archive_url
    outputs = FlowOutputs(
        clickhouse=clickhouse_sink(
            settings.resolved_clickhouse_url, settings.clickhouse_database, totals=totals
        ),
        archive=ArchiveSink(
            archive_url, kind="archive", compression=settings.archive_compression, totals=totals
        ),
        dead_letter=ArchiveSink(archive_url, kind="dead_letter", totals=totals),
        sessions=clickhouse_sink(
            settings.resolved_clickhouse_url, settings.clickhouse_database, "sessions", totals
        ),
        heatmaps=clickhouse_sink(
            settings.resolved_clickhouse_url,
            settings.clickhouse_database,
            "heatmap_aggregates",
            totals,
        ),
        clickhouse_single_writer=is_embedded(settings.resolved_clickhouse_url),
    )
    limits = BatchLimits(
        clickhouse_rows=settings.sink_batch_rows,
        archive_rows=settings.archive_batch_rows,
        max_wait=timedelta(seconds=settings.sink_batch_seconds),
    )
    flow, _ = build_flow(
        "insightlite",
        source,
        stages,
        outputs,
        limits=limits,
        totals=totals,
        on_batch=on_batch,
        sessions=build_sessions_spec(settings),
    )
    serve_metrics(settings)
    started = time.perf_counter()
    with batch_friendly_gc():
        run_main(flow)
    seconds = time.perf_counter() - started
    summary = totals.as_dict()
    summary["seconds"] = round(seconds, 3)
    summary["events_per_second"] = round(summary["events_in"] / seconds) if seconds > 0 else 0
    return summary
