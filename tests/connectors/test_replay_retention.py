"""Recordings' retention against real chdb and a real blob store: the replay tables'
TTL follows the setting, and the sweep deletes whole expired recordings, nothing else.

chdb opens one data directory per process at a time, so every test opens its own
directory (tmp_path) and closes its client before it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.archive.replay_retention import (
    ReplaySweep,
    blob_first_event_ms,
    expire_recordings,
    newest_blob_ms,
)
from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse import (
    ChdbClient,
    ClickHouseError,
    apply_migrations,
    connect,
    list_migrations,
)
from connectors.clickhouse.retention import (
    REPLAY_TABLES,
    TableTTL,
    apply_retention,
    delete_recordings,
    expired_recordings,
    parse_ttl,
    recordings_kept,
)
from operators.replay_blobs import blob_name, encode_blob

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
DAYS = 30
CUTOFF = NOW - timedelta(days=DAYS)
MS = timedelta(milliseconds=1)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ChdbClient]:
    chdb_client = connect(f"chdb:{tmp_path / 'clickhouse'}", database="retention_test")
    assert isinstance(chdb_client, ChdbClient)
    try:
        yield chdb_client
    finally:
        chdb_client.close()


@pytest.fixture
def store(tmp_path: Path) -> ReplayBlobStore:
    return ReplayBlobStore(str(tmp_path / "archive"))


def engines(client: ChdbClient) -> dict[str, str]:
    result = client.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {d:String}",
        {"d": client.database},
    )
    return {name: engine for name, engine in result.rows if name in REPLAY_TABLES}


def replay_ttl(days: int) -> list[TableTTL]:
    return [TableTTL(table, "toDateTime(end_time)", "DAY", days) for table in REPLAY_TABLES]


def apply_replay_retention(client: ChdbClient, days: int) -> bool:
    """Whether setting the replay tables' retention to ``days`` changed a table."""
    return bool(apply_retention(client, replay_ttl(days)))


def ttl_days(engine_full: str) -> int | None:
    """The days after a recording's end a replay table keeps it; None for another TTL."""
    parsed = parse_ttl(engine_full)
    if parsed is None or parsed[:2] != ("toDateTime(end_time)", "DAY"):
        return None
    return parsed[2]


def mutation_count(client: ChdbClient) -> int:
    result = client.query(
        "SELECT count() FROM system.mutations WHERE database = {d:String}", {"d": client.database}
    )
    return int(result.rows[0][0])


# --- the tables' TTL ------------------------------------------------------------------


def test_ttl_follows_the_setting_once_and_then_is_left_alone(client: ChdbClient) -> None:
    apply_migrations(client)
    # The migration's own 30 days: nothing to change, no mutation started.
    before = mutation_count(client)
    assert apply_replay_retention(client, 30) is False
    assert mutation_count(client) == before

    assert apply_replay_retention(client, 7) is True
    assert {table: ttl_days(engine) for table, engine in engines(client).items()} == {
        "session_replays": 7,
        "session_replay_chunks": 7,
    }
    changed = mutation_count(client)
    # A restart with the same setting changes nothing and starts no mutation.
    assert apply_replay_retention(client, 7) is False
    assert mutation_count(client) == changed

    assert apply_replay_retention(client, 400) is True
    assert set(map(ttl_days, engines(client).values())) == {400}


def test_one_table_apart_is_brought_back(client: ChdbClient) -> None:
    apply_migrations(client)
    database = client.database
    client.command(f"ALTER TABLE {database}.session_replays REMOVE TTL")
    assert ttl_days(engines(client)["session_replays"]) is None
    assert apply_replay_retention(client, 30) is True
    assert set(map(ttl_days, engines(client).values())) == {30}


def test_retention_needs_the_replay_tables(client: ChdbClient) -> None:
    apply_migrations(client, migrations=list_migrations()[:1])
    with pytest.raises(ClickHouseError, match="apply the schema migrations first"):
        apply_replay_retention(client, 30)


@pytest.mark.parametrize("days", [0, -1, True, 1.5])
def test_retention_days_must_be_a_whole_positive_number(days: object) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        replay_ttl(days)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("engine", "days"),
    [
        (
            "ReplacingMergeTree ORDER BY (site_id, session_id, chunk_id) TTL toDateTime(end_time)"
            " + toIntervalDay(30) SETTINGS non_replicated_deduplication_window = 1000",
            30,
        ),
        (
            "SharedAggregatingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}') "
            "ORDER BY (site_id, session_id) TTL toDateTime(end_time) + toIntervalDay(395)",
            395,
        ),
        ("AggregatingMergeTree ORDER BY x TTL toDateTime(end_time) + INTERVAL 9 DAY", 9),
        (
            "AggregatingMergeTree ORDER BY (site_id, session_id) SETTINGS index_granularity = 1",
            None,
        ),
        ("MergeTree ORDER BY x TTL toDateTime(start_time) + toIntervalDay(30)", None),
        ("MergeTree ORDER BY x TTL toDateTime(end_time) + toIntervalMonth(1)", None),
        ("MergeTree ORDER BY x TTL toDateTime(end_time) + toIntervalDay(30) DELETE WHERE 1", None),
    ],
)
def test_ttl_days_reads_the_engine_text(engine: str, days: int | None) -> None:
    assert ttl_days(engine) == days


