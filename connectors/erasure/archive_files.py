"""Erasing from the archive: event Parquet files and dead-letter JSON lines.

Each affected file is rewritten without the erased rows (atomically, through the
archive's destination), or deleted when nothing is left in it; a file holding none of
them is left untouched. Files are read with the archive's own formats
(``connectors.archive.formats``) and never decrypted: an encrypted dead-letter payload
is kept as it is, and matched by the record's clear ``site_id`` and ``session_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors.archive.destinations import FsspecDestination
from connectors.archive.formats import JsonLinesFormat, ParquetFormat
from connectors.archive.writer import DEAD_LETTER_PREFIX, EVENTS_PREFIX


@dataclass(frozen=True)
class Target:
    """What to erase: a whole site, or one session of it (``session_id`` canonical)."""

    site_id: str
    session_id: str | None = None


@dataclass(frozen=True)
class FilesErased:
    """Rows (or records) erased and files rewritten or deleted, in one archive folder."""

    rows: int
    files: int


def _visible(path: str, extensions: tuple[str, ...]) -> bool:
    # Hidden files are writes still in flight (or left by a crash), as the writer says.
    return path.endswith(extensions) and not path.rsplit("/", 1)[-1].startswith(".")


def _event_mask(table: pa.Table, target: Target) -> pa.ChunkedArray | None:
    """True for the rows of ``target``; None when the file has no such columns."""
    if "site_id" not in table.column_names:
        return None
    mask = pc.equal(table.column("site_id"), target.site_id)
    if target.session_id is not None:
        if "session_id" not in table.column_names:
            return None
        session = pc.utf8_lower(pc.cast(table.column("session_id"), pa.string()))
        mask = pc.and_(mask, pc.equal(session, target.session_id))
    return pc.fill_null(mask, False)


def erase_archived_events(
    destination: FsspecDestination, target: Target, *, dry_run: bool
) -> FilesErased:
    """Remove ``target``'s rows from every events Parquet file."""
    parquet = ParquetFormat()
    rows = files = 0
    for path in destination.list(EVENTS_PREFIX):
        if not _visible(path, (".parquet",)):
            continue
        table = parquet.decode_table(destination.read_bytes(path))
        mask = _event_mask(table, target)
        if mask is None:
            continue
        matched = int(pc.sum(mask).as_py() or 0)
        if not matched:
            continue
        rows += matched
        files += 1
        if dry_run:
            continue
        kept = table.filter(pc.invert(mask))
        if kept.num_rows:
            destination.write_bytes(path, parquet.encode_table(kept))
        else:
            destination.delete(path)
    return FilesErased(rows=rows, files=files)


def _decoded_payload(payload: Any) -> Any:
    """A payload as stored (a JSON object, or a JSON text), decoded when it is JSON."""
    if isinstance(payload, str):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            return payload
    return payload


def _text(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def dead_letter_matches(record: Mapping[str, Any], target: Target) -> bool:
    """Whether a stored dead letter belongs to ``target``.

    The record's clear ``site_id`` and ``session_id`` decide when present; a record
    written before they existed is matched on its payload's ``site_id`` and
    ``session_id`` (a JSON object or a JSON text), or, for a payload that is no JSON,
    on the session id appearing in its text.
    """
    payload = _decoded_payload(record.get("payload"))
    fields = payload if isinstance(payload, Mapping) else {}
    site = record.get("site_id") or fields.get("site_id")
    if target.session_id is None:
        return site == target.site_id
    if site is not None and site != target.site_id:
        return False
    session = _text(record.get("session_id")) or _text(fields.get("session_id"))
    if session is not None:
        return session == target.session_id
    return isinstance(payload, str) and target.session_id in payload.lower()


def erase_dead_letters(
    destination: FsspecDestination, target: Target, *, dry_run: bool
) -> FilesErased:
    """Remove ``target``'s records from every dead-letter file."""
    records_erased = files = 0
    for path in destination.list(DEAD_LETTER_PREFIX):
        if not _visible(path, (".jsonl", ".jsonl.gz")):
            continue
        records = JsonLinesFormat.decode_records(destination.read_bytes(path))
        kept = [record for record in records if not dead_letter_matches(record, target)]
        if len(kept) == len(records):
            continue
        records_erased += len(records) - len(kept)
        files += 1
        if dry_run:
            continue
        if kept:
            encoder = JsonLinesFormat(gzip=path.endswith(".gz"))
            destination.write_bytes(path, encoder.encode_records(kept))
        else:
            destination.delete(path)
    return FilesErased(rows=records_erased, files=files)
