"""A ClickHouse server through clickhouse-driver (native TCP protocol, port 9000/9440).

Query parameters are bound on the server (the driver's ``server_side_params``, which needs
ClickHouse 22.8 or newer): the driver never formats values into the SQL text. Values are
rendered once by ``base.format_param`` into the text ClickHouse parses for a
``{name:Type}`` placeholder, exactly as the embedded engine receives them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa

from .base import (
    RETRYABLE_ERROR_CODES,
    ClickHouseClient,
    ClickHouseError,
    ClickHouseUnavailable,
    QueryError,
    QueryResult,
    format_params,
    insert_settings,
    insert_target,
    uuid_array_to_strings,
    validate_identifier,
)

_UNKNOWN_DATABASE = 81
DEFAULT_PORT = 9000
DEFAULT_SECURE_PORT = 9440


@dataclass(frozen=True)
class ServerSettings:
    """How to reach a ClickHouse server; the password never appears in repr or logs."""

    host: str
    port: int = DEFAULT_PORT
    user: str = "default"
    password: str = field(default="", repr=False)
    database: str = "insightlite"
    secure: bool = False
    verify: bool = True
    connect_timeout: float = 10.0
    send_receive_timeout: float = 300.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("ClickHouse server host is empty")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"ClickHouse server port {self.port!r} is not in 1..65535")
        if not self.user:
            raise ValueError("ClickHouse user is empty")
        validate_identifier(self.database, "database name")
        for name in ("connect_timeout", "send_receive_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")

    def describe(self) -> str:
        scheme = "clickhouses" if self.secure else "clickhouse"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{quote(self.user, safe='')}@{host}:{self.port}/{self.database}"


class _ServerParam:
    """A query parameter already rendered as ClickHouse parameter text.

    clickhouse-driver sends a value of a type it does not know as ``'`` + str(value) +
    ``'``, and the server reads that quoted string back before parsing it as the
    placeholder's type. Escaping backslashes and quotes here means the server ends up
    with exactly the text the embedded engine receives.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text.replace("\\", "\\\\").replace("'", "\\'")

    def __repr__(self) -> str:
        return f"_ServerParam({self.text!r})"


def driver_params(params: Mapping[str, Any] | None) -> dict[str, _ServerParam]:
    """Parameters in the form the driver passes through to the server unchanged."""
    return {name: _ServerParam(text) for name, text in format_params(params).items()}


def map_driver_error(exc: BaseException) -> ClickHouseError:
    """A driver or socket failure as ClickHouseUnavailable (retry) or QueryError (don't)."""
    from clickhouse_driver import errors as driver_errors

    if isinstance(exc, driver_errors.ServerException):
        message = f"Code: {exc.code}. {exc.message}"
        if exc.code in RETRYABLE_ERROR_CODES:
            return ClickHouseUnavailable(message)
        return QueryError(message, code=exc.code)
    unreachable = (
        driver_errors.NetworkError,
        driver_errors.SocketTimeoutError,
        driver_errors.UnexpectedPacketFromServerError,
        driver_errors.UnknownPacketFromServerError,
        EOFError,
        OSError,
    )
    if isinstance(exc, unreachable):
        return ClickHouseUnavailable(f"ClickHouse server unreachable: {exc}")
    code = getattr(exc, "code", None)
    # The driver converts the values to the column types itself, before they reach the
    # server: a value it cannot convert raises a plain Python error, a refusal of data.
    refused_data = True if isinstance(exc, ValueError | TypeError | OverflowError) else None
    return QueryError(str(exc), code=code, refused_data=refused_data)


# --- Arrow columns to the driver's columnar insert -------------------------------------

_UNITS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _base_type(clickhouse_type: str) -> str:
    text = clickhouse_type.strip()
    for wrapper in ("Nullable(", "LowCardinality("):
        while text.startswith(wrapper) and text.endswith(")"):
            text = text[len(wrapper) : -1].strip()
    return text