# --- the sweep --------------------------------------------------------------------------


def ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // MS


def store_chunk(
    store: ReplayBlobStore | None,
    client: ChdbClient | None,
    *,
    site: str,
    session: str,
    start: datetime,
    end: datetime,
    seq: int,
    client_start: datetime | None = None,
) -> str:
    """One chunk as the replay step stores it: its blob and its row. The blob's name
    has the first event's time by the browser's clock, ``client_start`` (by default the
    same as the corrected ``start`` of the row)."""
    chunk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/{session}/{seq}"))
    name = blob_name(site, session, ms(client_start or start), seq, chunk_id)
    if store is not None:
        store.write(name, encode_blob(chunk_id, seq, [{"type": 3, "timestamp": ms(start)}]))
    if client is not None:
        client.command(
            f"INSERT INTO {client.database}.session_replay_chunks "
            "(site_id, session_id, chunk_id, seq, start_time, end_time, event_count, blob_name) "
            "SELECT {site:String}, {session:UUID}, {chunk:UUID}, {seq:UInt32}, "
            "{start:DateTime64(3, 'UTC')}, {end:DateTime64(3, 'UTC')}, 1, {name:String}",
            {
                "site": site,
                "session": session,
                "chunk": chunk_id,
                "seq": seq,
                "start": start,
                "end": end,
                "name": name,
            },
        )
    return name


def rows(client: ChdbClient) -> dict[str, set[tuple[str, str]]]:
    """The recordings in each replay table."""
    return {
        table: {
            (site, str(session))
            for site, session in client.query(
                f"SELECT DISTINCT site_id, session_id FROM {client.database}.{table}"
            ).rows
        }
        for table in REPLAY_TABLES
    }


def chunk_rows(client: ChdbClient) -> set[tuple[str, int]]:
    result = client.query(
        f"SELECT toString(session_id), seq FROM {client.database}.session_replay_chunks"
    )
    return {(session, seq) for session, seq in result.rows}


@pytest.fixture
def tables(client: ChdbClient) -> ChdbClient:
    """The replay tables without TTL, so that only the sweep deletes (with the real
    TTL, rows of a fixed time in the past would be dropped as they are inserted)."""
    apply_migrations(client)
    for table in REPLAY_TABLES:
        client.command(f"ALTER TABLE {client.database}.{table} REMOVE TTL")
    return client


def test_sweep_deletes_exactly_the_expired_recordings(
    tables: ChdbClient, store: ReplayBlobStore
) -> None:
    past, inside, straddling, rows_only, blobs_only, other_site = (
        str(uuid.uuid4()) for _ in range(6)
    )
    clock_behind, clock_ahead = str(uuid.uuid4()), str(uuid.uuid4())

    def chunk(
        session: str,
        start: datetime,
        seq: int,
        *,
        end: datetime | None = None,
        client_start: datetime | None = None,
    ) -> str:
        return store_chunk(
            store,
            tables,
            site="blog" if session == other_site else "shop",
            session=session,
            start=start,
            end=end or start,
            seq=seq,
            client_start=client_start,
        )

    # Newest part ends 1 ms before the cutoff: expired, with its older part.
    expired_blobs = [chunk(past, CUTOFF - timedelta(hours=2), 0), chunk(past, CUTOFF - MS, 1)]
    # Newest part at the cutoff itself: kept whole, its day-old first part too.
    kept = [chunk(inside, CUTOFF - timedelta(days=1), 0), chunk(inside, CUTOFF, 1)]
    # Its last chunk starts before the cutoff and ends after it: the rows say kept.
    kept.append(chunk(straddling, CUTOFF - MS, 0, end=CUTOFF + timedelta(seconds=4)))
    # A browser whose clock is a year behind names its blobs a year back; the rows,
    # corrected, are recent: kept.
    year = timedelta(days=365)
    kept.append(chunk(clock_behind, NOW - timedelta(hours=1), 0, client_start=NOW - year))
    # A clock a year ahead does not keep an expired recording either.
    expired_blobs.append(chunk(clock_ahead, CUTOFF - MS, 0, client_start=NOW + year))
    # Rows whose blobs are gone already (the bucket's lifecycle): they go as well.
    store_chunk(
        None, tables, site="shop", session=rows_only, start=CUTOFF - MS, end=CUTOFF - MS, seq=0
    )
    # Blobs without rows (the TTL took them): the blobs' own time decides.
    expired_blobs.append(
        store_chunk(
            store,
            None,
            site="shop",
            session=blobs_only,
            start=CUTOFF - timedelta(days=90),
            end=CUTOFF,
            seq=0,
        )
    )
    kept.append(chunk(other_site, NOW - timedelta(minutes=1), 0))

    expected = ReplaySweep(cutoff=CUTOFF, recordings=4, blobs=len(expired_blobs), dry_run=True)
    everything = sorted(expired_blobs + kept)
    rows_before = rows(tables)

    dry = expire_recordings(store, tables, now=NOW, retention_days=DAYS, dry_run=True)
    assert dry == expected
    assert store.destination.list("replays") == everything
    assert rows(tables) == rows_before

    swept = expire_recordings(store, tables, now=NOW, retention_days=DAYS)
    assert swept == ReplaySweep(
        cutoff=CUTOFF, recordings=4, blobs=len(expired_blobs), dry_run=False
    )
    assert store.destination.list("replays") == sorted(kept)
    remaining = {
        ("shop", inside),
        ("shop", straddling),
        ("shop", clock_behind),
        ("blog", other_site),
    }
    assert rows(tables) == {"session_replays": remaining, "session_replay_chunks": remaining}
    # The kept recording keeps its first chunk, although that one ended before the cutoff.
    assert chunk_rows(tables) == {
        (inside, 0),
        (inside, 1),
        (straddling, 0),
        (clock_behind, 0),
        (other_site, 0),
    }

    again = expire_recordings(store, tables, now=NOW, retention_days=DAYS)
    assert again == ReplaySweep(cutoff=CUTOFF, recordings=0, blobs=0, dry_run=False)


