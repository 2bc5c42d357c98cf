"""The embedded engine: chdb (ClickHouse in-process) over a data directory.

chdb 4.4 runs one embedded ClickHouse per process, bound to one data directory:
- any number of connections to that directory may be open, each its own session (own
  current database and settings), safe to use from several threads;
- a second directory cannot be opened while any connection to the first is open (chdb
  raises "EmbeddedServer already initialized with path ..."), but can once they are all
  closed. This module counts the clients per directory and raises
  :class:`EmbeddedPathConflict` naming the directory in the way;
- another *process* cannot open a directory in use (ClickHouse locks ``status`` in it);
  chdb then fails with an empty "Error initializing EmbeddedServer" message, reported as
  :class:`ClickHouseUnavailable` with that hint.

Query parameters are passed to chdb as text (see ``base.format_param``), which chdb hands
to ClickHouse's own ``{name:Type}`` substitution. Read-only queries run on a second
connection opened with ``readonly=1``; chdb honours it: writes, DDL, setting changes and
file/url table functions are refused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from .base import (
    ClickHouseClient,
    ClickHouseUnavailable,
    EmbeddedPathConflict,
    QueryError,
    QueryResult,
    error_code,
    error_from_message,
    format_params,
    insert_settings,
    insert_target,
    quote_string_literal,
    uuid_columns_to_strings,
    validate_identifier,
)

# Session settings of every engine connection. query() reads ClickHouse's JSONCompact
# output (the only format that carries the column types); these make it lossless:
# 64-bit integers as JSON numbers (Python parses them exactly), NaN/Inf and decimals as
# strings, maps as [key, value] pairs so keys keep their type, invalid UTF-8 replaced.
_CONNECTION_SETTINGS: dict[str, str] = {
    "output_format_json_quote_64bit_integers": "0",
    "output_format_json_quote_64bit_floats": "0",
    "output_format_json_quote_denormals": "1",
    "output_format_json_quote_decimals": "1",
    "output_format_json_named_tuples_as_objects": "1",
    "output_format_json_map_as_array_of_tuples": "1",
    "output_format_json_validate_utf8": "1",
}


_UNKNOWN_DATABASE = 81


@dataclass(frozen=True)
class ChdbSettings:
    """Where the embedded engine keeps its data (an absolute directory path)."""

    path: str
    database: str = "insightlite"

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("chdb path is empty")
        if not os.path.isabs(self.path):
            raise ValueError(f"chdb path must be absolute here, got {self.path!r}")
        # chdb reads anything after '?' in its connection string as engine options.
        if "?" in self.path or "\0" in self.path:
            raise ValueError(f"chdb path {self.path!r} must not contain '?' or NUL")
        validate_identifier(self.database, "database name")


def _connection_string(path: str, *, readonly: bool) -> str:
    options = dict(_CONNECTION_SETTINGS)
    if readonly:
        options["readonly"] = "1"
    return path + "?" + "&".join(f"{key}={value}" for key, value in options.items())


def _open_connection(path: str, *, readonly: bool) -> Any:
    import chdb

    try:
        return chdb.connect(_connection_string(path, readonly=readonly))
    except Exception as exc:  # chdb raises bare RuntimeError for every failure here
        message = str(exc)
        if "already initialized with path" in message:
            raise EmbeddedPathConflict(
                f"cannot open chdb over {path}: this process already runs chdb over another "
                f"directory ({message})"
            ) from exc
        raise ClickHouseUnavailable(
            f"cannot open chdb over {path}: {message} (is another process using this "
            "directory? chdb allows one process per data directory)"
        ) from exc


# Directories opened by clients of this process, with how many clients hold each. chdb
# itself refuses a second directory; this names the one in the way.
_open_paths: dict[str, int] = {}
_open_paths_lock = threading.Lock()


def _register_path(path: str) -> None:
    with _open_paths_lock:
        for open_path in _open_paths:
            if open_path != path:
                raise EmbeddedPathConflict(
                    f"cannot open chdb over {path}: this process already runs chdb over "
                    f"{open_path}; close every client of it first (one directory per process)"
                )
        _open_paths[path] = _open_paths.get(path, 0) + 1


def _unregister_path(path: str) -> None:
    with _open_paths_lock:
        remaining = _open_paths.get(path, 0) - 1
        if remaining > 0:
            _open_paths[path] = remaining
        else:
            _open_paths.pop(path, None)


# --- JSONCompact values to Python values ----------------------------------------------
#
# The values are converted to what clickhouse-driver returns for the same types, so code
# reading QueryResult.rows behaves the same on both engines.

_Decoder = Callable[[Any], Any]


def _split_type_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a type, respecting parentheses and quotes."""
    arguments: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            arguments.append(text[start:index].strip())
            start = index + 1
        index += 1
    tail = text[start:].strip()
    if tail:
        arguments.append(tail)
    return arguments


