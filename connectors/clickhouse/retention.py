"""How long ClickHouse keeps rows: every table's TTL, and deleting expired recordings.

The migrations create each table with its default TTL; an applied migration is never
edited, so the retention settings (``INSIGHTLITE_*_RETENTION_*``) are applied here with
``ALTER TABLE ... MODIFY TTL``, only for a table whose TTL differs: a restart with the
same settings starts no mutation.

The sweep (``connectors.archive.replay_retention``) deletes whole recordings: every row of
a recording whose newest row (in either table) ended before the cutoff, never the older
rows of one that is still kept.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .base import ClickHouseClient, ClickHouseError, validate_identifier

logger = logging.getLogger(__name__)

# The aggregate table first: when a sweep stops half-way, the list of recordings no
# longer shows one whose chunks are still there, rather than the opposite.
REPLAY_TABLES = ("session_replays", "session_replay_chunks")

# Recordings per statement: a DELETE is one lightweight-delete mutation, whose text keeps
# its key list, so neither one per recording nor one for all of them.
KEYS_PER_STATEMENT = 2_000

# The TTL clause of system.tables' engine_full: after the sorting key, before SETTINGS.
_TTL_CLAUSE = re.compile(r"\sTTL\s+(.+?)(?:\s+SETTINGS\s.*)?\Z", re.S)

RecordingKey = tuple[str, str]
"""A recording: (site id, session id as a lower-case UUID string)."""


def _ends(database: str, tables: Iterable[str]) -> str:
    """Every row's recording and end time, over the replay tables given."""
    return " UNION ALL ".join(
        f"SELECT site_id, session_id, end_time FROM {database}.{table}" for table in tables
    )


def _check_cutoff(cutoff: datetime) -> None:
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be a timezone-aware datetime")


def expired_recordings(client: ClickHouseClient, cutoff: datetime) -> set[RecordingKey]:
    """Recordings with rows, none of which (in either replay table) ends at or after
    ``cutoff``. Tables not created yet (a database before the replay migration) hold
    none."""
    _check_cutoff(cutoff)
    database = validate_identifier(client.database, "database name")
    tables = list(table_engines(client, REPLAY_TABLES))
    if not tables:
        return set()
    result = client.query(
        f"SELECT site_id, session_id FROM ({_ends(database, tables)}) "
        "GROUP BY site_id, session_id "
        "HAVING max(end_time) < {cutoff:DateTime64(3, 'UTC')}",
        {"cutoff": cutoff},
    )
    return {(str(site_id), str(session_id)) for site_id, session_id in result.rows}


