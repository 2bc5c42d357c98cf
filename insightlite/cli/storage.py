"""Opening ClickHouse for the commands, with one line naming what is wrong and the fix.

The commands that only read (query, schema status, heatmap, api) refuse a location
holding no InsightLite database: opening the embedded engine over a mistyped
``--data-dir`` would otherwise create an empty one and answer from it. Every command
refuses an embedded directory that another process holds (chdb allows one process per
directory) before the engine prints its own error, and an unreachable server is one
line, not the driver's traceback (shown with ``--log-level DEBUG``).
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.settings import ConfigError, Settings

if TYPE_CHECKING:
    from connectors.clickhouse import ClickHouseClient

# ClickHouse's "unknown database" error code.
_UNKNOWN_DATABASE = 81


class StorageUnavailable(RuntimeError):
    """ClickHouse cannot be used now; the message names the problem and the fix."""


class DatabaseMissing(StorageUnavailable):
    """ClickHouse answers but holds no such database (yet); the message names the setting."""


def embedded_path(settings: Settings) -> Path | None:
    """The embedded engine's directory, or None for a ClickHouse server."""
    url = settings.resolved_clickhouse_url
    return Path(url.removeprefix("chdb:")) if url.startswith("chdb:") else None


def _location_setting(settings: Settings) -> str:
    """The setting that chose where the database is."""
    if settings.clickhouse_url:
        return "INSIGHTLITE_CLICKHOUSE_URL (--clickhouse)"
    return "INSIGHTLITE_DATA_DIR (--data-dir)"


def _opened_here(file: Path) -> bool:
    """Whether this process has ``file`` open (then the engine holding it is ours)."""
    target = os.path.realpath(file)
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/self/fd/{descriptor}") == target:
                return True
        except OSError:
            continue
    return False


def held_by_another_process(path: Path) -> bool:
    """Whether a running engine of another process holds ``path``: ClickHouse keeps an
    exclusive flock on its ``status`` file while it runs (a crashed one leaves the
    file, not the lock). chdb lets this process open its own directory again."""
    status = path / "status"
    if _opened_here(status):
        return False
    try:
        descriptor = os.open(status, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # closing releases the lock taken here
    return False


def check_embedded_free(settings: Settings) -> None:
    """Refuse an embedded directory that another process is using."""
    path = embedded_path(settings)
    if path is not None and held_by_another_process(path):
        raise StorageUnavailable(
            f"the embedded ClickHouse in {path} is in use by another process (chdb allows "
            "one process per data directory): stop that process (an `insightlite run`, "
            f"`demo --serve` or `api`) or choose another {_location_setting(settings)}"
        )


def unavailable_message(settings: Settings, error: Exception) -> str:
    """One line for a ClickHouse that could not be reached or opened."""
    from connectors.clickhouse import redact_url

    detail = " ".join(str(error).split())
    path = embedded_path(settings)
    if path is not None:
        return (
            f"cannot open the embedded ClickHouse in {path} ({detail}): stop any other "
            f"process using it or choose another {_location_setting(settings)}"
        )
    return (
        f"ClickHouse at {redact_url(settings.resolved_clickhouse_url)} is not reachable "
        f"({detail}): start the server or fix INSIGHTLITE_CLICKHOUSE_URL (--clickhouse)"
    )


def _no_database(settings: Settings, where: str) -> ConfigError:
    return ConfigError(
        f"{_location_setting(settings)}: no InsightLite database in {where}; check the "
        "setting, or create one with `insightlite run`, `insightlite demo` or "
        "`insightlite schema apply`"
    )


def check_embedded_readable(settings: Settings) -> None:
    """For the embedded engine: refuse, without opening it, a directory that holds no
    database (chdb would create one over it) or that another process holds."""
    path = embedded_path(settings)
    if path is None:
        return
    if not (path / "metadata").is_dir():
        raise _no_database(settings, str(path))
    check_embedded_free(settings)


def open_for_reading(settings: Settings) -> ClickHouseClient:
    """A client over an existing InsightLite database, for commands that only read.

    Raises ConfigError (naming the setting) when the embedded directory does not
    exist, DatabaseMissing when ClickHouse holds no such database, and
    StorageUnavailable when ClickHouse cannot be reached or opened.
    """
    from connectors.clickhouse import (
        ClickHouseUnavailable,
        QueryError,
        connect,
        redact_url,
    )

    path = embedded_path(settings)
    check_embedded_readable(settings)
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    try:
        found = client.query(
            "SELECT count() FROM system.databases WHERE name = {name:String}",
            {"name": settings.clickhouse_database},
        ).rows[0][0]
    except ClickHouseUnavailable as exc:
        client.close()
        raise StorageUnavailable(unavailable_message(settings, exc)) from exc
    except QueryError as exc:
        client.close()
        if getattr(exc, "code", None) != _UNKNOWN_DATABASE:
            raise
        found = 0
    if not found:
        client.close()
        where = str(path) if path is not None else redact_url(settings.resolved_clickhouse_url)
        raise DatabaseMissing(
            f"INSIGHTLITE_CLICKHOUSE_DATABASE (--database): no database "
            f"{settings.clickhouse_database!r} in ClickHouse at {where}; check the "
            "setting, or create it with `insightlite schema apply`"
        )
    return client


class _DebugOnly(logging.Filter):
    """Lets records through only when the log level is DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def quiet_driver_logs() -> None:
    """The ClickHouse driver logs a warning with a traceback for every failed connection;
    the error that follows says the same in one line. Show them only at DEBUG."""
    driver = logging.getLogger("clickhouse_driver.connection")
    if not any(isinstance(existing, _DebugOnly) for existing in driver.filters):
        driver.addFilter(_DebugOnly())
