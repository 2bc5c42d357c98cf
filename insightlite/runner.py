"""Run the pipeline: build the source, stages and sinks from settings, run, summarise.

One process by default; `processes > 1` starts that many worker processes on
this machine; `process_id` with `addresses` joins a cluster spread over
machines (the same command runs on each).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.testing import cluster_main, run_main

from connectors.archive import ArchiveWriter
from connectors.clickhouse import ClickHouseUnavailable, apply_migrations, connect, redact_url
from connectors.clickhouse.retention import apply_settings_retention
from connectors.crypto import archive_cipher
from connectors.flow_sinks import (
    ArchiveSink,
    clickhouse_sink,
    close_deferred_clients,
    is_embedded,
)
from connectors.refusals import RefusedRows
from connectors.retry import retry_forever
from connectors.sources import JsonLinesSource
from devtools.sources import GeneratorSource
from flows.cluster import run_local_cluster
from flows.kafka_outputs import KafkaOutputs, kafka_outputs
from flows.pipeline import BatchLimits, FlowOutputs, build_flow
from flows.stages import build_sessions_spec, build_stages
from foundation.metrics import RunTotals
from foundation.settings import ConfigError, Settings
from insightlite.recovery import existing_recovery_config, recovery_config, with_kafka_recovery
from insightlite.replay_wiring import add_replay, replay_source
from insightlite.worker_endpoints import serve_worker_endpoints
from insightlite.worker_settings import settings_json_with_secrets, worker_settings
from operators.columnar.batch import ColumnBatch
from operators.model import RawBatch

log = logging.getLogger("insightlite.run")


@dataclass(frozen=True)
class InputSpec:
    kind: str  # "generate", "file" or "kafka"
    events: int = 0
    path: str = ""
    seed: int = 0
    stop_at_end: bool = False  # kafka: stop once every partition is read to its end
    replay_file: str = ""  # recording chunks from a JSON-lines file (Kafka reads its topic)


def parse_input(spec: str, seed: int = 0, *, stop_at_end: bool = False) -> InputSpec:
    """`generate:N`, `file:PATH` or `kafka`."""
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
    if kind == "kafka" and not rest:
        return InputSpec("kafka", stop_at_end=stop_at_end)
    raise ConfigError(f"--input: expected 'generate:N', 'file:PATH' or 'kafka', got {spec!r}")


def build_source(spec: InputSpec, settings: Settings, now: datetime) -> Source[RawBatch]:
    if spec.kind == "generate":
        return GeneratorSource(
            spec.events,
            seed=spec.seed,
            now_ms=int(now.timestamp() * 1000),
            batch_size=settings.input_batch_size,
        )
    if spec.kind == "kafka":
        from connectors.kafka.config import quiet_client_config
        from connectors.kafka.raw_source import RawEventsSource, wait_for_topic
        from connectors.kafka.topics import RAW_EVENTS, topic_name

        if not settings.kafka_bootstrap_servers:
            raise ConfigError("INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS: needed for --input kafka")
        config = quiet_client_config(settings)
        topic = topic_name(settings, RAW_EVENTS)
        # Bounded: the source itself would wait for an unreachable broker forever.
        wait_for_topic(config, topic, settings.kafka_connect_timeout_seconds)
        brokers = config.pop("bootstrap.servers").split(",")
        source: Source[RawBatch] = RawEventsSource(  # type: ignore[assignment]
            brokers,
            [topic],
            tail=not spec.stop_at_end,
            starting_offset=_starting_offset(settings),
            add_config=config,
            batch_size=settings.kafka_batch_size,
            raise_on_errors=False,
        )
        return source
    try:
        return JsonLinesSource(spec.path, batch_size=settings.input_batch_size)
    except FileNotFoundError as exc:
        raise ConfigError(f"--input: {exc}") from None


def _starting_offset(settings: Settings) -> int:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

    return OFFSET_BEGINNING if settings.kafka_starting_offset == "earliest" else OFFSET_END


def apply_schema(settings: Settings) -> list[str]:
    """Apply pending migrations and the tables' retention settings, waiting for ClickHouse when it
    is not up yet."""

    def attempt() -> list[str]:
        client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
        try:
            applied = apply_migrations(client)
            apply_settings_retention(client, settings)
            return applied
        finally:
            # The embedded engine locks its directory: let go of it for the flow.
            client.close()

    warned: list[bool] = []

    def say_how_to_fix() -> None:
        if not warned:  # once: the retries each log one line of their own
            warned.append(True)
            log.warning(
                "waiting for ClickHouse at %s: start it, or stop the run (Ctrl-C) and fix "
                "INSIGHTLITE_CLICKHOUSE_URL",
                redact_url(settings.resolved_clickhouse_url),
            )

    return retry_forever(
        attempt,
        retryable=(ClickHouseUnavailable,),
        what="schema migrations",
        on_retry=say_how_to_fix,
    )


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


def serve_metrics(settings: Settings, port_offset: int = 0) -> None:
    """/metrics, /health and /ready (503 while a writer cannot write) on the metrics port."""
    if settings.metrics_port:
        # Worker processes started together on one machine take consecutive
        # ports; a process of a multi-machine cluster keeps the configured one.
        port = settings.metrics_port + port_offset
        serve_worker_endpoints(settings.metrics_host, port)
        log.info("serving /metrics, /health, /ready on %s:%d", settings.metrics_host, port)


def build_pipeline_flow(
    settings: Settings,
    spec: InputSpec,
    *,
    now: datetime,
    totals: RunTotals,
    on_batch: Callable[[ColumnBatch], None] | None = None,
    process_count: int = 1,
    source: Source[RawBatch] | None = None,
) -> Dataflow:
    """The production flow for these settings and this input (`source`, when
    already built, is the input's source)."""
    source = source or build_source(spec, settings, now)
    stages = build_stages(settings)
    url = settings.resolved_clickhouse_url
    database = settings.clickhouse_database
    archive_url = settings.resolved_archive_url
    # Dead letters' payloads and recordings are encrypted under per-site data keys.
    cipher = archive_cipher(settings)
    # Rows a destination refuses for their contents join the dead letters.
    refused = RefusedRows(ArchiveWriter(archive_url, cipher=cipher), totals=totals)
    outputs = FlowOutputs(
        clickhouse=clickhouse_sink(url, database, totals=totals, refused=refused),
        archive=ArchiveSink(
            archive_url,
            kind="archive",
            compression=settings.archive_compression,
            totals=totals,
            refused=refused,
        ),
        dead_letter=ArchiveSink(archive_url, kind="dead_letter", cipher=cipher, totals=totals),
        sessions=clickhouse_sink(url, database, "sessions", totals, refused=refused),
        heatmaps=clickhouse_sink(url, database, "heatmap_aggregates", totals, refused=refused),
        clickhouse_single_writer=is_embedded(url),
    )
    topics: KafkaOutputs | None = kafka_outputs(settings) if spec.kind == "kafka" else None
    limits = BatchLimits(
        clickhouse_rows=settings.sink_batch_rows,
        archive_rows=settings.archive_batch_rows,
        max_wait=timedelta(seconds=settings.sink_batch_seconds),
        archive_wait=timedelta(seconds=settings.archive_flush_seconds),
        keep_snapshots=bool(settings.recovery_dir),
    )
    flow = build_flow(
        "insightlite",
        source,
        stages,
        outputs,
        limits=limits,
        totals=totals,
        on_batch=on_batch,
        sessions=build_sessions_spec(settings, keep_snapshots=bool(settings.recovery_dir)),
        redistribute=process_count > 1 and spec.kind != "kafka",
        kafka=topics,
    )
    replay = replay_source(
        settings, kafka=spec.kind == "kafka", path=spec.replay_file, stop_at_end=spec.stop_at_end
    )
    if replay is not None:
        redistribute = process_count > 1 and spec.kind != "kafka"
        add_replay(
            flow,
            settings,
            replay,
            totals=totals,
            limits=limits,
            kafka=topics,
            redistribute=redistribute,
        )
    return flow


def _summary(totals: RunTotals, seconds: float) -> dict[str, Any]:
    summary = totals.as_dict()
    latency = totals.latency_summary()
    if latency is not None:
        # Meaningful for live input (Kafka): collector receipt to queryable row.
        summary["end_to_end_ms"] = latency
    summary["seconds"] = round(seconds, 3)
    summary["events_per_second"] = round(summary["events_in"] / seconds) if seconds > 0 else 0
    return summary


def run_pipeline(
    settings: Settings,
    spec: InputSpec,
    *,
    now: datetime | None = None,
    on_batch: Callable[[ColumnBatch], None] | None = None,
    processes: int = 1,
    process_id: int | None = None,
    addresses: list[str] | None = None,
) -> dict[str, Any]:
    """Run the flow until the input ends; return the summary (of all local processes)."""
    now = now or datetime.now(UTC)
    settings = with_kafka_recovery(settings, spec.kind)
    source = build_source(spec, settings, now)  # checks the input before anything starts
    if processes == 1:
        # Before the migrations: /ready must say so while they wait for ClickHouse.
        serve_metrics(settings)
    if not process_id:  # in a multi-machine cluster, process 0 migrates
        applied = apply_schema(settings)
        if applied:
            log.info("applied schema migrations: %s", ", ".join(applied))
    epoch = timedelta(seconds=settings.snapshot_seconds)
    if processes > 1:
        return _run_local_processes(settings, spec, now, processes)
    totals = RunTotals()
    count = len(addresses) if addresses else 1
    flow = build_pipeline_flow(
        settings,
        spec,
        now=now,
        totals=totals,
        on_batch=on_batch,
        process_count=count,
        source=source,
    )
    # In a multi-machine cluster only process 0 creates the store.
    recovery = recovery_config(settings, count, create=not process_id)
    started = time.perf_counter()
    with batch_friendly_gc():
        if addresses:
            cluster_main(
                flow, addresses, process_id or 0, epoch_interval=epoch, recovery_config=recovery
            )
            close_deferred_clients()
        else:
            run_main(flow, epoch_interval=epoch, recovery_config=recovery)
    return _summary(totals, time.perf_counter() - started)


def worker_kwargs(
    settings: Settings, spec: InputSpec, now: datetime, summary_dir: str
) -> dict[str, Any]:
    """What each worker process of a local multi-process run is given."""
    return {
        "settings_json": settings_json_with_secrets(settings),
        "spec": asdict(spec),
        "now_ms": int(now.timestamp() * 1000),
        "summary_dir": summary_dir,
    }


def _run_local_processes(
    settings: Settings, spec: InputSpec, now: datetime, processes: int
) -> dict[str, Any]:
    recovery_config(settings, processes)  # one store for all, created before they start
    with tempfile.TemporaryDirectory(prefix="insightlite-run-") as summaries:
        started = time.perf_counter()
        run_local_cluster(
            worker_process_flow,
            worker_kwargs(settings, spec, now, summaries),
            processes,
            epoch_interval=timedelta(seconds=settings.snapshot_seconds),
            recovery_config=functools.partial(
                existing_recovery_config, settings.recovery_dir, settings.backup_seconds
            ),
        )
        seconds = time.perf_counter() - started
        totals = RunTotals()
        for path in sorted(Path(summaries).glob("process-*.json")):
            totals.merge(orjson.loads(path.read_bytes()))
    return _summary(totals, seconds)


def worker_process_flow(
    *,
    process_id: int,
    process_count: int,
    settings_json: str,
    spec: dict[str, Any],
    now_ms: int,
    summary_dir: str,
) -> tuple[Dataflow, Callable[[], None]]:
    """Build the flow in a worker process; its totals go to a file when it ends."""
    settings = worker_settings(settings_json)
    totals = RunTotals()
    flow = build_pipeline_flow(
        settings,
        InputSpec(**spec),
        now=datetime.fromtimestamp(now_ms / 1000, tz=UTC),
        totals=totals,
        process_count=process_count,
    )
    serve_metrics(settings, process_id)

    def write_summary() -> None:
        path = Path(summary_dir) / f"process-{process_id}.json"
        path.write_bytes(
            orjson.dumps({**totals.as_dict(), "latency_samples_ms": totals.latency_ms})
        )

    return flow, write_summary
