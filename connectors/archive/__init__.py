"""Archive connector: anonymized events as Parquet and dead letters as JSON lines.

The file format (``formats``) is separate from where files go (``destinations``: a local
path, ``file://``, ``s3://`` through s3fs, or ``memory://``); ``ArchiveWriter`` ties them
together with the day partitioning and the deterministic file names.
"""

from connectors.archive.destinations import FsspecDestination, validate_relative_path
from connectors.archive.formats import (
    DEFAULT_COMPRESSION_LEVELS,
    DEFAULT_ROW_GROUP_ROWS,
    JsonLinesFormat,
    ParquetCompression,
    ParquetFormat,
    RecordFormat,
)
from connectors.archive.writer import (
    DEAD_LETTER_PREFIX,
    EVENTS_PREFIX,
    PARTITION_COLUMNS,
    TIMESTAMP_COLUMN,
    ArchiveWriter,
    day_partition,
    validate_name,
)

__all__ = [
    "DEAD_LETTER_PREFIX",
    "DEFAULT_COMPRESSION_LEVELS",
    "DEFAULT_ROW_GROUP_ROWS",
    "EVENTS_PREFIX",
    "PARTITION_COLUMNS",
    "TIMESTAMP_COLUMN",
    "ArchiveWriter",
    "FsspecDestination",
    "JsonLinesFormat",
    "ParquetCompression",
    "ParquetFormat",
    "RecordFormat",
    "day_partition",
    "validate_name",
    "validate_relative_path",
]
