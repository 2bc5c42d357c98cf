"""The archive sink: anonymized events as Parquet and dead letters as JSON lines.

Layout under the archive root::

    events/year=YYYY/month=MM/day=DD/{name}.parquet
    dead_letter/year=YYYY/month=MM/day=DD/{name}.jsonl

Dead letters' payloads are encrypted when the writer has a cipher
(``connectors.crypto.dead_letters``): the other fields stay in clear to route, count
and erase them; reading decrypts them.

Days are UTC. ``name`` comes from the caller and must be a deterministic function of
the input (for example the source partition and offset range), so a replay of the same
input writes the same paths and replaces the files instead of adding duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from connectors.archive.destinations import FsspecDestination
from connectors.archive.formats import (
    JsonLinesFormat,
    ParquetCompression,
    ParquetFormat,
    RecordFormat,
)
from connectors.crypto.cipher import ArchiveCipher
from connectors.crypto.dead_letters import open_dead_letter, seal_dead_letter
from foundation.units import DAY_MS

__all__ = [
    "DEAD_LETTER_PREFIX",
    "EVENTS_PREFIX",
    "PARTITION_COLUMNS",
    "TIMESTAMP_COLUMN",
    "ArchiveWriter",
    "day_partition",
    "validate_name",
]

EVENTS_PREFIX: Final = "events"
DEAD_LETTER_PREFIX: Final = "dead_letter"
TIMESTAMP_COLUMN: Final = "timestamp"
# The hive partition keys. A file must not carry columns of these names: a reader using
# hive partitioning would find each twice with different types and refuse the dataset.
PARTITION_COLUMNS: Final = ("year", "month", "day")

_NAME: Final = re.compile(r"[A-Za-z0-9._=-]{1,200}")
# Spellings of UTC that Arrow accepts as a timestamp's time zone.
_UTC_NAMES: Final = frozenset({"UTC", "utc", "Etc/UTC", "+00:00", "Z", "GMT", "Etc/GMT"})
_EPOCH: Final = date(1970, 1, 1)


def validate_name(name: str) -> str:
    """Return ``name`` if it is usable as an archive file name stem.

    Allowed: 1-200 of ``A-Z a-z 0-9 . _ = -``, not starting with a dot (hidden names
    are reserved for files still being written).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid archive file name {name!r}: use 1-200 characters of A-Z a-z 0-9 . _ = -"
        )
    if name.startswith("."):
        raise ValueError(f"invalid archive file name {name!r}: must not start with '.'")
    return name


def day_partition(day: date) -> str:
    """The hive-style directory of one UTC day: ``year=YYYY/month=MM/day=DD``."""
    return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


