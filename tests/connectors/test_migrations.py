"""Schema migrations against real chdb.

chdb opens one data directory per process at a time, so every test opens its own
directory (tmp_path) and closes its client before it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.clickhouse import (
    ChdbClient,
    Migration,
    MigrationChecksumMismatch,
    MigrationError,
    QueryError,
    apply_migrations,
    connect,
    list_migrations,
    pending_migrations,
)
from connectors.clickhouse.migrations import split_statements


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ChdbClient]:
    chdb_client = connect(f"chdb:{tmp_path / 'clickhouse'}", database="schema_test")
    assert isinstance(chdb_client, ChdbClient)
    try:
        yield chdb_client
    finally:
        chdb_client.close()


def table_definitions(client: ChdbClient) -> dict[str, dict[str, str]]:
    result = client.query(
        "SELECT name, engine_full, sorting_key, partition_key, create_table_query "
        "FROM system.tables WHERE database = {database:String}",
        {"database": client.database},
    )
    return {
        name: {"engine": engine, "sorting_key": key, "partition_key": partition, "sql": sql}
        for name, engine, key, partition, sql in result.rows
    }


def column_types(client: ChdbClient, table: str) -> dict[str, str]:
    result = client.query(
        "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String}",
        {"d": client.database, "t": table},
    )
    return dict(result.rows)


def test_packaged_migrations() -> None:
    migrations = list_migrations()
    assert migrations[0].name == "0001_initial"
    assert [migration.version for migration in migrations] == sorted(
        migration.version for migration in migrations
    )
    initial = migrations[0]
    assert len(initial.checksum) == 64
    statements = initial.statements("analytics")
    assert len(statements) == 3
    assert all("{database}" not in statement for statement in statements)
    assert [
        statement.count("CREATE TABLE IF NOT EXISTS analytics.") for statement in statements
    ] == [1, 1, 1]


EVERY_MIGRATION = [
    "0001_initial",
    "0002_session_replays",
    "0003_heatmap_cell_sessions",
    "0004_heatmap_retention",
]


def test_apply_is_idempotent_and_records_history(client: ChdbClient) -> None:
    assert pending_migrations(client) == EVERY_MIGRATION
    assert apply_migrations(client) == EVERY_MIGRATION
    assert apply_migrations(client) == []
    assert pending_migrations(client) == []

    history = client.query(
        f"SELECT version, name, checksum, applied_at FROM {client.database}.schema_migrations "
        "ORDER BY version"
    )
    assert history.types == ["UInt32", "String", "String", "DateTime64(3, 'UTC')"]
    assert [(version, name, checksum) for version, name, checksum, _ in history.rows] == [
        (migration.version, migration.name, migration.checksum) for migration in list_migrations()
    ]
    assert all(applied_at.tzinfo is not None for *_, applied_at in history.rows)


def test_initial_schema_matches_the_design(client: ChdbClient) -> None:
    apply_migrations(client)
    tables = table_definitions(client)
    assert set(tables) == {
        "events",
        "heatmap_aggregates",
        "sessions",
        "schema_migrations",
        "session_replay_chunks",
        "session_replays",
        "session_replays_from_chunks",
    }

    events = tables["events"]
    assert events["engine"].startswith("ReplacingMergeTree")
    assert events["sorting_key"] == "site_id, toDate(timestamp), session_id, event_id"
    assert events["partition_key"] == "toYYYYMM(timestamp)"
    assert "TTL toDateTime(timestamp) + toIntervalMonth(13)" in events["sql"]

    heatmap = tables["heatmap_aggregates"]
    assert heatmap["engine"].startswith("SummingMergeTree(interaction_count)")
    assert heatmap["sorting_key"] == (
        "site_id, url_path, device_type, date_bucket, interaction_type, grid_x, grid_y"
    )
    assert column_types(client, "heatmap_aggregates")["interaction_count"] == "UInt64"

    sessions = tables["sessions"]
    assert sessions["engine"].startswith("ReplacingMergeTree(version)")
    assert sessions["sorting_key"] == "site_id, session_id"
    # One partition: a late event can move start_time across months (see the SQL).
    assert sessions["partition_key"] == ""
    session_columns = column_types(client, "sessions")
    for name in ("entry_path", "exit_path"):
        assert session_columns[name] == "String"
    for name in ("rage_click_count", "error_count"):
        assert session_columns[name] == "UInt32"
    assert session_columns["version"] == "UInt64"
    assert session_columns["has_errors"] == "Bool"

    for name in ("events", "heatmap_aggregates", "sessions"):
        assert "non_replicated_deduplication_window = 1000" in tables[name]["sql"]

    event_columns = column_types(client, "events")
    assert event_columns["event_id"] == "UUID"
    assert event_columns["timestamp"] == "DateTime64(3, 'UTC')"
    assert event_columns["site_id"] == "LowCardinality(String)"
    assert event_columns["user_agent_hash"] == "UInt64"
    assert event_columns["created_at"] == "DateTime"


def test_a_chunk_stored_twice_counts_once_in_its_recording(client: ChdbClient) -> None:
    """The materialized view's aggregates are idempotent: inserting the same chunk rows
    again (a resend, a replay after a crash) changes no figure of the recording."""
    apply_migrations(client)
    database = client.database
    values = (
        "('shop', '{session}', '{chunk}', {seq}, '2026-12-01 10:00:0{seq}', "
        "'2026-12-01 10:00:1{seq}', 7, 300, 'b{seq}', [1, 2, {seq}], [10, 2{seq}], [], "
        "[5], ['/a', '/b{seq}'], 'mobile', 'DE', '2026-12-01 10:00:20')"
    )
    session = "5f1c2d4e-1111-4a4a-8b8b-000000000001"
    chunks = ["5f1c2d4e-2222-4a4a-8b8b-000000000001", "5f1c2d4e-2222-4a4a-8b8b-000000000002"]
    insert = f"INSERT INTO {database}.session_replay_chunks VALUES "
    for seq, chunk in enumerate(chunks):
        row = values.format(session=session, chunk=chunk, seq=seq)
        client.command(insert + row)
        if seq == 0:
            client.command(insert + row)  # stored twice
    summary = client.query(
        "SELECT min(start_time) AS start, max(end_time) AS end, "
        "length(groupUniqArrayMerge(chunks)) AS chunk_count, "
        "arraySum(c -> c.2, groupUniqArrayMerge(chunks)) AS events, "
        "arraySum(c -> c.3, groupUniqArrayMerge(chunks)) AS bytes, "
        "uniqExactMerge(active_seconds) AS active, uniqExactMerge(clicks) AS clicks, "
        "uniqExactMerge(errors) AS errors, arraySort(groupUniqArrayMerge(pages)) AS pages "
        f"FROM {database}.session_replays GROUP BY site_id, session_id"
    ).as_dicts()
    assert len(summary) == 1
    row = summary[0]
    assert (row["chunk_count"], row["events"], row["bytes"]) == (2, 14, 600)
    assert (row["active"], row["clicks"], row["errors"]) == (3, 3, 1)
    assert row["pages"] == ["/a", "/b0", "/b1"]
    assert (row["end"] - row["start"]).total_seconds() == 11


def test_a_changed_applied_migration_stops_the_run(client: ChdbClient) -> None:
    apply_migrations(client)
    initial = list_migrations()[0]
    edited = Migration.from_text("0001_initial.sql", initial.sql + "\n-- edited later\n")
    with pytest.raises(MigrationChecksumMismatch, match="0001_initial"):
        apply_migrations(client, migrations=[edited])
    with pytest.raises(MigrationChecksumMismatch):
        pending_migrations(client, migrations=[edited])


def test_new_migrations_apply_in_order_after_the_applied_ones(client: ChdbClient) -> None:
    apply_migrations(client)
    later = [
        *list_migrations(),
        Migration.from_text(
            "0103_note_body.sql",
            "ALTER TABLE {database}.notes ADD COLUMN IF NOT EXISTS body String;",
        ),
        Migration.from_text(
            "0102_notes.sql",
            "-- a table; with a ; in a comment\n"
            "CREATE TABLE IF NOT EXISTS {database}.notes (n String DEFAULT ';') "
            "ENGINE = MergeTree ORDER BY n;\n"
            "INSERT INTO {database}.notes (n) VALUES ('a;b');\n",
        ),
    ]
    assert pending_migrations(client, migrations=later) == ["0102_notes", "0103_note_body"]
    duplicate = Migration.from_text("0102_again.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="share version 102"):
        apply_migrations(client, migrations=[*later, duplicate])
    assert apply_migrations(client, migrations=later) == ["0102_notes", "0103_note_body"]
    assert client.query(f"SELECT n FROM {client.database}.notes").rows == [("a;b",)]
    assert "body" in column_types(client, "notes")
    assert apply_migrations(client, migrations=later) == []


def test_a_failed_migration_is_not_recorded(client: ChdbClient) -> None:
    broken = Migration.from_text("0102_broken.sql", "CREATE TABLE {database}.x (a Nope);")
    with pytest.raises(QueryError, match="Nope"):
        apply_migrations(client, migrations=[*list_migrations(), broken])
    assert pending_migrations(client, migrations=[*list_migrations(), broken]) == ["0102_broken"]


@pytest.mark.parametrize(
    ("file_name", "message"),
    [
        ("1_initial.sql", "NNNN_name.sql"),
        ("0001-initial.sql", "NNNN_name.sql"),
        ("0001_Initial.sql", "NNNN_name.sql"),
    ],
)
def test_badly_named_files_are_refused(file_name: str, message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        Migration.from_text(file_name, "SELECT 1;")


def test_database_name_is_checked_before_substitution() -> None:
    with pytest.raises(ValueError, match="invalid database name"):
        list_migrations()[0].statements("x; DROP DATABASE y")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1;\nSELECT 2;\n", ["SELECT 1", "SELECT 2"]),
        ("SELECT 1\n;\nSELECT 2", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';' AS a;", ["SELECT ';' AS a"]),
        ("SELECT 'it\\'s;' AS a;", ["SELECT 'it\\'s;' AS a"]),
        ("SELECT 1 AS `a;b`;", ["SELECT 1 AS `a;b`"]),
        ("-- only a comment;\n", []),
        ("/* a; b */ SELECT 1; -- tail", ["/* a; b */ SELECT 1"]),
        (";;\n;", []),
    ],
)
def test_split_statements(sql: str, expected: list[str]) -> None:
    assert split_statements(sql) == expected