def _parse_type(text: str) -> tuple[str, list[str]]:
    text = text.strip()
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        return text, []
    return text[:open_at].strip(), _split_type_arguments(text[open_at + 1 : -1])


_NAMED_ELEMENT = re.compile(r"(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)\Z", re.DOTALL)


def _unquote(text: str) -> str:
    return text.strip().strip("'")


def _datetime_decoder(timezone_name: str | None) -> _Decoder:
    zone = ZoneInfo(timezone_name) if timezone_name else None

    def decode(value: Any) -> datetime:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=zone) if zone else parsed

    return decode


def _tuple_decoder(arguments: list[str]) -> _Decoder:
    names: list[str] = []
    decoders: list[_Decoder] = []
    for argument in arguments:
        named = _NAMED_ELEMENT.fullmatch(argument)
        if named:
            names.append(named.group(1).strip("`"))
            decoders.append(_decoder_for(named.group(2)))
        else:
            decoders.append(_decoder_for(argument))
    if names and len(names) == len(decoders):
        pairs = list(zip(names, decoders, strict=True))
        # Named tuples come as JSON objects; clickhouse-driver also returns dicts.
        return lambda value: {name: decode(value[name]) for name, decode in pairs}
    return lambda value: tuple(decode(item) for decode, item in zip(decoders, value, strict=True))


_SIMPLE_DECODERS: dict[str, _Decoder] = {
    "Bool": bool,
    "String": str,
    "UUID": uuid.UUID,
    "Date": date.fromisoformat,
    "Date32": date.fromisoformat,
    "IPv4": ipaddress.IPv4Address,
    "IPv6": ipaddress.IPv6Address,
    "Float32": float,
    "Float64": float,
    "BFloat16": float,
}


@lru_cache(maxsize=512)
def _decoder_for(type_text: str) -> _Decoder:
    name, arguments = _parse_type(type_text)
    inner: _Decoder
    if name == "Nullable":
        inner = _decoder_for(arguments[0])
        return lambda value: None if value is None else inner(value)
    if name == "LowCardinality":
        return _decoder_for(arguments[0])
    if name == "SimpleAggregateFunction":
        return _decoder_for(arguments[-1])
    if name == "Array":
        inner = _decoder_for(arguments[0])
        return lambda value: [inner(item) for item in value]
    if name == "Tuple":
        return _tuple_decoder(arguments)
    if name == "Map":
        key_decoder, value_decoder = _decoder_for(arguments[0]), _decoder_for(arguments[1])

        def decode_map(value: Any) -> dict[Any, Any]:
            # Each entry is a named tuple (keys, values), written as an object.
            pairs = ((e["keys"], e["values"]) if isinstance(e, dict) else e for e in value)
            return {key_decoder(key): value_decoder(item) for key, item in pairs}

        return decode_map
    if name == "DateTime":
        return _datetime_decoder(_unquote(arguments[0]) if arguments else None)
    if name == "DateTime64":
        return _datetime_decoder(_unquote(arguments[1]) if len(arguments) > 1 else None)
    if name.startswith("Decimal"):
        return lambda value: Decimal(str(value))
    if re.fullmatch(r"U?Int\d+", name):
        return int
    if name == "Nothing":
        return lambda value: None
    return _SIMPLE_DECODERS.get(name, lambda value: value)


def _decode_rows(types: list[str], data: list[list[Any]]) -> list[tuple[Any, ...]]:
    decoders = [_decoder_for(type_text) for type_text in types]
    return [
        tuple(
            None if value is None else decode(value)
            for decode, value in zip(decoders, row, strict=True)
        )
        for row in data
    ]


def _parse_json_result(output: bytes) -> QueryResult:
    if not output.strip():
        return QueryResult(columns=[], types=[], rows=[])
    try:
        document = json.loads(output)
        meta = document["meta"]
        data = document["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise QueryError(
            "the query's output is not ClickHouse's JSONCompact result; remove any FORMAT "
            "clause (use query_arrow for bulk results)"
        ) from exc
    columns = [column["name"] for column in meta]
    types = [column["type"] for column in meta]
    return QueryResult(columns=columns, types=types, rows=_decode_rows(types, data))


