"""File formats of the archive, kept apart from where the bytes go (see destinations.py).

A format turns an Arrow table (or, for dead letters, plain records) into the bytes of one
file and back. Formats hold settings only, so they are checked when built and cheap to share.
"""

from __future__ import annotations

import gzip as gzip_module
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, Protocol, get_args, runtime_checkable

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "DEFAULT_COMPRESSION_LEVELS",
    "DEFAULT_ROW_GROUP_ROWS",
    "JsonLinesFormat",
    "ParquetCompression",
    "ParquetFormat",
    "RecordFormat",
]

ParquetCompression = Literal["zstd", "gzip"]

# Row groups are the unit a reader skips by statistics and the unit it holds in memory.
# About 128k events-like rows compress to a few MiB: small enough to read a day's file
# piece by piece, large enough that the per-group overhead (footer entries, statistics,
# dictionary pages) stays negligible.
DEFAULT_ROW_GROUP_ROWS: Final = 131_072

# Valid levels per codec, as the codecs themselves define them (zstd 1-22, zlib 1-9).
_COMPRESSION_LEVELS: Final[Mapping[str, range]] = {"zstd": range(1, 23), "gzip": range(1, 10)}

# Levels used when none is given. zstd 1 is Arrow's own default and the fastest level;
# for gzip Arrow defaults to 9, which measured ~8x slower than zlib's usual 6 on an
# events-like table for files only ~1% smaller, so 6 it is.
DEFAULT_COMPRESSION_LEVELS: Final[Mapping[str, int]] = {"zstd": 1, "gzip": 6}

_GZIP_MAGIC: Final = b"\x1f\x8b"

# Characters that JSON leaves unescaped but that many line readers (Python's
# str.splitlines among them) treat as line breaks; escaped so that every reader sees
# exactly one record per line. Their UTF-8 bytes occur only inside JSON strings, where a
# \u escape means the same character.
_LINE_BREAKS_JSON_ALLOWS: Final = (
    (b"\xc2\x85", b"\\u0085"),
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
)


@runtime_checkable
class RecordFormat(Protocol):
    """What the archive writer needs from a file format."""

    @property
    def extension(self) -> str:
        """File name suffix including the leading dot, e.g. ``.parquet``."""
        ...

    def encode_table(self, table: pa.Table) -> bytes:
        """Return the complete bytes of one file holding ``table``."""
        ...


class ParquetFormat:
    """Parquet files that keep the Arrow schema as given.

    ``compression_level`` None means the level in ``DEFAULT_COMPRESSION_LEVELS``
    (zstd 1, gzip 6).

    Timestamps stay ``timestamp[ms, tz=UTC]``: Parquet format version 2.6 stores
    millisecond timestamps natively with ``isAdjustedToUTC``, and the Arrow schema is
    stored in the file metadata so the time zone comes back on read.
    """

    def __init__(
        self,
        compression: ParquetCompression = "zstd",
        compression_level: int | None = None,
        *,
        row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    ) -> None:
        if compression not in get_args(ParquetCompression):
            raise ValueError(
                f"unsupported Parquet compression {compression!r}; "
                f"choose one of {', '.join(get_args(ParquetCompression))}"
            )
        if compression_level is not None:
            levels = _COMPRESSION_LEVELS[compression]
            if (
                isinstance(compression_level, bool)
                or not isinstance(compression_level, int)
                or compression_level not in levels
            ):
                raise ValueError(
                    f"compression_level for {compression} must be an integer from "
                    f"{levels.start} to {levels.stop - 1}, got {compression_level!r}"
                )
        if isinstance(row_group_rows, bool) or not isinstance(row_group_rows, int):
            raise ValueError(f"row_group_rows must be an integer, got {row_group_rows!r}")
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows must be at least 1, got {row_group_rows}")
        self.compression: ParquetCompression = compression
        self.compression_level: int = (
            compression_level
            if compression_level is not None
            else DEFAULT_COMPRESSION_LEVELS[compression]
        )
        self.row_group_rows = row_group_rows

    @property
    def extension(self) -> str:
        return ".parquet"

    def encode_table(self, table: pa.Table) -> bytes:
        sink = pa.BufferOutputStream()
        pq.write_table(
            table,
            sink,
            row_group_size=self.row_group_rows,
            compression=self.compression,
            compression_level=self.compression_level,
            version="2.6",
            use_dictionary=True,
            write_statistics=True,
            store_schema=True,
        )
        data: bytes = sink.getvalue().to_pybytes()
        return data

    def decode_table(self, data: bytes) -> pa.Table:
        """Read the bytes of one file written by :meth:`encode_table`."""
        # Reading from a buffer rather than a path keeps pyarrow from inferring hive
        # partition columns out of the file's directory names.
        return pq.read_table(pa.BufferReader(data))

    def __repr__(self) -> str:
        return (
            f"ParquetFormat(compression={self.compression!r}, "
            f"compression_level={self.compression_level!r}, "
            f"row_group_rows={self.row_group_rows!r})"
        )


class JsonLinesFormat:
    """JSON lines (one UTF-8 JSON object per line), optionally gzip-compressed.

    Meant for dead letters: a person can ``grep``/``jq`` the file and a program can read
    it line by line with any JSON parser. orjson escapes control characters inside
    strings and the Unicode line separators are escaped here, so a record's payload can
    never break the one-record-per-line layout, whichever line splitting a reader uses.
    """

    def __init__(self, gzip: bool = False) -> None:
        if not isinstance(gzip, bool):
            raise ValueError(f"gzip must be True or False, got {gzip!r}")
        self.gzip = gzip

    @property
    def extension(self) -> str:
        return ".jsonl.gz" if self.gzip else ".jsonl"

    def encode_records(self, records: Sequence[Mapping[str, Any]]) -> bytes:
        lines = bytearray()
        for index, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise TypeError(f"record {index} is a {type(record).__name__}, expected a mapping")
            try:
                lines += orjson.dumps(dict(record), option=orjson.OPT_APPEND_NEWLINE)
            except TypeError as error:
                raise TypeError(f"record {index} cannot be written as JSON: {error}") from error
        for raw, escaped in _LINE_BREAKS_JSON_ALLOWS:
            if raw in lines:
                lines = lines.replace(raw, escaped)
        if self.gzip:
            # mtime=0 keeps the bytes a pure function of the records, so a replay writes
            # an identical file.
            return gzip_module.compress(bytes(lines), mtime=0)
        return bytes(lines)

    def encode_table(self, table: pa.Table) -> bytes:
        return self.encode_records(table.to_pylist())

    @staticmethod
    def decode_records(data: bytes) -> list[dict[str, Any]]:
        """Read JSON lines back, plain or gzip-compressed (told apart by the gzip magic)."""
        if data[:2] == _GZIP_MAGIC:
            data = gzip_module.decompress(data)
        records: list[dict[str, Any]] = []
        for line_number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise ValueError(f"line {line_number} is not valid JSON: {error}") from error
            if not isinstance(record, dict):
                raise ValueError(f"line {line_number} is not a JSON object")
            records.append(record)
        return records

    def __repr__(self) -> str:
        return f"JsonLinesFormat(gzip={self.gzip!r})"