def _epoch_ms_day(value: object) -> date | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    # Integer floor division: exact for any millisecond value, and negative values
    # (before 1970) land on the right day too. A value outside the calendar (a hostile
    # received_at) has no day: the caller falls back to another time.
    try:
        return _EPOCH + timedelta(days=value // DAY_MS)
    except OverflowError:
        return None


class ArchiveWriter:
    """Writes the archive of anonymized events and the dead-letter output.

    Settings are checked here; the filesystem is reached only on the first read or
    write. ``events_format`` replaces the Parquet format built from ``compression`` and
    ``compression_level`` (for another format, or a test double).
    """

    def __init__(
        self,
        url: str,
        *,
        compression: ParquetCompression = "zstd",
        compression_level: int | None = None,
        storage_options: Mapping[str, Any] | None = None,
        events_format: RecordFormat | None = None,
        cipher: ArchiveCipher | None = None,
    ) -> None:
        self.cipher = cipher
        self.destination = FsspecDestination(url, storage_options=storage_options)
        parquet_format = ParquetFormat(compression, compression_level)
        self.events_format: RecordFormat = (
            events_format if events_format is not None else parquet_format
        )
        self.dead_letter_format = JsonLinesFormat()
        # Reading uses its own Parquet decoder, so whatever format writes, the archive
        # reads back the Parquet files found in it.
        self._parquet_reader = parquet_format

    @property
    def url(self) -> str:
        return self.destination.url

    def write_events(self, table: pa.Table, *, name: str) -> list[str]:
        """Write ``table`` split by the UTC day of its ``timestamp`` column.

        Every day's file is encoded before any is written, so a table that cannot be
        encoded leaves the archive untouched. Returns the written paths, oldest day
        first; an empty table writes nothing.
        """
        validate_name(name)
        encoded = self._encode_events(table, name)
        return [self.destination.write_bytes(path, data) for path, data in encoded]

    def encode_events(self, table: pa.Table) -> None:
        """Encode ``table`` as ``write_events`` would, writing nothing.

        Raises what ``write_events`` would raise for the table's contents, so a caller
        can find the rows the format refuses before writing the others.
        """
        self._encode_events(table, "check")

    def _encode_events(self, table: pa.Table, name: str) -> list[tuple[str, bytes]]:
        days = self._event_days(table)
        if table.num_rows == 0:
            return []
        # One filter per distinct day rather than a sort: a batch spans one or two days
        # almost always, and a filter keeps the rows of a day in their original order.
        encoded: list[tuple[str, bytes]] = []
        for day in sorted(pc.unique(days).to_pylist()):
            day_rows = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
            path = f"{EVENTS_PREFIX}/{day_partition(day)}/{name}{self.events_format.extension}"
            encoded.append((path, self.events_format.encode_table(day_rows)))
        return encoded

    @staticmethod
    def _event_days(table: pa.Table) -> pa.ChunkedArray:
        """The UTC day of each row, after checking the table can be archived."""
        if not isinstance(table, pa.Table):
            raise TypeError(f"expected a pyarrow.Table, got {type(table).__name__}")
        clashing = [column for column in PARTITION_COLUMNS if column in table.column_names]
        if clashing:
            raise ValueError(
                f"events table has column(s) {', '.join(clashing)}, which clash with the "
                "archive's hive partition keys year/month/day; rename or drop them"
            )
        if TIMESTAMP_COLUMN not in table.column_names:
            raise ValueError(f"events table has no {TIMESTAMP_COLUMN!r} column")
        timestamps = table.column(TIMESTAMP_COLUMN)
        timestamp_type = timestamps.type
        if not pa.types.is_timestamp(timestamp_type) or timestamp_type.tz not in _UTC_NAMES:
            raise ValueError(
                f"column {TIMESTAMP_COLUMN!r} must be a UTC timestamp (timestamp[ms, tz=UTC]), "
                f"got {timestamp_type}"
            )
        if timestamps.null_count:
            raise ValueError(
                f"{timestamps.null_count} row(s) have no {TIMESTAMP_COLUMN!r}; "
                "they cannot be placed in a day partition"
            )
        # The time zone is UTC, so the cast yields the UTC calendar day.
        return pc.cast(timestamps, pa.date32())

    def write_dead_letters(self, records: Sequence[Mapping[str, Any]], *, name: str) -> list[str]:
        """Write dead-letter records as JSON lines split by UTC day.

        The day is that of ``received_at`` (epoch ms), or of ``failed_at`` for a record
        that has none. Records are written as given (masking is the caller's duty),
        with their payload encrypted when the writer has a cipher. Returns the written
        paths, oldest day first; no records writes nothing.
        """
        validate_name(name)
        records_by_day: dict[date, list[Mapping[str, Any]]] = {}
        for index, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise TypeError(
                    f"dead letter {index} is a {type(record).__name__}, expected a mapping"
                )
            day = _epoch_ms_day(record.get("received_at"))
            if day is None:
                day = _epoch_ms_day(record.get("failed_at"))
            if day is None:
                raise ValueError(
                    f"dead letter {index} has neither received_at nor failed_at as "
                    "integer epoch milliseconds"
                )
            if self.cipher is not None:
                record = seal_dead_letter(self.cipher, record)
            records_by_day.setdefault(day, []).append(record)
        extension = self.dead_letter_format.extension
        encoded = [
            (
                f"{DEAD_LETTER_PREFIX}/{day_partition(day)}/{name}{extension}",
                self.dead_letter_format.encode_records(day_records),
            )
            for day, day_records in sorted(records_by_day.items())
        ]
        return [self.destination.write_bytes(path, data) for path, data in encoded]

    def _archived_files(
        self, prefix: str, day: date | None, extensions: tuple[str, ...]
    ) -> list[str]:
        directory = prefix if day is None else f"{prefix}/{day_partition(day)}"
        return [
            path
            for path in self.destination.list(directory)
            # Hidden files are writes still in flight (or left by a crash).
            if path.endswith(extensions) and not path.rsplit("/", 1)[-1].startswith(".")
        ]

    def read_events(self, day: date | None = None) -> pa.Table:
        """All archived events, or one UTC day's, in path order.

        The result has the files' own columns (no year/month/day). Files written with
        different but compatible schemas are combined, missing columns read as null.
        An empty archive gives an empty table with no columns.
        """
        tables = [
            self._parquet_reader.decode_table(self.destination.read_bytes(path))
            for path in self._archived_files(EVENTS_PREFIX, day, (".parquet",))
        ]
        if not tables:
            return pa.table({})
        return pa.concat_tables(tables, promote_options="default")

    def read_dead_letters(
        self, day: date | None = None, *, skip_shredded: bool = False
    ) -> list[dict[str, Any]]:
        """All dead letters, or one UTC day's, in path order then line order, with
        their payloads decrypted.

        A record whose site's keys were destroyed raises ``KeyDestroyed``; with
        ``skip_shredded`` it is returned with its clear fields and
        ``payload_shredded: true`` instead.
        """
        records: list[dict[str, Any]] = []
        for path in self._archived_files(DEAD_LETTER_PREFIX, day, (".jsonl", ".jsonl.gz")):
            for record in JsonLinesFormat.decode_records(self.destination.read_bytes(path)):
                records.append(open_dead_letter(self.cipher, record, skip_shredded=skip_shredded))
        return records

    def __repr__(self) -> str:
        return f"ArchiveWriter({self.url!r}, events_format={self.events_format!r})"
