"""Versioned schema migrations: ``migrations/NNNN_name.sql`` files applied in order.

A file holds ClickHouse statements separated by ``;`` (a ``;`` inside a string, a quoted
name or a comment does not split). ``{database}`` is the only placeholder: it is replaced
by the client's database name, which is checked to be a plain identifier first. Every
applied file is recorded in ``{database}.schema_migrations`` with the SHA-256 of its text;
an applied file whose text changed afterwards stops the run, because the database no
longer matches what the code describes.

ClickHouse DDL is not transactional: a file is recorded only after all its statements
ran, so write statements that can run twice (``IF NOT EXISTS``) and a failed file can be
re-applied after the fix. Run migrations from one process at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable

from .base import ClickHouseClient, ClickHouseError, validate_identifier

logger = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql\Z")
_PLACEHOLDER = "{database}"


class MigrationError(ClickHouseError):
    """The migration files or the recorded history are not consistent."""


class MigrationChecksumMismatch(MigrationError):
    """A migration that was already applied has different text now."""


@dataclass(frozen=True)
class Migration:
    """One migration file: ``name`` is the file name without ``.sql`` (``0001_initial``)."""

    version: int
    name: str
    sql: str
    checksum: str

    @classmethod
    def from_text(cls, file_name: str, sql: str) -> Migration:
        match = _FILE_NAME.fullmatch(file_name)
        if not match:
            raise MigrationError(
                f"migration file {file_name!r} is not named NNNN_name.sql "
                "(four digits, underscore, lower-case letters, digits or underscores)"
            )
        checksum = hashlib.sha256(sql.encode("utf-8")).hexdigest()
        return cls(version=int(match.group(1)), name=file_name[:-4], sql=sql, checksum=checksum)

    def statements(self, database: str) -> list[str]:
        """The file's statements with ``{database}`` replaced, comments kept, empties dropped."""
        validate_identifier(database, "database name")
        return [
            statement.replace(_PLACEHOLDER, database) for statement in split_statements(self.sql)
        ]


def split_statements(sql: str) -> list[str]:
    """Statements separated by ``;`` outside quotes and comments; comment-only ones dropped."""
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    index = 0
    length = len(sql)
    while index < length:
        char = sql[index]
        pair = sql[index : index + 2]
        if pair == "--":
            end = sql.find("\n", index)
            end = length if end < 0 else end
            current.append(sql[index:end])
            index = end
            continue
        if pair == "/*":
            end = sql.find("*/", index + 2)
            end = length if end < 0 else end + 2
            current.append(sql[index:end])
            index = end
            continue
        if char in "'\"`":
            end = index + 1
            while end < length and sql[end] != char:
                end += 2 if sql[end] == "\\" else 1
            current.append(sql[index : end + 1])
            has_code = True
            index = end + 1
            continue
        if char == ";":
            if has_code:
                statements.append("".join(current).strip())
            current, has_code = [], False
            index += 1
            continue
        current.append(char)
        has_code = has_code or not char.isspace()
        index += 1
    if has_code:
        statements.append("".join(current).strip())
    return statements


def _in_order(migrations: Sequence[Migration]) -> list[Migration]:
    """The migrations sorted by version, refusing two files with one version."""
    ordered = sorted(migrations, key=lambda migration: migration.version)
    for previous, following in itertools.pairwise(ordered):
        if previous.version == following.version:
            raise MigrationError(
                f"migrations {previous.name} and {following.name} share version {previous.version}"
            )
    return ordered


def _load(directory: Traversable) -> list[Migration]:
    return _in_order(
        [
            Migration.from_text(entry.name, entry.read_text(encoding="utf-8"))
            for entry in directory.iterdir()
            if entry.is_file() and entry.name.endswith(".sql")
        ]
    )


def list_migrations() -> list[Migration]:
    """The migrations shipped in this package, by version."""
    return _load(resources.files(__package__ or "connectors.clickhouse").joinpath("migrations"))


def _history_ddl(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations (\n"
        "    version UInt32,\n"
        "    name String,\n"
        "    checksum String,\n"
        "    applied_at DateTime64(3, 'UTC')\n"
        ") ENGINE = MergeTree ORDER BY version"
    )


def _applied(client: ClickHouseClient) -> dict[int, tuple[str, str]]:
    """Recorded migrations: version -> (name, checksum); empty before the first run."""
    database = validate_identifier(client.database, "database name")
    exists = client.query(
        "SELECT count() FROM system.tables WHERE database = {database:String} "
        "AND name = 'schema_migrations'",
        {"database": database},
    )
    if not exists.rows[0][0]:
        return {}
    result = client.query(
        f"SELECT version, name, checksum FROM {database}.schema_migrations ORDER BY version"
    )
    return {int(version): (name, checksum) for version, name, checksum in result.rows}


def _check_history(
    applied: dict[int, tuple[str, str]], migrations: Sequence[Migration]
) -> list[Migration]:
    """The migrations still to apply, after checking the applied ones are unchanged."""
    known = {migration.version: migration for migration in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            logger.warning("database has migration %s applied that this code does not ship", name)
            continue
        if migration.checksum != checksum:
            raise MigrationChecksumMismatch(
                f"migration {migration.name} was applied with checksum {checksum[:12]}... "
                f"but the file now has {migration.checksum[:12]}...: an applied migration "
                "must not be edited; add a new migration instead"
            )
    return [migration for migration in migrations if migration.version not in applied]


def pending_migrations(
    client: ClickHouseClient, *, migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Names of the migrations not applied yet (checksums of applied ones are checked)."""
    available = list_migrations() if migrations is None else _in_order(migrations)
    return [migration.name for migration in _check_history(_applied(client), available)]


def apply_migrations(
    client: ClickHouseClient, *, migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Create the database if needed and apply pending migrations; return their names.

    ``migrations`` replaces the packaged files (tests use it).
    """
    database = validate_identifier(client.database, "database name")
    available = list_migrations() if migrations is None else _in_order(migrations)
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(_history_ddl(database))
    applied_now: list[str] = []
    for migration in _check_history(_applied(client), available):
        logger.info("applying migration %s to %s", migration.name, database)
        for statement in migration.statements(database):
            client.command(statement)
        client.command(
            # INSERT ... SELECT: placeholders are bound in a query, not in VALUES data.
            f"INSERT INTO {database}.schema_migrations (version, name, checksum, applied_at) "
            "SELECT {version:UInt32}, {name:String}, {checksum:String}, "
            "{applied_at:DateTime64(3, 'UTC')}",
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum,
                "applied_at": datetime.now(UTC),
            },
        )
        applied_now.append(migration.name)
    return applied_now
