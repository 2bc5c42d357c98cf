"""What both ClickHouse clients share: the interface, errors, results and parameter text.

Both engines (embedded chdb and a server through clickhouse-driver) take the same SQL
with ClickHouse's server-side placeholders ``{name:Type}`` and a dict of values. The
values are rendered here, once, into ClickHouse's text form for query parameters, so
both engines parse exactly the same text; no value is ever spliced into SQL.
"""

from __future__ import annotations

import math
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import Any, Self

import pyarrow as pa

IDENTIFIER_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# ClickHouse error codes that describe a server that is busy, restarting or cut off
# rather than a wrong query: the same statement may succeed later, so callers retry.
RETRYABLE_ERROR_CODES: frozenset[int] = frozenset(
    {
        3,  # UNEXPECTED_END_OF_FILE (connection dropped mid-answer)
        159,  # TIMEOUT_EXCEEDED
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        225,  # NO_ZOOKEEPER
        236,  # ABORTED
        241,  # MEMORY_LIMIT_EXCEEDED (server-wide pressure, usually transient)
        242,  # TABLE_IS_READ_ONLY (replica lost its keeper session)
        252,  # TOO_MANY_PARTS (inserts throttled until merges catch up)
        279,  # ALL_CONNECTION_TRIES_FAILED
        319,  # UNKNOWN_STATUS_OF_INSERT
        999,  # KEEPER_EXCEPTION
    }
)

# ClickHouse error codes that mean the engine refused a value of the inserted data (a
# string that is no UUID, a number out of a type's range): the same rows will always be
# refused, and the other rows of the batch can still be written. Sinks find such rows by
# splitting the batch and dead-letter them (see connectors.refusals).
DATA_ERROR_CODES: frozenset[int] = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT (a UUID, date or number that does not parse)
        25,  # CANNOT_PARSE_ESCAPE_SEQUENCE
        26,  # CANNOT_PARSE_QUOTED_STRING
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        131,  # TOO_LARGE_STRING_SIZE
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        349,  # CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
        376,  # CANNOT_PARSE_UUID
        407,  # DECIMAL_OVERFLOW
        467,  # CANNOT_PARSE_BOOL
    }
)

_ERROR_CODE_PATTERN = re.compile(r"Code:\s*(\d+)")


class ClickHouseError(Exception):
    """Base of every error this package raises about ClickHouse itself."""


class ClickHouseUnavailable(ClickHouseError):
    """The engine cannot be reached or is overloaded; the same call may succeed later."""


