"""Every table's retention against real chdb: the TTLs follow the settings (read back
from system.tables), a second apply changes nothing, and the heatmap migration gives
heatmap_aggregates a TTL of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.clickhouse import ChdbClient, apply_migrations, connect
from connectors.clickhouse.retention import (
    TableTTL,
    apply_retention,
    apply_settings_retention,
    parse_ttl,
    table_engines,
    table_ttls,
)
from foundation.settings import load_settings

TABLES = ("events", "sessions", "heatmap_aggregates", "session_replays", "session_replay_chunks")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ChdbClient]:
    chdb_client = connect(f"chdb:{tmp_path / 'clickhouse'}", database="retention_tables")
    assert isinstance(chdb_client, ChdbClient)
    try:
        apply_migrations(chdb_client)
        yield chdb_client
    finally:
        chdb_client.close()


def ttls(client: ChdbClient) -> dict[str, tuple[str, str, int] | None]:
    return {name: parse_ttl(engine) for name, engine in table_engines(client, TABLES).items()}


def test_the_migrations_give_every_table_a_ttl(client: ChdbClient) -> None:
    found = ttls(client)
    assert found["heatmap_aggregates"] == ("date_bucket", "MONTH", 25)
    assert found["events"] is not None and found["events"][1:] == ("MONTH", 13)
    assert found["sessions"] is not None and found["sessions"][1:] == ("MONTH", 13)


def test_the_settings_are_applied_and_read_back(client: ChdbClient) -> None:
    settings = load_settings(
        events_retention_months=6,
        sessions_retention_months=7,
        heatmap_retention_months=20,
        replay_retention_days=14,
    )
    changed = apply_settings_retention(client, settings)
    assert sorted(changed) == sorted(TABLES)
    found = ttls(client)
    assert found["events"] is not None and found["events"][1:] == ("MONTH", 6)
    assert found["sessions"] is not None and found["sessions"][1:] == ("MONTH", 7)
    assert found["heatmap_aggregates"] == ("date_bucket", "MONTH", 20)
    assert found["session_replays"] is not None and found["session_replays"][1:] == ("DAY", 14)
    # The same settings again: no ALTER at all.
    assert apply_settings_retention(client, settings) == []


def test_only_the_tables_that_differ_change(client: ChdbClient) -> None:
    defaults = load_settings()
    # The migrations' TTLs are the defaults: a start with default settings alters nothing.
    assert apply_settings_retention(client, defaults) == []
    changed = apply_settings_retention(client, defaults.with_overrides(heatmap_retention_months=12))
    assert changed == ["heatmap_aggregates"]


def test_show_create_table_shows_the_heatmap_ttl(client: ChdbClient) -> None:
    apply_retention(client, [TableTTL("heatmap_aggregates", "date_bucket", "MONTH", 9)])
    (text,) = client.query(f"SHOW CREATE TABLE {client.database}.heatmap_aggregates").rows[0]
    assert "TTL date_bucket + toIntervalMonth(9)" in str(text)


def test_parse_ttl_reads_both_spellings() -> None:
    engine = (
        "ReplacingMergeTree ORDER BY (a) TTL toDateTime(t) + toIntervalMonth(13) SETTINGS x = 1"
    )
    assert parse_ttl(engine) == ("toDateTime(t)", "MONTH", 13)
    assert parse_ttl("MergeTree ORDER BY a TTL d + INTERVAL 30 DAY") == ("d", "DAY", 30)
    assert parse_ttl("MergeTree ORDER BY a") is None


def test_a_bad_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="retention of events"):
        TableTTL("events", "toDateTime(timestamp)", "MONTH", 0)
    with pytest.raises(ValueError, match="DAY or MONTH"):
        TableTTL("events", "toDateTime(timestamp)", "YEAR", 1)


def test_every_table_has_a_setting() -> None:
    assert {ttl.table for ttl in table_ttls(load_settings())} == set(TABLES)
