"""How long recordings stay in ClickHouse: the replay tables' TTL and deleting expired ones.

Migration ``0002_session_replays`` creates ``session_replay_chunks`` and
``session_replays`` with ``TTL toDateTime(end_time) + INTERVAL 30 DAY``; an applied
migration is never edited, so ``INSIGHTLITE_REPLAY_RETENTION_DAYS`` is applied here with
``ALTER TABLE ... MODIFY TTL``, only when the TTL differs: a restart with the same
setting starts no mutation.

The sweep (``connectors.archive.replay_retention``) deletes whole recordings: every row of
a recording whose newest row (in either table) ended before the cutoff, never the older
rows of one that is still kept.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

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
# How ClickHouse prints ``toDateTime(end_time) + INTERVAL N DAY`` back (or as written).
_RETENTION_TTL = re.compile(
    r"toDateTime\(end_time\)\s*\+\s*(?:toIntervalDay\((\d+)\)|INTERVAL\s+(\d+)\s+DAY)", re.I
)

RecordingKey = tuple[str, str]
"""A recording: (site id, session id as a lower-case UUID string)."""


def replay_ttl(days: int) -> str:
    """The replay tables' TTL expression for ``days`` of retention."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"replay retention must be a whole number of days >= 1, got {days!r}")
    return f"toDateTime(end_time) + INTERVAL {days} DAY"


def ttl_days(engine_full: str) -> int | None:
    """The retention in days of a replay table's engine text; None when its TTL is missing
    or is not ``toDateTime(end_time) + <days>``."""
    clause = _TTL_CLAUSE.search(engine_full)
    if clause is None:
        return None
    match = _RETENTION_TTL.fullmatch(clause.group(1).strip())
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


def _engines(client: ClickHouseClient, database: str) -> dict[str, str]:
    """engine_full of the replay tables that exist."""
    result = client.query(
        "SELECT name, engine_full FROM system.tables "
        "WHERE database = {database:String} AND name IN {tables:Array(String)}",
        {"database": database, "tables": list(REPLAY_TABLES)},
    )
    return {str(name): str(engine) for name, engine in result.rows}


def apply_replay_retention(client: ClickHouseClient, days: int) -> bool:
    """Set both replay tables' TTL to ``days`` after a recording's end when it differs;
    return whether a table changed. Run it after the migrations, which create them."""
    ttl = replay_ttl(days)
    database = validate_identifier(client.database, "database name")
    engines = _engines(client, database)
    changed = False
    for table in REPLAY_TABLES:
        if table not in engines:
            raise ClickHouseError(
                f"table {database}.{table} does not exist: apply the schema migrations first"
            )
        if ttl_days(engines[table]) == days:
            continue
        logger.info("setting the TTL of %s.%s to %d days after end_time", database, table, days)
        client.command(f"ALTER TABLE {database}.{table} MODIFY TTL {ttl}")
        changed = True
    return changed


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
    tables = [table for table in REPLAY_TABLES if table in _engines(client, database)]
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
    tables = [table for table in REPLAY_TABLES if table in _engines(client, database)]
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
    existing = _engines(client, database)
    for table in REPLAY_TABLES:
        if table not in existing:
            continue
        for batch in _batches(wanted, KEYS_PER_STATEMENT):
            client.command(
                f"DELETE FROM {database}.{table} "
                "WHERE (site_id, session_id) IN {keys:Array(Tuple(String, UUID))}",
                {"keys": list(batch)},
            )