def _datetime_scale(clickhouse_type: str) -> int | None:
    """Decimal digits of a DateTime/DateTime64 column's ticks, None for other types."""
    base = _base_type(clickhouse_type)
    if base.startswith("DateTime64("):
        return int(base[len("DateTime64(") :].split(",")[0].strip(" )"))
    if base == "DateTime" or base.startswith("DateTime("):
        return 0
    return None


def _timestamp_ticks(column: pa.ChunkedArray, scale: int) -> list[Any]:
    # clickhouse-driver writes plain integers to DateTime/DateTime64 columns as raw ticks,
    # skipping a timezone conversion per value; the ticks are epoch based like Arrow's.
    unit = column.type.unit
    source_per_second = _UNITS_PER_SECOND[unit]
    target_per_second = 10**scale
    values = column.cast(pa.int64())
    if values.null_count == 0:
        ticks = values.to_numpy()
        if target_per_second >= source_per_second:
            ticks = ticks * (target_per_second // source_per_second)
        else:
            ticks = np.floor_divide(ticks, source_per_second // target_per_second)
        scaled: list[Any] = ticks.tolist()
        return scaled
    converted: list[Any] = []
    for value in values.to_pylist():
        if value is None:
            converted.append(None)
        elif target_per_second >= source_per_second:
            converted.append(value * (target_per_second // source_per_second))
        else:
            converted.append(value // (source_per_second // target_per_second))
    return converted


def _uuid_strings(column: pa.ChunkedArray) -> list[Any]:
    chunks = [uuid_array_to_strings(chunk) for chunk in column.chunks]
    return list(pa.chunked_array(chunks, type=pa.string()).to_pylist())


def arrow_column_to_driver(column: pa.ChunkedArray, clickhouse_type: str | None) -> list[Any]:
    """One Arrow column as the Python list clickhouse-driver writes to ``clickhouse_type``."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    data_type = column.type
    if getattr(data_type, "extension_name", None) == "arrow.uuid":
        return _uuid_strings(column)
    if pa.types.is_timestamp(data_type) and clickhouse_type is not None:
        scale = _datetime_scale(clickhouse_type)
        if scale is not None:
            return _timestamp_ticks(column, scale)
    if (
        pa.types.is_fixed_size_binary(data_type)
        and data_type.byte_width == 16
        and clickhouse_type is not None
        and _base_type(clickhouse_type) == "UUID"
    ):
        return _uuid_strings(column)
    is_number = pa.types.is_integer(data_type) or pa.types.is_floating(data_type)
    if (is_number or pa.types.is_boolean(data_type)) and column.null_count == 0:
        # numpy's tolist() builds Python ints/floats/bools far faster than to_pylist().
        numbers: list[Any] = column.to_numpy().tolist()
        return numbers
    return list(column.to_pylist())


def arrow_to_driver_columns(data: pa.Table, column_types: Mapping[str, str]) -> list[list[Any]]:
    """The table's columns, in order, as the driver's columnar insert takes them."""
    return [
        arrow_column_to_driver(data.column(name), column_types.get(name))
        for name in data.column_names
    ]


def _arrow_from_columnar(columns: list[Any], columns_with_types: list[tuple[str, str]]) -> pa.Table:
    arrays: dict[str, pa.Array] = {}
    for index, (name, clickhouse_type) in enumerate(columns_with_types):
        values = list(columns[index]) if index < len(columns) else []
        if _base_type(clickhouse_type) == "UUID":
            values = [None if value is None else str(value) for value in values]
        arrays[name] = pa.array(values)
    return pa.table(arrays)


DriverFactory = Callable[["ServerSettings"], Any]


def _default_driver(settings: ServerSettings) -> Any:
    from clickhouse_driver import Client

    # Connect into "default": ours may not exist before migrations run. The client
    # switches to it with USE once it exists (see NativeClient._select_database).
    return Client(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database="default",
        secure=settings.secure,
        verify=settings.verify,
        connect_timeout=settings.connect_timeout,
        send_receive_timeout=settings.send_receive_timeout,
        client_name="insightlite",
        settings={"server_side_params": True},
    )


class NativeClient(ClickHouseClient):
    """A ClickHouse server through clickhouse-driver; one connection, used under a lock."""

    def __init__(
        self, settings: ServerSettings, *, driver_factory: DriverFactory | None = None
    ) -> None:
        self._settings = settings
        self._driver_factory = driver_factory or _default_driver
        self._driver: Any = None
        self._lock = threading.RLock()
        self._column_types: dict[str, dict[str, str]] = {}
        self._database_selected = False

    @property
    def database(self) -> str:
        return self._settings.database

    @property
    def settings(self) -> ServerSettings:
        return self._settings

    def describe(self) -> str:
        return self._settings.describe()

    def close(self) -> None:
        with self._lock:
            driver, self._driver = self._driver, None
            self._database_selected = False
            if driver is not None:
                driver.disconnect()

    def _call(self, operation: Callable[[Any], Any]) -> Any:
        with self._lock:
            if self._driver is None:
                # The driver connects on its first query, so building it cannot fail on
                # the network; that is what keeps connect() lazy.
                self._driver = self._driver_factory(self._settings)
            try:
                if not self._database_selected:
                    self._select_database(self._driver)
                return operation(self._driver)
            except ClickHouseError:
                raise
            except Exception as exc:
                raise map_driver_error(exc) from exc

    def _select_database(self, driver: Any) -> None:
        # Unqualified table names (user SQL in readonly_query) resolve in our database
        # once it exists; until migrations create it the session stays on "default". The
        # driver remembers a USE and reconnects into that database.
        try:
            driver.execute(f"USE {self.database}")
        except Exception as exc:
            mapped = map_driver_error(exc)
            if isinstance(mapped, QueryError) and mapped.code == _UNKNOWN_DATABASE:
                return
            raise mapped from exc
        self._database_selected = True

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        bound = driver_params(params)
        self._call(lambda driver: driver.execute(sql, bound))
        # A statement may have altered a table this client converts inserts for.
        self._column_types.clear()

    def _query(
        self, sql: str, params: Mapping[str, Any] | None, settings: dict[str, Any] | None
    ) -> QueryResult:
        bound = driver_params(params)
        rows, columns_with_types = self._call(
            lambda driver: driver.execute(sql, bound, with_column_types=True, settings=settings)
        )
        return QueryResult(
            columns=[name for name, _ in columns_with_types],
            types=[clickhouse_type for _, clickhouse_type in columns_with_types],
            rows=[tuple(row) for row in rows],
        )

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        return self._query(sql, params, None)

    def query_readonly(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        # Query-level settings are checked against the session's (writable) profile, so
        # a client may raise readonly for one query; the user's SQL then cannot lower it.
        return self._query(sql, params, {"readonly": 1})

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        bound = driver_params(params)

        def run(driver: Any) -> pa.Table:
            if hasattr(driver, "query_arrow"):  # clickhouse-driver >= 0.2.11
                return driver.query_arrow(sql, params=bound)
            columns, columns_with_types = driver.execute(
                sql, bound, with_column_types=True, columnar=True
            )
            return _arrow_from_columnar(columns, columns_with_types)

        table: pa.Table = self._call(run)
        return table

    def _table_column_types(self, table: str) -> dict[str, str]:
        if table not in self._column_types:
            result = self.query(
                "SELECT name, type FROM system.columns "
                "WHERE database = {database:String} AND table = {table:String}",
                {"database": self.database, "table": table},
            )
            self._column_types[table] = {name: type_ for name, type_ in result.rows}
        return self._column_types[table]

    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> int:
        target = insert_target(self.database, table, data.column_names)
        settings = insert_settings(dedup_token)
        if data.num_rows == 0:
            return 0
        columns = arrow_to_driver_columns(data, self._table_column_types(table))
        inserted = self._call(
            lambda driver: driver.execute(
                f"INSERT INTO {target} VALUES", columns, columnar=True, settings=settings
            )
        )
        return int(inserted) if inserted is not None else data.num_rows
