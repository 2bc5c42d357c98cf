"""Building a client from a URL, and running user-supplied SQL read-only.

URLs:
- ``chdb:PATH`` or ``chdb://PATH``: the embedded engine over directory PATH (created if
  missing; a relative PATH is taken from the current directory when the URL is parsed).
- ``clickhouse://user:password@host:9000/db`` and ``clickhouses://...`` (TLS, port 9440
  by default): a server through clickhouse-driver; the URL's database, when given,
  overrides the ``database`` argument. Optional query options: ``connect_timeout`` and
  ``send_receive_timeout`` (seconds), ``verify`` (TLS certificate check, true/false).

Settings are checked when the client is built; the connection opens on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .base import ClickHouseClient, QueryError, QueryResult, validate_identifier
from .chdb_client import ChdbClient, ChdbSettings
from .native_client import DEFAULT_PORT, DEFAULT_SECURE_PORT, NativeClient, ServerSettings

_SERVER_SCHEMES = {"clickhouse": False, "clickhouses": True}
_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe for messages and logs."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    # The authority ends where urlsplit ends it: at the first '/', '?' or '#'.
    ends = [index for index in (rest.find(char) for char in "/?#") if index >= 0]
    authority_end = min(ends, default=len(rest))
    userinfo, at, host_port = rest[:authority_end].rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host_port}{rest[authority_end:]}"


def _parse_chdb(rest: str, database: str) -> ChdbSettings:
    path = rest[2:] if rest.startswith("//") else rest
    if not path.strip():
        raise ValueError("chdb URL has an empty path: expected chdb:PATH or chdb://PATH")
    return ChdbSettings(path=os.path.abspath(path), database=database)


def _parse_seconds(name: str, values: list[str], shown: str) -> float:
    try:
        seconds = float(values[-1])
    except ValueError:
        raise ValueError(f"{name} in {shown} is not a number: {values[-1]!r}") from None
    if seconds <= 0:
        raise ValueError(f"{name} in {shown} must be positive")
    return seconds


def _parse_server(url: str, secure: bool, database: str) -> ServerSettings:
    shown = redact_url(url)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid port in ClickHouse URL {shown}") from None
    if not parts.hostname:
        raise ValueError(f"ClickHouse URL {shown} has no host")
    if parts.fragment:
        raise ValueError(f"ClickHouse URL {shown} must not have a #fragment")
    path = parts.path.strip("/")
    if "/" in path:
        raise ValueError(f"ClickHouse URL {shown}: the path must be one database name")
    if path:
        database = validate_identifier(unquote(path), "database name in the URL")
    options: dict[str, Any] = {}
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        if name in ("connect_timeout", "send_receive_timeout"):
            options[name] = _parse_seconds(name, values, shown)
        elif name == "verify":
            word = values[-1].lower()
            if word not in _TRUE_WORDS | _FALSE_WORDS:
                raise ValueError(f"verify in {shown} must be true or false, got {values[-1]!r}")
            options["verify"] = word in _TRUE_WORDS
        else:
            raise ValueError(
                f"unknown option {name!r} in ClickHouse URL {shown}: expected "
                "connect_timeout, send_receive_timeout or verify"
            )
    return ServerSettings(
        host=parts.hostname,
        port=port if port is not None else (DEFAULT_SECURE_PORT if secure else DEFAULT_PORT),
        user=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=database,
        secure=secure,
        **options,
    )


def parse_url(url: str, *, database: str = "insightlite") -> ChdbSettings | ServerSettings:
    """The checked settings a URL describes; ValueError names what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("ClickHouse URL is empty")
    validate_identifier(database, "database name")
    scheme, separator, rest = url.strip().partition(":")
    scheme = scheme.lower()
    if not separator:
        raise ValueError(
            f"ClickHouse URL {redact_url(url)!r} has no scheme: expected chdb:PATH, "
            "clickhouse://host:9000/db or clickhouses://host:9440/db"
        )
    if scheme == "chdb":
        return _parse_chdb(rest, database)
    if scheme in _SERVER_SCHEMES:
        return _parse_server(url.strip(), _SERVER_SCHEMES[scheme], database)
    raise ValueError(
        f"unsupported ClickHouse URL scheme {scheme!r}: expected chdb, clickhouse or clickhouses"
    )


def connect(url: str, *, database: str = "insightlite") -> ClickHouseClient:
    """A client for ``url`` (see the module doc); nothing is opened until first use."""
    settings = parse_url(url, database=database)
    if isinstance(settings, ChdbSettings):
        return ChdbClient(settings)
    return NativeClient(settings)


def readonly_query(
    client: ClickHouseClient, sql: str, params: Mapping[str, Any] | None = None
) -> QueryResult:
    """Run user-supplied SQL under ClickHouse's ``readonly = 1``.

    ClickHouse itself refuses anything but reads (INSERT, DDL, SYSTEM, OPTIMIZE, setting
    changes, file/url table functions), on the server and in chdb alike, so no statement
    parsing happens here. A refusal or any other bad statement raises QueryError with
    ClickHouse's message; ClickHouseUnavailable passes through for the caller to retry.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("empty query")
    return client.query_readonly(sql, params)
