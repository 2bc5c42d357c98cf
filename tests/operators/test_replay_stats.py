from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import xxhash

from connectors.clickhouse import apply_migrations, connect
from operators.model import RawBatch
from operators.replay_blobs import decode_blob
from operators.replay_mask import mask_replay
from operators.replay_model import ReplayBatch, ReplayChunk, StoredChunk
from operators.replay_stats import REPLAY_CHUNKS_SCHEMA, ReplayStats, replay_chunks_table
from operators.replay_validate import ReplayValidator
from tests.operators.replay_factories import (
    ACTIVE_SECONDS,
    CHUNK_ID,
    CLICKS,
    CORRECTION_MS,
    ERROR_TS,
    LAST_TS,
    MASKED_ERROR_MESSAGE,
    PAGES,
    RAGE_CLICKS,
    RECEIVED_AT,
    REMOVE,
    SESSION_ID,
    T0,
    chunk_record,
    click,
    make_events,
)

STATS = ReplayStats(rage_click_count=3, rage_click_interval_ms=1000, rage_click_distance_px=30)


def pipeline(*records: bytes, stats: ReplayStats = STATS) -> ReplayBatch:
    raw = RawBatch("replay0", 100, list(records))
    return stats(mask_replay(ReplayValidator()(raw)))


def stored_one(record: bytes, stats: ReplayStats = STATS) -> StoredChunk:
    batch = pipeline(record, stats=stats)
    assert not batch.rejected, batch.rejected
    (stored,) = batch.stored
    return stored


def row_of(stored: StoredChunk) -> dict[str, Any]:
    return dict(zip(REPLAY_CHUNKS_SCHEMA.names, stored.row, strict=True))


def click_id(ts: int, x: float, y: float) -> int:
    text = "\x1f".join(map(repr, (SESSION_ID, ts, float(x), float(y))))
    return xxhash.xxh64_intdigest(text.encode())


def test_schema_is_the_tables(tmp_path: Path) -> None:
    """The Arrow schema names the table's columns in its order, with matching types."""
    client = connect(f"chdb:{tmp_path / 'db'}", database="insightlite")
    apply_migrations(client)
    columns = client.query(
        "SELECT name, type FROM system.columns WHERE database = 'insightlite' "
        "AND table = 'session_replay_chunks' ORDER BY position"
    ).rows
    client.close()
    assert [name for name, _ in columns] == REPLAY_CHUNKS_SCHEMA.names
    clickhouse = {
        "String": pa.string(),
        "LowCardinality(String)": pa.string(),
        "UUID": pa.string(),
        "UInt32": pa.uint32(),
        "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),
        "Array(UInt32)": pa.list_(pa.uint32()),
        "Array(UInt64)": pa.list_(pa.uint64()),
        "Array(String)": pa.list_(pa.string()),
    }
    assert [clickhouse[kind] for _, kind in columns] == REPLAY_CHUNKS_SCHEMA.types


def test_row_and_blob_of_a_chunk() -> None:
    stored = stored_one(chunk_record(seq=7))
    row = row_of(stored)
    name = f"replays/site=shop.example.com/session={SESSION_ID}/{T0:013d}-000007-{CHUNK_ID}.json.gz"
    assert stored.blob_name == name
    assert row == {
        "site_id": "shop.example.com",
        "session_id": SESSION_ID,
        "chunk_id": CHUNK_ID,
        "seq": 7,
        "start_time": T0 + CORRECTION_MS,
        "end_time": LAST_TS + CORRECTION_MS,
        "event_count": len(make_events()),
        "blob_bytes": len(stored.blob),
        "blob_name": name,
        "active_seconds": ACTIVE_SECONDS,
        "click_ids": [click_id(*point) for point in CLICKS],
        "rage_click_ids": [click_id(*point) for point in RAGE_CLICKS],
        "error_ids": [
            xxhash.xxh64_intdigest(
                "\x1f".join(map(repr, (SESSION_ID, ERROR_TS, MASKED_ERROR_MESSAGE))).encode()
            )
        ],
        "pages": PAGES,
        "device_type": "desktop",
        "country_code": "DE",
        "received_at": RECEIVED_AT,
    }
    assert len(ACTIVE_SECONDS) == 8  # 10 active moments, some in the same second
    blob = decode_blob(stored.blob)
    assert (blob["chunk_id"], blob["seq"]) == (CHUNK_ID, 7)
    assert len(blob["events"]) == len(make_events())
    assert blob["events"][0]["data"]["href"] == "https://shop.example.com/checkout"


def test_a_second_run_gives_identical_blobs_and_rows() -> None:
    first = pipeline(chunk_record(), chunk_record(seq=1, chunk_id=CHUNK_ID.replace("3f", "4e")))
    second = pipeline(chunk_record(), chunk_record(seq=1, chunk_id=CHUNK_ID.replace("3f", "4e")))
    assert first.stored == second.stored
    assert first.stored[0].blob == second.stored[0].blob
    assert first.stored[0].blob_name != first.stored[1].blob_name


