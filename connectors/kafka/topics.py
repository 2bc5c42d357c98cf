"""The pipeline's Kafka topics: their names and their creation.

====================  ==========================================================
``raw_events``        raw records from the collector (browser event + ip, ua,
                      received_at), keyed by session id
``processed_events``  anonymized events, for other consumers
``heatmap_updates``   heatmap grid increments
``dead_letter``       rejected records, masked, with their reasons
``replay_events``     session-replay chunks from the collector (chunk +
                      received_at, country_code, device_type; never the IP or
                      the user agent), keyed by session id
====================  ==========================================================

Each name gets ``INSIGHTLITE_KAFKA_TOPIC_PREFIX`` in front. ``create_topics`` makes the
missing ones with ``INSIGHTLITE_KAFKA_PARTITIONS``, ``_REPLICATION`` and a retention of
``INSIGHTLITE_KAFKA_RETENTION_HOURS``; ``replay_events`` also gets a ``max.message.bytes``
that holds the largest chunk (``replay_max_message_bytes``). It never changes an existing
topic, it reports one whose partition count differs (repartitioning would move sessions
between partitions, which is an operator's decision).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from connectors.kafka.config import client_config
from foundation.settings import Settings
from foundation.units import HOUR_MS

log = logging.getLogger("insightlite.kafka")

RAW_EVENTS = "raw_events"
PROCESSED_EVENTS = "processed_events"
HEATMAP_UPDATES = "heatmap_updates"
DEAD_LETTER = "dead_letter"
REPLAY_EVENTS = "replay_events"
TOPIC_BASES: tuple[str, ...] = (
    RAW_EVENTS,
    PROCESSED_EVENTS,
    HEATMAP_UPDATES,
    DEAD_LETTER,
    REPLAY_EVENTS,
)

# A replay record is the decompressed chunk written again with the collector's fields;
# writing it again can lengthen it a little (a number such as 1e9 comes back as
# 1000000000.0), so a record may pass the chunk limit by this much.
REPLAY_RECORD_ROOM_BYTES = 64 * 1024
# Above one largest record, what a record batch adds on the broker: its framing and the
# worst case of compression on incompressible data (lz4: 1/255 of the input).
REPLAY_BATCH_ROOM_BYTES = 64 * 1024

DEFAULT_ADMIN_TIMEOUT_S = 30.0


class KafkaTopicError(RuntimeError):
    """Topics could not be created or described; the message says which and why."""


def topic_name(settings: Settings, base: str) -> str:
    """The full name of one of ``TOPIC_BASES`` under the configured prefix."""
    if base not in TOPIC_BASES:
        raise ValueError(f"{base!r} is not one of the pipeline's topics {TOPIC_BASES}")
    return settings.kafka_topic_prefix + base


def topic_names(settings: Settings) -> list[str]:
    """The full names of the pipeline's topics, in the order of ``TOPIC_BASES``."""
    return [topic_name(settings, base) for base in TOPIC_BASES]


def retention_ms(settings: Settings) -> int:
    return round(settings.kafka_retention_hours * HOUR_MS)


def replay_max_record_bytes(settings: Settings) -> int:
    """The largest ``replay_events`` record the collector writes (its replay producer's
    ``message.max.bytes``): the largest decompressed chunk and room for the rest."""
    return settings.collector_replay_max_chunk_bytes + REPLAY_RECORD_ROOM_BYTES


def replay_max_message_bytes(settings: Settings) -> int:
    """``replay_events``' ``max.message.bytes``: a batch holding the largest record."""
    record = replay_max_record_bytes(settings)
    return record + record // 255 + REPLAY_BATCH_ROOM_BYTES


def topic_config(settings: Settings, base: str = RAW_EVENTS) -> dict[str, str]:
    """Configuration the topic ``base`` (one of ``TOPIC_BASES``) is created with."""
    config = {
        "retention.ms": str(retention_ms(settings)),
        "cleanup.policy": "delete",
        # With acks=all, a write then needs a second copy whenever there can be one:
        # losing one broker loses no acknowledged record, and a 3-replica topic stays
        # writable with one broker down.
        "min.insync.replicas": "2" if settings.kafka_replication >= 3 else "1",
    }
    if base == REPLAY_EVENTS:
        # A chunk can be several MiB; the broker's default record limit is 1 MiB.
        config["max.message.bytes"] = str(replay_max_message_bytes(settings))
    return config


@dataclass(frozen=True)
class TopicInfo:
    """What the broker says about one topic (``exists`` False: not created yet)."""

    name: str
    exists: bool
    partitions: int = 0
    replication: int = 0
    retention_ms: int | None = None
    max_message_bytes: int | None = None  # the largest record batch the topic takes


ADMIN_LOGGER = "insightlite.kafka.admin"


def _admin(settings: Settings) -> AdminClient:
    config = client_config(settings, client_id="insightlite-admin")
    # librdkafka's own log (one line per refused connection) goes through Python logging,
    # where it can be filtered, instead of straight to stderr.
    config["logger"] = logging.getLogger(ADMIN_LOGGER)
    return AdminClient(config)


