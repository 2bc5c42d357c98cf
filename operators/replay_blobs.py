"""Where a recording's chunks are stored and how a blob is encoded.

A blob's name depends only on its chunk, so storing a chunk again (a resend, a replay
after a crash) rewrites the same object::

    replays/site=<site_id>/session=<session_id>/<first event ms:013d>-<seq:06d>-<chunk_id>.json.gz

Names sort like the chunks' times: reading a recording is listing its session's folder
in name order. ``site=``/``session=`` keep a site id such as ``..`` a plain folder name.
The blob is the gzip of ``{"chunk_id", "seq", "events"}`` with a fixed header (no
time, no file name), so equal chunks give equal bytes.
"""

from __future__ import annotations

import gzip
from typing import Any

import orjson

REPLAYS_FOLDER = "replays"
BLOB_SUFFIX = ".json.gz"
# Level 6: within a few percent of 9 on rrweb's JSON at a third of the time.
COMPRESS_LEVEL = 6


def session_prefix(site_id: str, session_id: str) -> str:
    """The folder of one recording's blobs, with a trailing slash."""
    return f"{REPLAYS_FOLDER}/site={site_id}/session={session_id}/"


def site_prefix(site_id: str) -> str:
    """The folder of one site's recordings, with a trailing slash."""
    return f"{REPLAYS_FOLDER}/site={site_id}/"


def blob_name(site_id: str, session_id: str, first_ms: int, seq: int, chunk_id: str) -> str:
    return f"{session_prefix(site_id, session_id)}{first_ms:013d}-{seq:06d}-{chunk_id}{BLOB_SUFFIX}"


def encode_blob(chunk_id: str, seq: int, events: list[Any]) -> bytes:
    body = orjson.dumps({"chunk_id": chunk_id, "seq": seq, "events": events})
    return gzip.compress(body, compresslevel=COMPRESS_LEVEL, mtime=0)


def decode_blob(blob: bytes) -> dict[str, Any]:
    """The stored chunk: ``{"chunk_id": str, "seq": int, "events": [...]}``."""
    decoded: dict[str, Any] = orjson.loads(gzip.decompress(blob))
    return decoded


def blob_events_json(blob: bytes) -> bytes:
    """The JSON array of a blob's events, as bytes, for streaming without re-encoding
    the rest (the array is the value of the last key ``encode_blob`` writes)."""
    body = gzip.decompress(blob)
    start = body.index(b'"events":') + len(b'"events":')
    return body[start:-1]