def _batches(keys: Sequence[RecordingKey], size: int) -> Iterable[Sequence[RecordingKey]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _in_tables(keys: Iterable[RecordingKey]) -> list[RecordingKey]:
    """The keys that can be in the tables (a session id that is no UUID cannot), sorted."""
    return sorted({(site, session) for site, session in keys if _is_uuid(session)})


def recordings_kept(
    client: ClickHouseClient, keys: Iterable[RecordingKey], cutoff: datetime
) -> set[RecordingKey]:
    """Of these recordings, those with a row in either replay table that ends at or
    after ``cutoff``: the tables say they are still kept."""
    _check_cutoff(cutoff)
    database = validate_identifier(client.database, "database name")
    tables = list(table_engines(client, REPLAY_TABLES))
    wanted = _in_tables(keys)
    kept: set[RecordingKey] = set()
    if not tables or not wanted:
        return kept
    for batch in _batches(wanted, KEYS_PER_STATEMENT):
        result = client.query(
            f"SELECT site_id, session_id FROM ({_ends(database, tables)}) "
            "WHERE (site_id, session_id) IN {keys:Array(Tuple(String, UUID))} "
            "GROUP BY site_id, session_id "
            "HAVING max(end_time) >= {cutoff:DateTime64(3, 'UTC')}",
            {"keys": list(batch), "cutoff": cutoff},
        )
        kept.update((str(site_id), str(session_id)) for site_id, session_id in result.rows)
    return kept


def delete_recordings(client: ClickHouseClient, keys: Iterable[RecordingKey]) -> None:
    """Delete every row of these recordings from both replay tables (lightweight
    deletes). A session id that is no UUID cannot be in the tables and is skipped."""
    database = validate_identifier(client.database, "database name")
    wanted = _in_tables(keys)
    if not wanted:
        return
    existing = table_engines(client, REPLAY_TABLES)
    for table in REPLAY_TABLES:
        if table not in existing:
            continue
        for batch in _batches(wanted, KEYS_PER_STATEMENT):
            client.command(
                f"DELETE FROM {database}.{table} "
                "WHERE (site_id, session_id) IN {keys:Array(Tuple(String, UUID))}",
                {"keys": list(batch)},
            )


# --- Every table's retention ----------------------------------------------------------

# A TTL ClickHouse prints back: ``<expr> + toIntervalMonth(N)`` or as written.
_ANY_TTL = re.compile(
    r"(?P<expr>.+?)\s*\+\s*(?:toInterval(?P<fn_unit>Day|Month)\((?P<fn_n>\d+)\)"
    r"|INTERVAL\s+(?P<n>\d+)\s+(?P<unit>DAY|MONTH))",
    re.I,
)


@dataclass(frozen=True)
class TableTTL:
    """A table's TTL: rows go ``amount`` ``unit``s after ``time_expression``."""

    table: str
    time_expression: str
    unit: str  # DAY or MONTH
    amount: int

    def __post_init__(self) -> None:
        if self.unit not in ("DAY", "MONTH"):
            raise ValueError(f"TTL unit must be DAY or MONTH, got {self.unit!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(f"retention of {self.table} must be >= 1, got {self.amount!r}")

    @property
    def expression(self) -> str:
        return f"{self.time_expression} + INTERVAL {self.amount} {self.unit}"


class RetentionConfig(Protocol):
    """The settings the tables' TTLs come from (``foundation.settings``)."""

    events_retention_months: int
    sessions_retention_months: int
    heatmap_retention_months: int
    replay_retention_days: int


def table_ttls(settings: RetentionConfig) -> list[TableTTL]:
    """Every table's TTL as the settings give it (the archive's retention is applied by
    ``connectors.archive`` sweeps and the bucket's lifecycle rules, not here)."""
    return [
        TableTTL("events", "toDateTime(timestamp)", "MONTH", settings.events_retention_months),
        TableTTL("sessions", "toDateTime(end_time)", "MONTH", settings.sessions_retention_months),
        TableTTL("heatmap_aggregates", "date_bucket", "MONTH", settings.heatmap_retention_months),
        *(
            TableTTL(table, "toDateTime(end_time)", "DAY", settings.replay_retention_days)
            for table in REPLAY_TABLES
        ),
    ]


def parse_ttl(engine_full: str) -> tuple[str, str, int] | None:
    """(time expression, DAY or MONTH, amount) of a table's engine text; None when it
    has no TTL of the form ``<expr> + <interval>``."""
    clause = _TTL_CLAUSE.search(engine_full)
    if clause is None:
        return None
    match = _ANY_TTL.fullmatch(clause.group(1).strip())
    if match is None:
        return None
    unit = (match.group("fn_unit") or match.group("unit")).upper()
    return match.group("expr").strip(), unit, int(match.group("fn_n") or match.group("n"))


def table_engines(client: ClickHouseClient, tables: Iterable[str]) -> dict[str, str]:
    """engine_full of those of ``tables`` that exist in the client's database."""
    database = validate_identifier(client.database, "database name")
    result = client.query(
        "SELECT name, engine_full FROM system.tables "
        "WHERE database = {database:String} AND name IN {tables:Array(String)}",
        {"database": database, "tables": list(tables)},
    )
    return {str(name): str(engine) for name, engine in result.rows}


def apply_retention(client: ClickHouseClient, ttls: Iterable[TableTTL]) -> list[str]:
    """Set each table's TTL when its retention differs (a restart with the same settings
    starts no mutation); return the tables changed. Run it after the migrations."""
    wanted = list(ttls)
    database = validate_identifier(client.database, "database name")
    engines = table_engines(client, [ttl.table for ttl in wanted])
    changed = []
    for ttl in wanted:
        if ttl.table not in engines:
            raise ClickHouseError(
                f"table {database}.{ttl.table} does not exist: apply the schema migrations first"
            )
        current = parse_ttl(engines[ttl.table])
        if current == (ttl.time_expression, ttl.unit, ttl.amount):
            continue
        logger.info("setting the TTL of %s.%s to %s", database, ttl.table, ttl.expression)
        client.command(
            f"ALTER TABLE {database}.{validate_identifier(ttl.table, 'table')} "
            f"MODIFY TTL {ttl.expression}"
        )
        changed.append(ttl.table)
    return changed


def apply_settings_retention(client: ClickHouseClient, settings: RetentionConfig) -> list[str]:
    """Apply every table's retention setting (see :func:`table_ttls`)."""
    return apply_retention(client, table_ttls(settings))
