"""Rows a destination refuses become dead letters; the rest of the batch is written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from connectors.archive import ArchiveWriter
from connectors.clickhouse import ClickHouseUnavailable, QueryError, apply_migrations, connect
from connectors.flow_sinks import (
    ArchiveSink,
    ClickHouseServerSink,
    ClickHouseSink,
    clickhouse_sink,
    close_deferred_clients,
)
from connectors.refusals import RefusedRows, is_refusal, write_around_refusals
from foundation.metrics import RunTotals
from operators.batching import Chunk, Span
from operators.columns import EVENTS_SCHEMA
from tests.dates import RECENT_NOON_MS

NOW = datetime.fromtimestamp(RECENT_NOON_MS / 1000, tz=UTC)
RECEIVED_MS = RECENT_NOON_MS


def _event_row(index: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": f"0b0e6b7e-6a5c-4a8e-9d1e-{index:012d}",
        "session_id": "0b0e6b7e-6a5c-4a8e-9d1e-6f2f3b9b2a11",
        "site_id": "shop.example.com",
        "timestamp": RECEIVED_MS - 1_000,
        "event_type": "click",
        "event_data": "{}",
        "url_path": "/cart",
        "referrer": "",
        "device_type": "desktop",
        "viewport_width": 1440,
        "viewport_height": 900,
        "user_agent_hash": 1,
        "ip_hash": 2,
        "country_code": "GB",
        "error_class": "",
        "received_at": RECEIVED_MS,
    }
    row.update(overrides)
    return row


def _events(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)


# --- finding the refused rows -----------------------------------------------------------


class _Refusing:
    """A destination that refuses any part holding a row whose url_path is 'bad'."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.written: list[str] = []

    def __call__(self, part: pa.Table, token: str) -> None:
        self.writes.append(token)
        paths = part.column("url_path").to_pylist()
        if "bad" in paths:
            raise QueryError("Code: 6. Cannot parse 'bad'", code=6)
        self.written.extend(part.column("event_id").to_pylist())


def test_a_clean_batch_is_one_write() -> None:
    destination = _Refusing()
    table = _events([_event_row(i) for i in range(100)])
    assert write_around_refusals(destination, table, "t") == []
    assert destination.writes == ["t"]


@pytest.mark.parametrize("bad", [[0], [1023], [5, 6, 700], list(range(0, 1024, 128))])
def test_refused_rows_are_found_by_halving_not_row_by_row(bad: list[int]) -> None:
    destination = _Refusing()
    table = _events([_event_row(i, url_path="bad" if i in bad else "/") for i in range(1024)])
    refused = write_around_refusals(destination, table, "t")
    assert [index for index, _ in refused] == bad
    assert all("Cannot parse" in message for _, message in refused)
    # Every other row written exactly once.
    good = [f"0b0e6b7e-6a5c-4a8e-9d1e-{i:012d}" for i in range(1024) if i not in bad]
    assert sorted(destination.written) == good
    # About 2 k log2(n) writes for k bad rows among n, far below one per row.
    assert len(destination.writes) <= 1 + 2 * len(bad) * 10
    # The tokens are a function of the place in the batch: a replay repeats them.
    again = _Refusing()
    write_around_refusals(again, table, "t")
    assert again.writes == destination.writes
    assert len(set(destination.writes)) == len(destination.writes)


def test_infrastructure_errors_are_not_taken_for_refusals() -> None:
    def unreachable(part: pa.Table, token: str) -> None:
        raise ClickHouseUnavailable("Code: 210. Connection refused")

    with pytest.raises(ClickHouseUnavailable):
        write_around_refusals(unreachable, _events([_event_row(0)]), "t")
    assert not is_refusal(ClickHouseUnavailable("x"))
    assert not is_refusal(QueryError("Code: 60. Unknown table", code=60))
    assert not is_refusal(OSError("disk full"))
    assert is_refusal(QueryError("Code: 6. Cannot parse", code=6))
    assert is_refusal(pa.ArrowInvalid("invalid"))


# --- real destinations ------------------------------------------------------------------


