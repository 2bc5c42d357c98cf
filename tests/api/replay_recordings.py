"""Recordings for the query API's replay tests: chunk rows for ``session_replay_chunks``
(the materialized view fills ``session_replays``) and their blobs, made with the
pipeline's own blob names and encoding. The fixtures that store them and serve the app
over them are in ``query_fixtures``.

Every recording is dated from :data:`NOW`, after the real date: the tables' TTL counts
from the real clock, so no merge removes these rows during a test, and whether a
recording expired is decided by the API's clock (set to ``NOW``) alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse import apply_migrations, connect
from foundation.settings import Settings
from operators.replay_blobs import blob_name, encode_blob
from operators.replay_stats import REPLAY_CHUNKS_SCHEMA
from tests.api.query_support import FakeClock, bearer, make_token

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
CLOCK = FakeClock(NOW.timestamp())
RETENTION_DAYS = 7
SHOP, BLOG, DOCS = "shop.example.com", "blog.example.org", "docs.example.net"
# The replay step's own Arrow schema of the chunk rows.
CHUNK_COLUMNS = REPLAY_CHUNKS_SCHEMA


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Chunk:
    row: dict[str, Any]
    name: str
    blob: bytes
    events: list[dict[str, Any]]


@dataclass
class Recording:
    site: str
    id: str
    device: str = "desktop"
    country: str = "DE"
    with_blobs: bool = True
    chunks: list[Chunk] = field(default_factory=list)

    def chunk(
        self,
        start: datetime,
        seconds: int,
        pages: tuple[str, ...] = ("/",),
        clicks: tuple[int, ...] = (),
        rage: tuple[int, ...] = (),
        errors: tuple[int, ...] = (),
    ) -> Recording:
        """Add a chunk of three events from ``start`` to ``seconds`` later."""
        seq = len(self.chunks)
        chunk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.id}/{seq}"))
        end = start + timedelta(seconds=seconds)
        events = [
            {
                "type": 4,
                "timestamp": _ms(start),
                "data": {"href": f"https://{self.site}{pages[0]}"},
            },
            {"type": 3, "timestamp": _ms(start) + 500, "data": {"source": 1, "seq": seq}},
            {"type": 3, "timestamp": _ms(end), "data": {"source": 2, "seq": seq}},
        ]
        blob = encode_blob(chunk_id, seq, events)
        name = blob_name(self.site, self.id, _ms(start), seq, chunk_id)
        first_second = int(start.timestamp())
        row = {
            "site_id": self.site,
            "session_id": self.id,
            "chunk_id": chunk_id,
            "seq": seq,
            "start_time": start,
            "end_time": end,
            "event_count": len(events),
            "blob_bytes": len(blob),
            "blob_name": name,
            "active_seconds": [first_second + step for step in range(0, seconds + 1, 10)],
            "click_ids": list(clicks),
            "rage_click_ids": list(rage),
            "error_ids": list(errors),
            "pages": list(pages),
            "device_type": self.device,
            "country_code": self.country,
            "received_at": end,
        }
        self.chunks.append(Chunk(row, name, blob, events))
        return self


def _id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def recordings() -> dict[str, Recording]:
    hour, day = timedelta(hours=1), timedelta(days=1)
    r1_start = NOW - hour
    return {
        "r1": Recording(SHOP, _id(1))
        .chunk(r1_start, 50, clicks=(11, 12))
        .chunk(r1_start + timedelta(seconds=60), 40, ("/pricing",), (13, 14, 15), rage=(13,))
        .chunk(r1_start + timedelta(seconds=110), 40, ("/checkout", "/"), errors=(99,)),
        "r2": Recording(SHOP, _id(2), "mobile", "FR", with_blobs=False).chunk(
            NOW - 2 * hour, 20, ("/", "/blog")
        ),
        "r3": Recording(SHOP, _id(3), "tablet", "US").chunk(
            NOW - 3 * hour, 400, ("/pricing",), errors=(7,)
        ),
        "r4": Recording(SHOP, _id(4)).chunk(NOW - 4 * hour, 30),
        "r5": Recording(SHOP, _id(5)).chunk(NOW - 4 * hour, 30),  # same start as r4
        "r6": Recording(SHOP, _id(6)).chunk(NOW - day, 10),
        "r7": Recording(SHOP, _id(7)).chunk(NOW - 6 * day, 10),
        # Started before the retention window, last event inside it: kept.
        "spanning": Recording(SHOP, _id(8))
        .chunk(NOW - 8 * day, 10)
        .chunk(NOW - 6 * day - hour, 10),
        "expired": Recording(SHOP, _id(9)).chunk(NOW - 10 * day, 10),
        "blog": Recording(BLOG, _id(10)).chunk(NOW - hour, 10),
        "docs": Recording(DOCS, _id(11)).chunk(NOW - hour, 10),
        "docs_expired": Recording(DOCS, _id(12)).chunk(NOW - 20 * day, 10),
        # Its second blob is damaged by the test that reads it.
        "docs_damaged": Recording(DOCS, _id(13)).chunk(NOW - hour, 10).chunk(NOW - hour / 2, 10),
    }


# Newest first; r5 before r4 (same start, higher id).
LISTED = ["r1", "r2", "r3", "r5", "r4", "r6", "r7", "spanning"]


def store_recordings(settings: Settings, stored: dict[str, Recording]) -> None:
    """Insert every chunk row (the first one twice) and write the blobs of those that
    have them."""
    rows = [chunk.row for recording in stored.values() for chunk in recording.chunks]
    client = connect(settings.resolved_clickhouse_url)
    try:
        apply_migrations(client)
        # The first chunk alone, then again with every chunk: a resend in a different
        # block, which the table's insert deduplication does not drop.
        client.insert_arrow("session_replay_chunks", pa.Table.from_pylist(rows[:1], CHUNK_COLUMNS))
        client.insert_arrow("session_replay_chunks", pa.Table.from_pylist(rows, CHUNK_COLUMNS))
    finally:
        client.close()
    store = ReplayBlobStore(settings.resolved_archive_url)
    for recording in stored.values():
        if recording.with_blobs:
            for chunk in reversed(recording.chunks):  # the names, not the writes, order them
                store.write(chunk.name, chunk.blob)


def stored_rows(settings: Settings, session_id: str) -> tuple[int, int]:
    """Rows of a recording in (session_replay_chunks, session_replays), unmerged."""
    client = connect(settings.resolved_clickhouse_url)  # beside the app's, same directory
    try:
        result = client.query(
            "SELECT (SELECT count() FROM {db}.session_replay_chunks WHERE session_id = {s:UUID}), "
            "(SELECT count() FROM {db}.session_replays WHERE session_id = {s:UUID})".replace(
                "{db}", client.database
            ),
            {"s": uuid.UUID(session_id)},
        )
    finally:
        client.close()
    chunks, summaries = result.rows[0]
    return int(chunks), int(summaries)


def token(**overrides: Any) -> dict[str, str]:
    """Headers with a token at :data:`NOW`: every test site and permission unless
    ``overrides`` say otherwise."""
    return bearer(make_token(CLOCK, **overrides))