def test_ids_do_not_depend_on_the_clock_correction() -> None:
    corrected = row_of(stored_one(chunk_record()))
    uncorrected = row_of(stored_one(chunk_record(sent_at=REMOVE)))
    assert uncorrected["start_time"] == T0 and uncorrected["end_time"] == LAST_TS
    assert uncorrected["active_seconds"] == [s - CORRECTION_MS // 1000 for s in ACTIVE_SECONDS]
    for column in ("click_ids", "rage_click_ids", "error_ids", "pages", "blob_name"):
        assert uncorrected[column] == corrected[column]


def clicks_row(
    points: Sequence[tuple[int, float, float]], stats: ReplayStats = STATS
) -> dict[str, Any]:
    events = [click(*point) for point in points]
    return row_of(stored_one(chunk_record(events=events), stats))


def test_rage_rule_boundaries() -> None:
    base = T0 + 1_000
    exactly = [(base, 10, 10), (base + 1_000, 10, 10), (base + 2_000, 10, 10)]
    assert len(clicks_row(exactly)["rage_click_ids"]) == 3  # 1000 ms counts
    too_slow = [(base, 10, 10), (base + 1_001, 10, 10), (base + 2_002, 10, 10)]
    assert clicks_row(too_slow)["rage_click_ids"] == []
    too_far = [(base, 10, 10), (base + 100, 30, 20), (base + 200, 50, 30)]  # |dx|+|dy| = 30
    assert clicks_row(too_far)["rage_click_ids"] == []
    near = [(base, 10, 10), (base + 100, 29, 10), (base + 200, 48, 10)]  # 19 px
    assert len(clicks_row(near)["rage_click_ids"]) == 3
    # Two clicks are no burst; with a count of 4, three are not either.
    assert clicks_row(exactly[:2])["rage_click_ids"] == []
    assert clicks_row(exactly, ReplayStats(4, 1000, 30))["rage_click_ids"] == []
    # Events out of order are sorted by time first.
    shuffled = [exactly[2], exactly[0], (base + 5_000, 500, 500), exactly[1]]
    row = clicks_row(shuffled)
    assert row["rage_click_ids"] == [click_id(*point) for point in exactly]
    assert len(row["click_ids"]) == 4


def test_clicks_without_coordinates_count_but_make_no_burst() -> None:
    events = [
        {"type": 3, "timestamp": T0 + i * 100, "data": {"source": 2, "type": 2, "id": 1}}
        for i in range(3)
    ]
    row = row_of(stored_one(chunk_record(events=events)))
    assert len(row["click_ids"]) == 3 and row["rage_click_ids"] == []


def test_position_offsets_beyond_a_minute_are_not_believed() -> None:
    ts = T0 + 70_000
    moves = [
        {"type": 3, "timestamp": ts, "data": {"source": 6, "positions": [{"timeOffset": -65_000}]}},
        {"type": 3, "timestamp": ts, "data": {"source": 12, "positions": [{"timeOffset": -2_500}]}},
        {"type": 3, "timestamp": ts, "data": {"source": 4, "width": 1, "height": 1}},
    ]
    row = row_of(stored_one(chunk_record(events=moves, sent_at=REMOVE)))
    assert row["active_seconds"] == [(ts - 2_500) // 1000, ts // 1000]


def test_pages_come_from_meta_and_pageviews_masked_and_distinct() -> None:
    events = [
        {"type": 4, "timestamp": T0, "data": {"href": "https://a.example/x?q=1", "width": 1}},
        {"type": 4, "timestamp": T0 + 1, "data": {"href": "https://a.example/x#top"}},
        {
            "type": 5,
            "timestamp": T0 + 2,
            "data": {"tag": "insightlite:pageview", "payload": {"href": "/u/jane@x.example"}},
        },
        {"type": 5, "timestamp": T0 + 3, "data": {"tag": "insightlite:pageview", "payload": 3}},
    ]
    assert row_of(stored_one(chunk_record(events=events)))["pages"] == ["/x", "/u/<email>"]


def test_table_of_stored_chunks() -> None:
    batch = pipeline(chunk_record(), chunk_record(seq=1, chunk_id=CHUNK_ID.replace("3f", "4e")))
    table = replay_chunks_table(batch.stored)
    assert table.schema == REPLAY_CHUNKS_SCHEMA
    assert table.num_rows == 2
    assert table.column("seq").to_pylist() == [0, 1]
    start = datetime.fromtimestamp((T0 + CORRECTION_MS) / 1000, UTC)
    assert table.column("start_time").to_pylist() == [start, start]
    assert table.column("pages").to_pylist() == [PAGES, PAGES]
    assert replay_chunks_table([]).schema == REPLAY_CHUNKS_SCHEMA
    assert replay_chunks_table([]).num_rows == 0


def chunk(events: Any) -> ReplayChunk:
    return ReplayChunk(
        "shop.example.com", SESSION_ID, CHUNK_ID, 0, None, RECEIVED_AT, "", "other", events, 9
    )


def test_chunks_that_cannot_be_stored_are_rejected() -> None:
    deep: Any = {"type": 3, "textContent": "leaf", "id": 0}
    for node_id in range(1, 300):
        deep = {"type": 2, "tagName": "div", "attributes": {}, "childNodes": [deep], "id": node_id}
    too_deep = chunk([{"type": 2, "timestamp": T0, "data": {"node": deep}}])
    no_times = chunk([{"type": 3}, "x"])
    fine = chunk([{"type": 3, "timestamp": T0, "data": {"source": 3, "x": 0, "y": 0}}])
    batch = ReplayBatch("replay0", 0, 9, 3, [too_deep, no_times, fine])
    out = STATS(mask_replay(batch))
    assert out.chunks == []
    assert [stored.row[9] for stored in out.stored] == [[T0 // 1000]]
    assert [(r.stage, [x.code for x in r.reasons]) for r in out.rejected] == [
        ("replay_stats", ["unencodable"]),
        ("replay_stats", ["missing_field"]),
    ]
    payload = out.rejected[0].payload
    assert isinstance(payload, dict) and payload["events"] is too_deep.events


def test_bad_rage_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rage_click_count"):
        ReplayStats(rage_click_count=1)