def _written(sink: ClickHouseSink | ClickHouseServerSink | ArchiveSink, chunk: Chunk) -> None:
    """One write through the sink's partition, as the flow would make it."""
    if isinstance(sink, ClickHouseSink):
        embedded = sink.build_part("step", "clickhouse", None)
        try:
            embedded.write_batch([chunk])
        finally:
            embedded.close()
        return
    partition = sink.build("step", 0, 1)
    try:
        partition.write_batch([("key", chunk)])
    finally:
        partition.close()
        close_deferred_clients()


def test_clickhouse_refused_rows_become_dead_letters_and_the_rest_is_written(
    tmp_path: Path,
) -> None:
    url = f"chdb:{tmp_path / 'clickhouse'}"
    with connect(url) as client:
        apply_migrations(client)
    archive = ArchiveWriter(str(tmp_path / "archive"))
    totals = RunTotals()
    refused = RefusedRows(archive, totals=totals, clock=lambda: NOW)
    rows = [_event_row(i) for i in range(50)]
    # What validation used to let through: ClickHouse cannot parse it as a UUID.
    rows[17]["event_id"] = "0b0e6b7e-6a5c-4a8e-9d1e-000000000017\n"
    rows[31]["session_id"] = "not-a-uuid jane@example.com"
    chunk = Chunk((Span("raw_events-0", 100, 149),), _events(rows))
    sink = clickhouse_sink(url, "insightlite", totals=totals, refused=refused)
    for _ in range(2):  # a replay of the same batch adds nothing
        _written(sink, chunk)
    with connect(url) as client:
        count = client.query("SELECT count() FROM events FINAL").rows[0][0]
        stored = client.query("SELECT count() FROM events").rows[0][0]
    assert count == stored == 48
    dead = archive.read_dead_letters()
    assert len(dead) == 2  # rewritten, not added, by the replay
    assert {record["stage"] for record in dead} == {"sink"}
    assert all(record["reasons"][0]["code"] == "sink_rejected" for record in dead)
    assert all("clickhouse.events" in record["reasons"][0]["detail"] for record in dead)
    assert any("UUID" in record["reasons"][0]["detail"] for record in dead)
    assert all(record["site_id"] == "shop.example.com" for record in dead)
    assert all(record["received_at"] == RECEIVED_MS for record in dead)
    # Dead letters are masked like every other output.
    assert "jane@example.com" not in str(dead)
    assert totals.as_dict()["rejected"] == {"sink_rejected": 4}
    assert totals.as_dict()["rows_written"] == {"clickhouse.events": 96}


def test_without_a_place_for_refused_rows_the_write_fails(tmp_path: Path) -> None:
    url = f"chdb:{tmp_path / 'clickhouse'}"
    with connect(url) as client:
        apply_migrations(client)
    chunk = Chunk((Span("raw_events-0", 0, 0),), _events([_event_row(0, event_id="x")]))
    with pytest.raises(QueryError):
        _written(clickhouse_sink(url, "insightlite"), chunk)


def test_archive_refused_rows_become_dead_letters_and_the_file_keeps_the_rest(
    tmp_path: Path,
) -> None:
    archive = ArchiveWriter(str(tmp_path / "archive"))
    refused = RefusedRows(archive, clock=lambda: NOW)
    rows = [_event_row(i) for i in range(10)]
    rows[4]["timestamp"] = None  # no day partition can hold it
    chunk = Chunk((Span("raw_events-0", 0, 9),), _events(rows))
    sink = ArchiveSink(str(tmp_path / "archive"), kind="archive", refused=refused)
    _written(sink, chunk)
    events = archive.read_events()
    assert events.num_rows == 9
    assert "0b0e6b7e-6a5c-4a8e-9d1e-000000000004" not in events.column("event_id").to_pylist()
    (dead,) = archive.read_dead_letters()
    assert dead["reasons"][0]["code"] == "sink_rejected"
    assert dead["payload"]["event_id"] == "0b0e6b7e-6a5c-4a8e-9d1e-000000000004"