def create_topics(
    settings: Settings,
    *,
    admin: AdminClient | None = None,
    timeout: float = DEFAULT_ADMIN_TIMEOUT_S,
) -> list[str]:
    """Create the missing pipeline topics; returns the names this call created.

    Idempotent: existing topics are left as they are (and one whose partition count is
    not ``kafka_partitions`` is reported as a warning). Raises KafkaTopicError when the
    broker cannot be reached or refuses a topic, ConfigError without a broker setting.
    """
    admin = admin or _admin(settings)
    wanted = topic_names(settings)
    existing = _existing_partitions(admin, settings, timeout)
    _warn_partition_mismatch(existing, wanted, settings)
    missing = [name for name in wanted if name not in existing]
    if not missing:
        return []
    base_of = {topic_name(settings, base): base for base in TOPIC_BASES}
    futures = admin.create_topics(
        [
            NewTopic(
                name,
                settings.kafka_partitions,
                settings.kafka_replication,
                config=topic_config(settings, base_of[name]),
            )
            for name in missing
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: list[str] = []
    already: list[str] = []
    failures: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                # Made meanwhile by another process, or so recently that the broker's
                # metadata did not list it yet: it exists, which is the goal.
                already.append(name)
                continue
            failures.append(f"{name}: {_explain(error, settings)}")
        else:
            created.append(name)
    if failures:
        raise KafkaTopicError("cannot create Kafka topics:\n  " + "\n  ".join(failures))
    if already:
        _warn_partition_mismatch(_existing_partitions(admin, settings, timeout), already, settings)
    for name in created:
        log.info(
            "created topic %s (%d partitions, replication %d, retention %.0f h)",
            name,
            settings.kafka_partitions,
            settings.kafka_replication,
            settings.kafka_retention_hours,
        )
    return [name for name in missing if name in created]


def _warn_partition_mismatch(
    existing: dict[str, int], names: list[str], settings: Settings
) -> None:
    for name in names:
        count = existing.get(name)
        if count is not None and count != settings.kafka_partitions:
            log.warning(
                "topic %s has %d partitions, INSIGHTLITE_KAFKA_PARTITIONS is %d: left unchanged",
                name,
                count,
                settings.kafka_partitions,
            )


def _explain(error: object, settings: Settings) -> str:
    if isinstance(error, KafkaError):
        if error.code() == KafkaError.INVALID_REPLICATION_FACTOR:
            return (
                f"{error.str()} (INSIGHTLITE_KAFKA_REPLICATION is "
                f"{settings.kafka_replication}: at most the number of brokers)"
            )
        return str(error.str())
    return str(error)


def _list_topics(admin: AdminClient, settings: Settings, timeout: float) -> Any:
    try:
        return admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        reason = error.str() if isinstance(error, KafkaError) else str(error)
        raise KafkaTopicError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers} within {timeout:g} s "
            f"({reason}); check INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS"
        ) from None


def _existing_partitions(admin: AdminClient, settings: Settings, timeout: float) -> dict[str, int]:
    metadata = _list_topics(admin, settings, timeout)
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def describe_topics(
    settings: Settings,
    *,
    admin: AdminClient | None = None,
    timeout: float = DEFAULT_ADMIN_TIMEOUT_S,
) -> list[TopicInfo]:
    """Partitions, replication, retention and largest record batch of the pipeline's
    topics, in a fixed order."""
    admin = admin or _admin(settings)
    metadata = _list_topics(admin, settings, timeout)
    names = topic_names(settings)
    present = [name for name in names if name in metadata.topics]
    configs = _configs_by_topic(admin, present, timeout)
    infos: list[TopicInfo] = []
    for name in names:
        topic = metadata.topics.get(name)
        if topic is None:
            infos.append(TopicInfo(name=name, exists=False))
            continue
        partitions = topic.partitions
        replication = max((len(p.replicas) for p in partitions.values()), default=0)
        infos.append(
            TopicInfo(
                name=name,
                exists=True,
                partitions=len(partitions),
                replication=replication,
                retention_ms=configs.get(name, {}).get("retention.ms"),
                max_message_bytes=configs.get(name, {}).get("max.message.bytes"),
            )
        )
    return infos


_DESCRIBED_CONFIGS = ("retention.ms", "max.message.bytes")


def _configs_by_topic(
    admin: AdminClient, names: list[str], timeout: float
) -> dict[str, dict[str, int]]:
    """``retention.ms`` and ``max.message.bytes`` of each topic (broker defaults included)."""
    if not names:
        return {}
    futures: dict[Any, Any] = admin.describe_configs(
        [ConfigResource(ResourceType.TOPIC, name) for name in names], request_timeout=timeout
    )
    configs: dict[str, dict[str, int]] = {}
    for resource, future in futures.items():
        try:
            entries = future.result(timeout=timeout)
        except KafkaException as exc:
            raise KafkaTopicError(f"cannot describe topic {resource.name}: {exc}") from None
        values = configs.setdefault(resource.name, {})
        for key in _DESCRIBED_CONFIGS:
            entry = entries.get(key)
            if entry is not None and entry.value is not None:
                values[key] = int(entry.value)
    return configs
