"""Recordings with page loads (rrweb Meta + FullSnapshot) for the heatmap's page picture
and the sessions' ``has_recording``: chunk rows and blobs made like
``replay_recordings`` (the pipeline's own blob names and encoding), and session rows
for some of them.

Times are relative to ``replay_recordings.NOW`` (2030, after the real date, so the
tables' TTL never removes a row during a test; the API's clock decides expiry).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse import apply_migrations, connect
from foundation.settings import Settings
from operators.columns import SESSIONS_SCHEMA
from operators.replay_blobs import blob_name, encode_blob
from tests.api.replay_recordings import CHUNK_COLUMNS, NOW, SHOP


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def meta(at: datetime, path: str, width: int = 1280, height: int = 720) -> dict[str, Any]:
    return {
        "type": 4,
        "timestamp": _ms(at),
        "data": {"href": f"https://{SHOP}{path}", "width": width, "height": height},
    }


def full_snapshot(at: datetime, marker: str) -> dict[str, Any]:
    """A FullSnapshot of a page whose body holds the text ``marker``."""
    text = {"type": 3, "textContent": marker, "id": 5}
    body = {"type": 2, "tagName": "body", "attributes": {}, "childNodes": [text], "id": 4}
    html = {"type": 2, "tagName": "html", "attributes": {}, "childNodes": [body], "id": 3}
    doctype = {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}
    return {
        "type": 2,
        "timestamp": _ms(at),
        "data": {
            "node": {"type": 0, "childNodes": [doctype, html], "id": 1},
            "initialOffset": {"left": 0, "top": 0},
        },
    }


def moved(at: datetime) -> dict[str, Any]:
    return {"type": 3, "timestamp": _ms(at), "data": {"source": 1, "positions": []}}


@dataclass(frozen=True)
class StoredChunk:
    row: dict[str, Any]
    name: str
    blob: bytes
    events: list[dict[str, Any]]


@dataclass
class PageRecording:
    """A recording of ``SHOP`` started ``ago`` before NOW; ``chunk`` adds its chunks."""

    number: int
    ago: timedelta
    device: str = "desktop"
    with_blobs: bool = True
    chunks: list[StoredChunk] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"00000000-0000-4000-9000-{self.number:012d}"

    @property
    def start(self) -> datetime:
        return NOW - self.ago

    def chunk(self, *events: dict[str, Any], pages: tuple[str, ...] = ()) -> PageRecording:
        """Add a chunk of ``events`` whose ``pages`` are the paths of its Metas unless
        given (as the pipeline lists them)."""
        seq = len(self.chunks)
        chunk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.id}/{seq}"))
        listed = pages or tuple(
            dict.fromkeys(
                e["data"]["href"].removeprefix(f"https://{SHOP}") for e in events if e["type"] == 4
            )
        )
        first, last = min(e["timestamp"] for e in events), max(e["timestamp"] for e in events)
        blob = encode_blob(chunk_id, seq, list(events))
        name = blob_name(SHOP, self.id, first, seq, chunk_id)
        start = datetime.fromtimestamp(first / 1000, tz=NOW.tzinfo)
        end = datetime.fromtimestamp(last / 1000, tz=NOW.tzinfo)
        row: dict[str, Any] = {
            "site_id": SHOP,
            "session_id": self.id,
            "chunk_id": chunk_id,
            "seq": seq,
            "start_time": start,
            "end_time": end,
            "event_count": len(events),
            "blob_bytes": len(blob),
            "blob_name": name,
            "active_seconds": [],
            "click_ids": [],
            "rage_click_ids": [],
            "error_ids": [],
            "pages": list(listed),
            "device_type": self.device,
            "country_code": "DE",
            "received_at": end,
        }
        self.chunks.append(StoredChunk(row, name, blob, list(events)))
        return self

    def page_load(self, offset_s: float, path: str, marker: str, **size: int) -> PageRecording:
        """Add a chunk with one page load of ``path`` ``offset_s`` after the start."""
        at = self.start + timedelta(seconds=offset_s)
        return self.chunk(
            meta(at, path, **size),
            full_snapshot(at + timedelta(milliseconds=5), marker),
            moved(at + timedelta(seconds=2)),
        )

    def session_row(self) -> dict[str, Any]:
        """The ``sessions`` row of the same id: one minute, one page."""
        return {
            "session_id": self.id,
            "site_id": SHOP,
            "start_time": self.start,
            "end_time": self.start + timedelta(minutes=1),
            "page_count": 1,
            "event_count": 3,
            "device_type": self.device,
            "country_code": "DE",
            "duration_seconds": 60,
            "has_errors": False,
            "has_rage_clicks": False,
            "entry_path": "/",
            "exit_path": "/",
            "rage_click_count": 0,
            "error_count": 0,
            "version": 2**40 + 3,
        }


def store(
    settings: Settings,
    recordings: list[PageRecording],
    sessions: list[PageRecording],
) -> None:
    """The recordings' chunk rows and blobs (those that have them), and session rows."""
    client = connect(settings.resolved_clickhouse_url)
    try:
        apply_migrations(client)
        chunk_rows = [chunk.row for recording in recordings for chunk in recording.chunks]
        client.insert_arrow(
            "session_replay_chunks", pa.Table.from_pylist(chunk_rows, CHUNK_COLUMNS)
        )
        session_rows = [recording.session_row() for recording in sessions]
        client.insert_arrow("sessions", pa.Table.from_pylist(session_rows, SESSIONS_SCHEMA))
    finally:
        client.close()
    blobs = ReplayBlobStore(settings.resolved_archive_url)
    for recording in recordings:
        if recording.with_blobs:
            for chunk in recording.chunks:
                blobs.write(chunk.name, chunk.blob)
