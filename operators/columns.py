"""Anonymized events as an Arrow table: the shape of the `events` table."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import pyarrow as pa

from operators.model import AnonymizedEvent

TIMESTAMP = pa.timestamp("ms", tz="UTC")

EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("session_id", pa.string()),
        ("site_id", pa.string()),
        ("timestamp", TIMESTAMP),
        ("event_type", pa.string()),
        ("event_data", pa.string()),
        ("url_path", pa.string()),
        ("referrer", pa.string()),
        ("device_type", pa.string()),
        ("viewport_width", pa.uint16()),
        ("viewport_height", pa.uint16()),
        ("user_agent_hash", pa.uint64()),
        ("ip_hash", pa.uint64()),
        ("country_code", pa.string()),
        ("error_class", pa.string()),
        ("received_at", TIMESTAMP),
    ]
)


# The typed values the stateful stages read after the table's columns (the fields of
# AnonymizedEvent after its sixteenth), and the whole anonymized batch's schema.
STATEFUL_FIELDS = [
    ("x", pa.float64()),
    ("y", pa.float64()),
    ("scroll_y", pa.float64()),
    ("fixed", pa.bool_()),
    ("offset", pa.int64()),
]
ANONYMIZED_SCHEMA = pa.schema([*EVENTS_SCHEMA, *STATEFUL_FIELDS])
EVENT_COLUMNS = EVENTS_SCHEMA.names


def anonymized_table(events: Sequence[AnonymizedEvent]) -> pa.Table:
    """Anonymized events (the per-row stages' output) as an ANONYMIZED_SCHEMA table."""
    if not events:
        return ANONYMIZED_SCHEMA.empty_table()
    columns = zip(*events, strict=True)
    return pa.Table.from_arrays(
        [
            pa.array(values, type=field.type)
            for values, field in zip(columns, ANONYMIZED_SCHEMA, strict=True)
        ],
        schema=ANONYMIZED_SCHEMA,
    )


def event_columns(table: pa.Table) -> pa.Table:
    """The `events` table's columns of an anonymized batch."""
    return table.select(EVENT_COLUMNS)


def column_array(values: list[Any], kind: pa.DataType) -> pa.Array:
    """``pa.array(values, kind)``; a list of only None becomes ``pa.nulls`` at once, since
    pyarrow converts one to a string array about a hundred times slower than a list
    with a single value in it (an absent optional field is the common case)."""
    if values.count(None) == len(values):
        return pa.nulls(len(values), kind)
    return pa.array(values, kind)


def without_rows(table: pa.Table, positions: Sequence[int]) -> pa.Table:
    """``table`` without the rows at ``positions`` (few, any order): the slices between
    them, joined without copying."""
    if not positions:
        return table
    parts = []
    start = 0
    for position in sorted(set(positions)):
        if position > start:
            parts.append(table.slice(start, position - start))
        start = position + 1
    if start < table.num_rows:
        parts.append(table.slice(start))
    return pa.concat_tables(parts) if parts else table.schema.empty_table()


def events_table(events: Sequence[AnonymizedEvent]) -> pa.Table:
    """Anonymized events as the `events` table's Arrow columns."""
    return event_columns(anonymized_table(events))


SESSIONS_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("site_id", pa.string()),
        ("start_time", TIMESTAMP),
        ("end_time", TIMESTAMP),
        ("page_count", pa.uint16()),
        ("event_count", pa.uint32()),
        ("device_type", pa.string()),
        ("country_code", pa.string()),
        ("duration_seconds", pa.uint32()),
        ("has_errors", pa.bool_()),
        ("has_rage_clicks", pa.bool_()),
        ("entry_path", pa.string()),
        ("exit_path", pa.string()),
        ("rage_click_count", pa.uint32()),
        ("error_count", pa.uint32()),
        ("version", pa.uint64()),
    ]
)

HEATMAP_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("url_path", pa.string()),
        ("device_type", pa.string()),
        ("date_bucket", pa.date32()),
        ("interaction_type", pa.string()),
        ("grid_x", pa.uint16()),
        ("grid_y", pa.uint16()),
        ("interaction_count", pa.uint64()),
        ("last_updated", pa.timestamp("s", tz="UTC")),
    ]
)


def rows_table(rows: Sequence[dict[str, object]], schema: pa.Schema) -> pa.Table:
    """Columnar copy of dict rows that have the schema's fields (one pass over the rows)."""
    if not rows:
        return schema.empty_table()
    get = itemgetter(*schema.names)
    columns = list(zip(*map(get, rows), strict=True))
    return pa.Table.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)],
        schema=schema,
    )
