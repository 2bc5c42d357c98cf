"""The flow's Kafka outputs: anonymized events, heatmap increments, dead letters.

Other consumers read `processed_events` (the anonymized events, keyed by
session id) and `heatmap_updates` (the grid increments as they are written
to ClickHouse, keyed by site); `dead_letter` holds every rejected event as
the same masked JSON record the archive keeps. Kafka output is at least
once: consumers deduplicate by `event_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import pyarrow as pa
from bytewax.connectors.kafka import KafkaSink, KafkaSinkMessage

from connectors.kafka.topics import DEAD_LETTER, HEATMAP_UPDATES, PROCESSED_EVENTS, topic_name
from insightlite.settings import Settings
from operators.batching import Chunk
from operators.model import EVENT_COLUMN_COUNT, AnonymizedEvent

Message = KafkaSinkMessage[bytes | None, bytes]


@dataclass(frozen=True)
class KafkaOutputs:
    brokers: tuple[str, ...]
    config: dict[str, Any]
    processed_events: str
    heatmap_updates: str
    dead_letter: str

    def sink(self, topic_name: str) -> KafkaSink:
        return KafkaSink(list(self.brokers), topic_name, add_config=dict(self.config))


def kafka_outputs(settings: Settings) -> KafkaOutputs:
    from connectors.kafka.config import client_config

    config = client_config(settings)
    brokers = tuple(str(config.pop("bootstrap.servers")).split(","))
    config.setdefault("acks", "all")
    config.setdefault("enable.idempotence", True)
    config.setdefault("compression.type", settings.collector_compression)
    return KafkaOutputs(
        brokers,
        config,
        topic_name(settings, PROCESSED_EVENTS),
        topic_name(settings, HEATMAP_UPDATES),
        topic_name(settings, DEAD_LETTER),
    )


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def event_messages(chunk: Chunk) -> list[Message]:
    names = AnonymizedEvent._fields[:EVENT_COLUMN_COUNT]
    messages: list[Message] = []
    for event in chunk.rows:
        assert isinstance(event, AnonymizedEvent)
        body = dict(zip(names, event[:EVENT_COLUMN_COUNT], strict=True))
        messages.append(KafkaSinkMessage(event.session_id.encode(), orjson.dumps(body)))
    return messages


def heatmap_messages(chunk: Chunk) -> list[Message]:
    assert isinstance(chunk.rows, pa.Table)
    return [
        KafkaSinkMessage(row["site_id"].encode(), orjson.dumps(row, default=_json_default))
        for row in chunk.rows.to_pylist()
    ]


def dead_letter_messages(chunk: Chunk) -> list[Message]:
    messages = []
    for record in chunk.rows:
        site = record.get("site_id")
        key = site.encode() if isinstance(site, str) else None
        messages.append(KafkaSinkMessage(key, orjson.dumps(record)))
    return messages