class QueryError(ClickHouseError):
    """ClickHouse refused the statement (syntax, types, permissions); retrying won't help.

    ``refused_data`` is true when the refusal is about values of the inserted data, so
    that a smaller batch without the offending rows would be accepted.
    """

    def __init__(
        self, message: str, *, code: int | None = None, refused_data: bool | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.refused_data = code in DATA_ERROR_CODES if refused_data is None else refused_data


class EmbeddedPathConflict(ClickHouseError):
    """This process already runs the embedded engine over another directory.

    chdb hosts one embedded engine per process, bound to one data directory; a second
    directory can only be opened after every client of the first one is closed.
    """


_TOO_MANY_PARTS = 252
_PARTITIONS_PER_INSERT = "partitions for single INSERT block"


def error_code(message: str) -> int | None:
    """The ClickHouse error code named in an error message (``Code: 62. ...``), if any."""
    match = _ERROR_CODE_PATTERN.search(message)
    return int(match.group(1)) if match else None


def error_from_message(message: str) -> ClickHouseError:
    """The exception for a ClickHouse error text: retryable codes are 'unavailable'."""
    code = error_code(message)
    if code == _TOO_MANY_PARTS and _PARTITIONS_PER_INSERT in message:
        # Too many partitions in one insert block: the rows decide it, and a smaller
        # batch goes in, so it is a refusal of the data rather than a server in trouble.
        return QueryError(message, code=code, refused_data=True)
    if code is not None and code in RETRYABLE_ERROR_CODES:
        return ClickHouseUnavailable(message)
    return QueryError(message, code=code)


def validate_identifier(value: str, what: str) -> str:
    """Return ``value`` if it is a plain SQL identifier, else raise ValueError naming ``what``."""
    if not isinstance(value, str) or not IDENTIFIER_PATTERN.fullmatch(value):
        raise ValueError(
            f"invalid {what} {value!r}: expected a letter or underscore followed by "
            "letters, digits or underscores"
        )
    return value


@dataclass(frozen=True)
class QueryResult:
    """A small, fully materialised result: column names, ClickHouse types and rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name (convenient for JSON answers)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


# --- query parameter text -------------------------------------------------------------
#
# ClickHouse parses a bound value with the "escaped" text format of the placeholder's
# type (the format of TSV fields): NULL is \N, and backslash, tab and newline inside a
# string must be escaped. Compound values (arrays, tuples, maps) are written as literals
# in the quoted format, where strings sit in single quotes.

_ESCAPED_FIELD = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})
_QUOTED_STRING = str.maketrans(
    {"\\": "\\\\", "'": "\\'", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}
)


def _format_datetime(value: datetime) -> str:
    # An aware datetime is sent in UTC: declare placeholders as DateTime64(3, 'UTC') (the
    # type of our columns) so the text is read in the same zone. A naive one is sent as is
    # and read in the placeholder's zone.
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def _format_number(value: int | float | Decimal) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _format_literal(value: Any, name: str) -> str:
    """A value inside an array, tuple or map, in ClickHouse's quoted literal syntax."""
    if isinstance(value, Enum):
        return _format_literal(value.value, name)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return _format_number(value)
    if isinstance(value, str):
        return "'" + value.translate(_QUOTED_STRING) + "'"
    if isinstance(value, uuid.UUID):
        return f"'{value}'"
    if isinstance(value, datetime):
        return "'" + _format_datetime(value) + "'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, list):
        return "[" + ", ".join(_format_literal(item, name) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_format_literal(item, name) for item in value) + ")"
    if isinstance(value, Mapping):
        pairs = (
            f"{_format_literal(key, name)}: {_format_literal(item, name)}"
            for key, item in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"query parameter {name!r}: unsupported value type {type(value).__name__}")


def format_param(value: Any, name: str = "?") -> str:
    """The text ClickHouse parses for a ``{name:Type}`` placeholder bound to ``value``.

    Supported: None (NULL), bool, int, float, Decimal, str, UUID, date, datetime (aware
    ones are converted to UTC), Enum (its value), and list/tuple/dict of those for
    Array/Tuple/Map placeholders.
    """
    if isinstance(value, Enum):
        return format_param(value.value, name)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return _format_number(value)
    if isinstance(value, str):
        return value.translate(_ESCAPED_FIELD)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | Mapping):
        return _format_literal(value, name)
    raise TypeError(f"query parameter {name!r}: unsupported value type {type(value).__name__}")