def test_sweep_of_the_blobs_alone(store: ReplayBlobStore) -> None:
    session = str(uuid.uuid4())
    old = store_chunk(
        store, None, site="shop", session=session, start=CUTOFF - MS, end=CUTOFF, seq=0
    )
    # The same recording under its upper-case spelling is the same recording.
    upper = session.upper()
    also_old = store_chunk(
        store, None, site="shop", session=upper, start=CUTOFF - timedelta(days=2), end=CUTOFF, seq=0
    )
    recent = store_chunk(
        store, None, site="shop", session=str(uuid.uuid4()), start=CUTOFF, end=NOW, seq=0
    )
    # A foreign file in a recording's folder has no time: it decides nothing, and goes
    # only with an expired recording.
    store.write(f"replays/site=shop/session=not-a-uuid/{'x' * 13}.json.gz", b"x")
    assert {old, also_old} < set(store.destination.list("replays"))

    swept = expire_recordings(store, None, now=NOW, retention_days=DAYS)
    assert (swept.recordings, swept.blobs) == (1, 2)
    assert store.destination.list("replays") == sorted(
        [recent, f"replays/site=shop/session=not-a-uuid/{'x' * 13}.json.gz"]
    )


def test_sweep_takes_the_retention_in_days(store: ReplayBlobStore) -> None:
    session = str(uuid.uuid4())
    store_chunk(
        store, None, site="shop", session=session, start=NOW - timedelta(days=5), end=NOW, seq=0
    )
    assert expire_recordings(store, None, now=NOW, retention_days=6).recordings == 0
    assert expire_recordings(store, None, now=NOW, retention_days=5, dry_run=True).recordings == 0
    assert expire_recordings(store, None, now=NOW, retention_days=4).recordings == 1
    assert store.destination.list("replays") == []


def test_sweep_refuses_a_naive_time_and_a_bad_retention(store: ReplayBlobStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expire_recordings(store, None, now=NOW.replace(tzinfo=None), retention_days=DAYS)
    with pytest.raises(ValueError, match="at least 1"):
        expire_recordings(store, None, now=NOW, retention_days=0)


def test_expired_recordings_and_delete_recordings_on_an_older_database(
    client: ChdbClient,
) -> None:
    # Before the replay migration there is nothing to find and nothing to delete.
    apply_migrations(client, migrations=list_migrations()[:1])
    key = ("shop", str(uuid.uuid4()))
    assert expired_recordings(client, CUTOFF) == set()
    assert recordings_kept(client, {key}, CUTOFF) == set()
    delete_recordings(client, {key})


def test_delete_recordings_in_batches(tables: ChdbClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = [str(uuid.uuid4()) for _ in range(5)]
    for session in sessions:
        store_chunk(None, tables, site="shop", session=session, start=CUTOFF, end=CUTOFF, seq=0)
    monkeypatch.setattr("connectors.clickhouse.retention.KEYS_PER_STATEMENT", 2)
    delete_recordings(tables, {("shop", session) for session in sessions[:3]} | {("shop", "x")})
    assert rows(tables)["session_replay_chunks"] == {("shop", s) for s in sessions[3:]}
    assert rows(tables)["session_replays"] == {("shop", s) for s in sessions[3:]}


def test_blob_times_come_from_the_names() -> None:
    name = blob_name("shop", str(uuid.uuid4()), 1_764_590_400_123, 7, str(uuid.uuid4()))
    assert blob_first_event_ms(name) == 1_764_590_400_123
    assert blob_first_event_ms("replays/site=a/session=b/notes.txt") is None
    assert blob_first_event_ms("replays/site=a/session=b/123-000001-x.json.gz") is None
    assert newest_blob_ms([name, "replays/x/readme.txt"]) == 1_764_590_400_123
    assert newest_blob_ms(["replays/x/readme.txt"]) is None
