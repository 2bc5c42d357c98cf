"""The replay step's input and outputs for a run, from settings.

A Kafka run reads `replay_events` beside `raw_events` (unless
`INSIGHTLITE_REPLAY_ENABLED` is false); any run can read recording chunks from a
JSON-lines file instead (`insightlite run --replay-input file:PATH`).
"""

from __future__ import annotations

from bytewax.dataflow import Dataflow
from bytewax.inputs import Source

from connectors.archive import ArchiveWriter
from connectors.crypto import archive_cipher
from connectors.flow_sinks import ArchiveSink, ReplayBlobSink, clickhouse_sink, is_embedded
from connectors.refusals import RefusedRows
from connectors.sources import JsonLinesSource
from flows.kafka_outputs import KafkaOutputs
from flows.pipeline import BatchLimits
from foundation.metrics import RunTotals
from foundation.settings import ConfigError, Settings
from operators.model import RawBatch


def parse_replay_input(spec: str) -> str:
    """`file:PATH` as the path; ConfigError for anything else."""
    kind, _, path = spec.partition(":")
    if kind != "file" or not path:
        raise ConfigError(f"--replay-input: expected 'file:PATH', got {spec!r}")
    return path


def replay_source(
    settings: Settings, *, kafka: bool, path: str, stop_at_end: bool
) -> Source[RawBatch] | None:
    """Where this run reads recording chunks from, or None when it reads none."""
    if path:
        try:
            return JsonLinesSource(path, batch_size=settings.input_batch_size)
        except FileNotFoundError as exc:
            raise ConfigError(f"--replay-input: {exc}") from None
    if not (kafka and settings.replay_enabled):
        return None
    from connectors.kafka.config import quiet_client_config
    from connectors.kafka.raw_source import KafkaUnavailable, RawEventsSource, wait_for_topic
    from connectors.kafka.topics import REPLAY_EVENTS, topic_name

    config = quiet_client_config(settings)
    topic = topic_name(settings, REPLAY_EVENTS)
    try:
        wait_for_topic(config, topic, settings.kafka_connect_timeout_seconds)
    except KafkaUnavailable as exc:
        raise ConfigError(
            f"{exc}; create it with `insightlite kafka create-topics`, or set "
            "INSIGHTLITE_REPLAY_ENABLED=false to run without session replay"
        ) from None
    brokers = config.pop("bootstrap.servers").split(",")
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

    starting = OFFSET_BEGINNING if settings.kafka_starting_offset == "earliest" else OFFSET_END
    source: Source[RawBatch] = RawEventsSource(  # type: ignore[assignment]
        brokers,
        [topic],
        tail=not stop_at_end,
        starting_offset=starting,
        add_config=config,
        # Chunks are large: fewer per batch keeps a batch's memory bounded.
        batch_size=max(1, settings.kafka_batch_size // 50),
        raise_on_errors=False,
    )
    return source


def add_replay(
    flow: Dataflow,
    settings: Settings,
    source: Source[RawBatch],
    *,
    totals: RunTotals,
    limits: BatchLimits,
    kafka: KafkaOutputs | None,
    redistribute: bool,
) -> None:
    """Attach the replay step with this run's destinations to ``flow``."""
    from flows.replay import REPLAY_CHUNKS_TABLE, ReplayOutputs, attach_replay, build_replay_steps

    url = settings.resolved_clickhouse_url
    archive_url = settings.resolved_archive_url
    # Recordings and the dead letters' payloads are encrypted under per-site data keys.
    cipher = archive_cipher(settings)
    outputs = ReplayOutputs(
        blobs=ReplayBlobSink(archive_url, cipher=cipher, totals=totals),
        chunks=clickhouse_sink(
            url,
            settings.clickhouse_database,
            REPLAY_CHUNKS_TABLE,
            totals,
            refused=RefusedRows(ArchiveWriter(archive_url, cipher=cipher), totals=totals),
        ),
        dead_letter=ArchiveSink(archive_url, kind="dead_letter", cipher=cipher, totals=totals),
        clickhouse_single_writer=is_embedded(url),
    )
    attach_replay(
        flow,
        source,
        build_replay_steps(settings),
        outputs,
        limits=limits,
        totals=totals,
        kafka=kafka,
        redistribute=redistribute,
    )