def format_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Every parameter rendered with :func:`format_param`; names must be identifiers."""
    if not params:
        return {}
    rendered: dict[str, str] = {}
    for name, value in params.items():
        validate_identifier(name, "query parameter name")
        rendered[name] = format_param(value, name)
    return rendered


# --- insert statements ----------------------------------------------------------------


def quote_string_literal(value: str) -> str:
    """A SQL string literal for a setting value (never used for request data)."""
    return "'" + value.translate(_QUOTED_STRING) + "'"


def insert_target(database: str, table: str, columns: Iterable[str]) -> str:
    """``database.table (col, ...)`` after checking every name is a plain identifier."""
    validate_identifier(table, "table name")
    names = [validate_identifier(column, "column name") for column in columns]
    if not names:
        raise ValueError("an insert needs at least one column")
    return f"{database}.{table} ({', '.join(names)})"


def insert_settings(dedup_token: str | None) -> dict[str, Any]:
    """Settings both engines apply to an Arrow insert.

    - ``insert_deduplication_token``: a retried batch carrying the same token is dropped
      by tables with ``non_replicated_deduplication_window > 0``. Without a caller token a
      fresh random one is used, so two different batches that happen to hold identical
      rows (e.g. the same heatmap counts in two windows) are both kept instead of being
      silently dropped by ClickHouse's content-hash deduplication.
    - ``async_insert = 0``: recent ClickHouse versions default to asynchronous inserts,
      which skip token deduplication unless ``async_insert_deduplicate`` is set; a batch
      is big enough to be written synchronously.
    - ``optimize_on_insert = 0``: collapsing or summing inside the inserted block halves
      insert throughput and changes nothing for readers, who use FINAL/argMax/sum anyway.
    """
    if dedup_token is not None and (not isinstance(dedup_token, str) or not dedup_token):
        raise ValueError("dedup_token must be a non-empty string or None")
    return {
        "insert_deduplication_token": dedup_token or f"insightlite-{uuid.uuid4().hex}",
        "async_insert": 0,
        "optimize_on_insert": 0,
    }


# --- Arrow ----------------------------------------------------------------------------

_HEX_DIGITS = b"0123456789abcdef"
# Byte positions of the 32 hex digits inside the 36-character canonical UUID text.
_UUID_DIGIT_POSITIONS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def uuid_array_to_strings(array: pa.Array) -> pa.Array:
    """Canonical text for an Arrow UUID (extension or 16-byte binary) array, vectorised."""
    import numpy as np
    import pyarrow.compute as pc

    storage = array.storage if isinstance(array, pa.ExtensionArray) else array
    count = len(storage)
    if count == 0:
        return pa.array([], type=pa.string())
    data = storage.buffers()[1]
    raw = np.frombuffer(data, dtype=np.uint8, count=16 * count, offset=16 * storage.offset)
    raw = raw.reshape(count, 16)
    digits = np.frombuffer(_HEX_DIGITS, dtype=np.uint8)
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_DIGIT_POSITIONS] = np.stack([digits[raw >> 4], digits[raw & 15]], axis=2).reshape(
        count, 32
    )
    offsets = np.arange(0, 36 * (count + 1), 36, dtype=np.int32)
    strings = pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text.tobytes())
    )
    if storage.null_count:
        strings = pc.if_else(storage.is_valid(), strings, pa.scalar(None, pa.string()))
    return strings


def _is_uuid_type(data_type: pa.DataType) -> bool:
    return getattr(data_type, "extension_name", None) == "arrow.uuid"


def uuid_columns_to_strings(table: pa.Table) -> pa.Table:
    """Replace UUID-typed columns by their text, as clickhouse-driver's Arrow results have."""
    for index, schema_field in enumerate(table.schema):
        if _is_uuid_type(schema_field.type):
            column = table.column(index)
            chunks = [uuid_array_to_strings(chunk) for chunk in column.chunks]
            text = pa.chunked_array(chunks, type=pa.string())
            table = table.set_column(index, pa.field(schema_field.name, pa.string()), text)
    return table


class ClickHouseClient(ABC):
    """One ClickHouse database, embedded (chdb) or on a server (clickhouse-driver).

    SQL is the same for both: name tables as ``{client.database}.table`` (the session's
    default database stays ``default`` so a client works before migrations create ours)
    and bind values with ``{name:Type}`` placeholders and ``params``.
    """

    @property
    @abstractmethod
    def database(self) -> str:
        """The database this client's tables live in."""

    @abstractmethod
    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement whose result is not needed (DDL, INSERT ... SELECT, ...)."""

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run a query and return its (small) result as Python values."""

    @abstractmethod
    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table (UUIDs as strings)."""

    @abstractmethod
    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> int:
        """Insert ``data`` into ``database.table`` by column name; return the rows sent.

        With ``dedup_token``, a retry of the same batch is dropped by ClickHouse (the
        tables keep a deduplication window); the count returned is still the batch size.
        """

    @abstractmethod
    def query_readonly(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run a query under ClickHouse's ``readonly = 1`` (see ``readonly_query``)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; a later call opens it again."""

    @abstractmethod
    def describe(self) -> str:
        """Where this client points, password removed, for logs."""

    def ping(self) -> bool:
        """True when the engine answers a trivial query."""
        try:
            self.query("SELECT 1")
        except ClickHouseError:
            return False
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()} database={self.database}>"
