"""The flow's Kafka outputs: anonymized events, heatmap increments, dead letters.

Other consumers read `processed_events` (the anonymized events, keyed by
session id) and `heatmap_updates` (the grid increments as they are written
to ClickHouse, keyed by site); `dead_letter` holds every rejected event as
the same masked JSON record the archive keeps, its payload encrypted under the
site's data key (connectors.crypto) unless encryption is turned off.

Kafka output is at least once: after a crash, the records of the epochs the
recovery store had not committed are produced again. Every record carries what
makes a replay trivial to drop: `event_id` on `processed_events`, `update_id`
(the heatmap window's write, the ClickHouse insert's own deduplication token)
with the cell on `heatmap_updates`, and (`source`, `offset`, `stage`) on
`dead_letter`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from connectors.crypto import ArchiveCipher, archive_cipher, seal_dead_letter
from connectors.kafka.record_sink import KafkaRecordsSink, KeyedRecord
from connectors.kafka.topics import DEAD_LETTER, HEATMAP_UPDATES, PROCESSED_EVENTS, topic_name
from connectors.retry import retry_forever
from foundation.metrics import SINK_RETRIES
from foundation.settings import Settings
from operators.batching import Chunk
from operators.columns import EVENT_COLUMNS, event_columns

KEY_STORE_ERRORS: tuple[type[BaseException], ...] = (OSError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class KafkaOutputs:
    config: dict[str, Any]
    processed_events: str
    heatmap_updates: str
    dead_letter: str
    # Encrypts the dead letters' payloads; None leaves them in clear.
    cipher: ArchiveCipher | None = None

    def dead_letter_messages(self, chunk: Chunk) -> list[KeyedRecord]:
        return dead_letter_messages(chunk, self.cipher)

    def sink(self, topic_name: str) -> KafkaRecordsSink:
        on_retry = SINK_RETRIES.labels(f"kafka.{topic_name}").inc
        return KafkaRecordsSink(topic_name, self.config, on_retry=on_retry)


def kafka_outputs(settings: Settings) -> KafkaOutputs:
    from connectors.kafka.config import client_config

    config = client_config(settings)
    config.setdefault("acks", "all")
    config.setdefault("enable.idempotence", True)
    config.setdefault("compression.type", settings.collector_compression)
    return KafkaOutputs(
        config,
        topic_name(settings, PROCESSED_EVENTS),
        topic_name(settings, HEATMAP_UPDATES),
        topic_name(settings, DEAD_LETTER),
        archive_cipher(settings),
    )


def event_messages(chunk: Chunk) -> list[KeyedRecord]:
    """The anonymized events, keyed by session id: the events table's columns as JSON
    (times as epoch milliseconds)."""
    table = chunk.rows
    assert isinstance(table, pa.Table)
    names = EVENT_COLUMNS
    columns = [
        (column.cast(pa.int64()) if pa.types.is_timestamp(column.type) else column).to_pylist()
        for column in event_columns(table).columns
    ]
    session = names.index("session_id")
    dumps = orjson.dumps
    return [
        (row[session].encode(), dumps(dict(zip(names, row, strict=True))))
        for row in zip(*columns, strict=True)
    ]


def heatmap_messages(chunk: Chunk) -> list[KeyedRecord]:
    """The grid increments written to ClickHouse, keyed by site (dates as ISO 8601).

    `update_id` names the window write the row belongs to; a replay writes the same
    window under the same name, so (`update_id`, cell) identifies an increment.
    """
    table = chunk.rows
    assert isinstance(table, pa.Table)
    names = [*table.column_names, "update_id"]
    site = names.index("site_id")
    # Column by column: much cheaper than Table.to_pylist's value-by-value rows.
    columns = [column.to_pylist() for column in table.columns]
    columns.append([chunk.name] * table.num_rows)
    dumps = orjson.dumps
    return [
        (row[site].encode(), dumps(dict(zip(names, row, strict=True))))
        for row in zip(*columns, strict=True)
    ]


def dead_letter_messages(chunk: Chunk, cipher: ArchiveCipher | None = None) -> list[KeyedRecord]:
    """Every rejected event's masked dead-letter record, keyed by site when it has one,
    its payload encrypted when there is a cipher."""
    records: list[KeyedRecord] = []
    for record in chunk.rows:
        if cipher is not None:
            # The key store (a folder, S3, KMS) can be down for a while: retried,
            # like a sink's write, rather than stopping the worker.
            record = retry_forever(
                functools.partial(seal_dead_letter, cipher, record),
                retryable=KEY_STORE_ERRORS,
                what="encrypt a dead letter",
                on_retry=SINK_RETRIES.labels("kafka.dead_letter.encrypt").inc,
            )
        site = record.get("site_id")
        records.append((site.encode() if isinstance(site, str) else None, orjson.dumps(record)))
    return records