class ChdbClient(ClickHouseClient):
    """ClickHouse embedded in this process through chdb, over one data directory.

    Each client has its own chdb connections (a session each, so its default database is
    its own) and serialises its calls with a lock; clients over the same directory share
    the process's one engine and may run in parallel.
    """

    def __init__(self, settings: ChdbSettings) -> None:
        self._settings = settings
        self._lock = threading.RLock()
        self._connection: Any = None
        self._readonly_connection: Any = None
        self._database_selected: set[bool] = set()

    @property
    def database(self) -> str:
        return self._settings.database

    @property
    def path(self) -> str:
        """The absolute data directory."""
        return self._settings.path

    def describe(self) -> str:
        return f"chdb:{self._settings.path}"

    def close(self) -> None:
        with self._lock:
            connections = (self._readonly_connection, self._connection)
            was_open = self._connection is not None
            self._connection = self._readonly_connection = None
            self._database_selected.clear()
            # The engine stops when the process's last connection closes, which frees
            # the directory for another process (or this one, for another directory).
            for connection in connections:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
            if was_open:
                _unregister_path(self._settings.path)

    def __del__(self) -> None:
        # A client dropped without close() must still give its directory back.
        with contextlib.suppress(Exception):
            self.close()

    def _open(self, *, readonly: bool) -> Any:
        """The (read-only) connection, opened on first use; call with the lock held."""
        if self._connection is None:
            _register_path(self._settings.path)
            try:
                os.makedirs(self._settings.path, exist_ok=True)
                self._connection = _open_connection(self._settings.path, readonly=False)
            except BaseException:
                _unregister_path(self._settings.path)
                raise
        if readonly and self._readonly_connection is None:
            self._readonly_connection = _open_connection(self._settings.path, readonly=True)
        connection = self._readonly_connection if readonly else self._connection
        if readonly not in self._database_selected:
            self._select_database(connection, readonly)
        return connection

    def _select_database(self, connection: Any, readonly: bool) -> None:
        # Unqualified table names (user SQL in readonly_query) resolve in our database
        # once it exists; until migrations create it the session stays on "default".
        try:
            connection.query(f"USE {self.database}", "TSV")
        except Exception as exc:
            if error_code(str(exc)) == _UNKNOWN_DATABASE:
                return
            raise error_from_message(str(exc)) from exc
        self._database_selected.add(readonly)

    def _run(
        self,
        sql: str,
        output_format: str,
        params: Mapping[str, Any] | None,
        *,
        readonly: bool = False,
    ) -> Any:
        rendered = format_params(params)
        with self._lock:
            connection = self._open(readonly=readonly)
            try:
                return connection.query(sql, output_format, params=rendered)
            except Exception as exc:  # chdb wraps every engine error in ChdbError
                raise error_from_message(str(exc)) from exc

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "TSV", params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        return _parse_json_result(self._run(sql, "JSONCompact", params).bytes())

    def query_readonly(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        return _parse_json_result(self._run(sql, "JSONCompact", params, readonly=True).bytes())

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        result = self._run(sql, "Arrow", params)
        if result.size() == 0:
            return pa.table({})
        table = pa.RecordBatchFileReader(result.get_memview().view()).read_all()
        # chdb writes UUIDs as Arrow's uuid extension, clickhouse-driver as text; text
        # is what both return, and what JSON answers need.
        return uuid_columns_to_strings(table)

    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> int:
        target = insert_target(self.database, table, data.column_names)
        settings = insert_settings(dedup_token)
        if data.num_rows == 0:
            return 0
        settings_sql = ", ".join(
            f"{name} = {quote_string_literal(value) if isinstance(value, str) else value}"
            for name, value in settings.items()
        )
        # The Arrow IPC stream goes straight into ClickHouse's ArrowStream input format,
        # which matches columns by name; columns missing from data get their defaults.
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        payload = sink.getvalue().to_pybytes()
        with self._lock:
            connection = self._open(readonly=False)
            try:
                inserter = connection.send_insert(
                    f"INSERT INTO {target} SETTINGS {settings_sql}", "ArrowStream"
                )
            except Exception as exc:
                raise error_from_message(str(exc)) from exc
            try:
                inserter.append(payload)
                inserter.finish()
            except Exception as exc:
                with contextlib.suppress(Exception):  # the engine error is the one to report
                    inserter.cancel()
                raise error_from_message(str(exc)) from exc
        return data.num_rows
