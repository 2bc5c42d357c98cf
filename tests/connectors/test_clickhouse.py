"""The ClickHouse connector against real chdb, and the server client without a server.

chdb runs one embedded engine per process over one directory at a time: a second
directory opens only after every connection to the first is closed. Each test here
therefore opens its own directory (tmp_path) and closes its clients before it ends
(about 40 ms per engine start); a test that leaves a client open would make every later
chdb test in this process fail with EmbeddedPathConflict.

The cases in the ``client`` fixture also run against a real ClickHouse server when
INSIGHTLITE_TEST_CLICKHOUSE_URL names one (``clickhouse://user:password@host:9000``; each
test creates and drops its own database there). None can be installed on this machine:
Debian ships ClickHouse 18.16 (no DateTime64, Bool or server-side parameters) and PyPI
no server binary, so without that variable the server cases skip and the server client
is tested up to the driver: URL parsing, parameter text, Arrow conversion, error mapping
(including a refused loopback connection) and the calls it makes on a stand-in driver.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.clickhouse import (
    ChdbClient,
    ChdbSettings,
    ClickHouseClient,
    ClickHouseUnavailable,
    EmbeddedPathConflict,
    NativeClient,
    QueryError,
    ServerSettings,
    apply_migrations,
    connect,
    format_param,
    parse_url,
    readonly_query,
)
from connectors.clickhouse.native_client import (
    arrow_to_driver_columns,
    driver_params,
    map_driver_error,
)

SERVER_URL_VARIABLE = "INSIGHTLITE_TEST_CLICKHOUSE_URL"
NO_SERVER_REASON = (
    f"no ClickHouse server: set {SERVER_URL_VARIABLE}=clickhouse://user:password@host:9000 "
    "to run these cases against one (none is installable here: Debian has only 18.16)"
)
DATABASE = "t"
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def chdb_client(tmp_path: Path) -> Iterator[ChdbClient]:
    client = connect(f"chdb:{tmp_path / 'clickhouse'}", database=DATABASE)
    assert isinstance(client, ChdbClient)
    try:
        apply_migrations(client)
        yield client
    finally:
        client.close()


@pytest.fixture(params=["chdb", "server"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClickHouseClient]:
    """A migrated client on each engine; the server one only with a server configured."""
    if request.param == "chdb":
        engine_client: ClickHouseClient = connect(
            f"chdb:{tmp_path / 'clickhouse'}", database=DATABASE
        )
    else:
        url = os.environ.get(SERVER_URL_VARIABLE)
        if not url:
            pytest.skip(NO_SERVER_REASON)
        engine_client = connect(url, database=f"insightlite_test_{uuid.uuid4().hex[:12]}")
    try:
        apply_migrations(engine_client)
        yield engine_client
    finally:
        if request.param == "server":
            engine_client.command(f"DROP DATABASE IF EXISTS {engine_client.database}")
        engine_client.close()


# --- data ------------------------------------------------------------------------------

EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("session_id", pa.string()),
        ("site_id", pa.dictionary(pa.int32(), pa.string())),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("event_type", pa.string()),
        ("event_data", pa.string()),
        ("url_path", pa.string()),
        ("referrer", pa.string()),
        ("device_type", pa.string()),
        ("viewport_width", pa.uint16()),
        ("viewport_height", pa.uint16()),
        ("user_agent_hash", pa.uint64()),
        ("ip_hash", pa.uint64()),
        ("country_code", pa.string()),
        ("error_class", pa.string()),
        ("received_at", pa.timestamp("ms", tz="UTC")),
    ]
)


def event(index: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=index + 1)),
        "session_id": str(uuid.UUID(int=(index // 2 + 1) << 64)),
        "site_id": f"site-{index % 2}",
        "timestamp": NOW + timedelta(milliseconds=137 * index),
        "event_type": "click" if index % 2 else "pageview",
        "event_data": '{"x": 1}',
        "url_path": f"/page/{index}",
        "referrer": "",
        "device_type": "mobile",
        "viewport_width": 65535 - index,
        "viewport_height": 800,
        "user_agent_hash": 2**64 - 1 - index,  # above 2**63: must stay unsigned
        "ip_hash": 2**63 + index,
        "country_code": "DE",
        "error_class": "",
        "received_at": NOW + timedelta(seconds=index, milliseconds=5),
    }
    row.update(overrides)
    return row


def events_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)


HEATMAP_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("url_path", pa.string()),
        ("device_type", pa.string()),
        ("date_bucket", pa.date32()),
        ("interaction_type", pa.string()),
        ("grid_x", pa.uint16()),
        ("grid_y", pa.uint16()),
        ("interaction_count", pa.uint64()),
        ("last_updated", pa.timestamp("s", tz="UTC")),
    ]
)


def heatmap_batch() -> pa.Table:
    rows = [
        {
            "site_id": "site-0",
            "url_path": "/",
            "device_type": "desktop",
            "date_bucket": NOW.date(),
            "interaction_type": kind,
            "grid_x": x,
            "grid_y": 7,
            "interaction_count": count,
            "last_updated": NOW,
        }
        for kind, x, count in [("click", 1, 3), ("move", 1, 40), ("click", 2, 5)]
    ]
    return pa.Table.from_pylist(rows, schema=HEATMAP_SCHEMA)


def scalar(client: ClickHouseClient, sql: str, params: dict[str, Any] | None = None) -> Any:
    return client.query(sql, params).rows[0][0]


# --- both engines ----------------------------------------------------------------------


def test_insert_arrow_round_trips_every_events_column(client: ClickHouseClient) -> None:
    rows = [event(index) for index in range(4)]
    assert client.insert_arrow("events", events_table(rows)) == 4

    result = client.query(f"SELECT * FROM {client.database}.events FINAL ORDER BY event_id")
    by_name = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert dict(zip(result.columns, result.types, strict=True))["site_id"] == (
        "LowCardinality(String)"
    )
    for expected, got in zip(rows, by_name, strict=True):
        assert got["event_id"] == uuid.UUID(expected["event_id"])
        assert got["session_id"] == uuid.UUID(expected["session_id"])
        assert got["timestamp"] == expected["timestamp"]
        assert got["timestamp"].tzinfo is not None
        assert got["received_at"] == expected["received_at"]
        assert got["user_agent_hash"] == expected["user_agent_hash"]
        assert got["ip_hash"] == expected["ip_hash"]
        for name in ("site_id", "event_type", "event_data", "url_path", "referrer"):
            assert got[name] == expected[name]
        for name in ("device_type", "viewport_width", "viewport_height", "country_code"):
            assert got[name] == expected[name]
        # created_at is not in the batch: its DEFAULT now() fills it.
        assert isinstance(got["created_at"], datetime)

    arrow = client.query_arrow(
        f"SELECT event_id, timestamp, user_agent_hash FROM {client.database}.events "
        "ORDER BY event_id"
    )
    assert arrow.column("event_id").to_pylist() == [row["event_id"] for row in rows]
    assert arrow.column("user_agent_hash").to_pylist() == [r["user_agent_hash"] for r in rows]
    assert arrow.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")


def test_bool_and_replacing_version_in_sessions(client: ClickHouseClient) -> None:
    session_id = str(uuid.uuid4())
    schema = pa.schema(
        [
            ("session_id", pa.string()),
            ("site_id", pa.string()),
            ("start_time", pa.timestamp("ms", tz="UTC")),
            ("end_time", pa.timestamp("ms", tz="UTC")),
            ("has_errors", pa.bool_()),
            ("has_rage_clicks", pa.bool_()),
            ("event_count", pa.uint32()),
            ("version", pa.uint64()),
        ]
    )
    versions = [
        {"start_time": NOW, "has_errors": False, "has_rage_clicks": True, "event_count": 3},
        # A late event moved start_time earlier: same key, so this row replaces the first.
        {
            "start_time": NOW - timedelta(seconds=30),
            "has_errors": True,
            "has_rage_clicks": False,
            "event_count": 4,
        },
    ]
    for version, fields in enumerate(versions, start=1):
        # end_time is set: the table's TTL would drop a row ending in 1970 at once.
        row = {"session_id": session_id, "site_id": "s", "version": version, "end_time": NOW}
        row.update(fields)
        client.insert_arrow("sessions", pa.Table.from_pylist([row], schema=schema))

    result = client.query(
        "SELECT has_errors, has_rage_clicks, event_count, start_time "
        f"FROM {client.database}.sessions FINAL WHERE session_id = {{id:UUID}}",
        {"id": session_id},
    )
    assert result.types[:2] == ["Bool", "Bool"]
    assert result.rows == [(True, False, 4, NOW - timedelta(seconds=30))]


def test_final_collapses_a_duplicate_event_id(client: ClickHouseClient) -> None:
    client.command(f"SYSTEM STOP MERGES {client.database}.events")
    first = events_table([event(0), event(1)])
    # The same event delivered again, with the timestamp a client retry corrected.
    retried = events_table([event(0, timestamp=NOW + timedelta(milliseconds=250))])
    client.insert_arrow("events", first, dedup_token="batch-a")
    client.insert_arrow("events", retried, dedup_token="batch-b")

    assert scalar(client, f"SELECT count() FROM {client.database}.events") == 3
    assert scalar(client, f"SELECT count() FROM {client.database}.events FINAL") == 2
    assert scalar(client, f"SELECT uniqExact(event_id) FROM {client.database}.events FINAL") == 2


def test_same_dedup_token_counts_a_batch_once(client: ClickHouseClient) -> None:
    batch = heatmap_batch()
    total = f"SELECT sum(interaction_count) FROM {client.database}.heatmap_aggregates"

    client.insert_arrow("heatmap_aggregates", batch, dedup_token="offsets-0-99")
    client.insert_arrow("heatmap_aggregates", batch, dedup_token="offsets-0-99")  # a retry
    assert scalar(client, total) == 48

    client.insert_arrow("heatmap_aggregates", batch, dedup_token="offsets-100-199")
    assert scalar(client, total) == 96


def test_identical_batches_without_a_token_are_both_kept(client: ClickHouseClient) -> None:
    # ClickHouse would drop the second by its content hash; a random token per insert
    # keeps two windows that happen to hold the same counts.
    batch = heatmap_batch()
    client.insert_arrow("heatmap_aggregates", batch)
    client.insert_arrow("heatmap_aggregates", batch)
    total = f"SELECT sum(interaction_count) FROM {client.database}.heatmap_aggregates"
    assert scalar(client, total) == 96


def test_summing_keeps_interaction_types_apart(client: ClickHouseClient) -> None:
    client.insert_arrow("heatmap_aggregates", heatmap_batch(), dedup_token="a")
    client.insert_arrow("heatmap_aggregates", heatmap_batch(), dedup_token="b")
    client.command(f"OPTIMIZE TABLE {client.database}.heatmap_aggregates FINAL")
    result = client.query(
        "SELECT interaction_type, grid_x, interaction_count "
        f"FROM {client.database}.heatmap_aggregates ORDER BY interaction_type, grid_x"
    )
    assert result.rows == [("click", 1, 6), ("click", 2, 10), ("move", 1, 80)]


INJECTION = "' OR 1=1 --"


def test_parameters_are_data_not_sql(client: ClickHouseClient) -> None:
    rows = [event(0, site_id="site-a"), event(1, site_id=INJECTION)]
    client.insert_arrow("events", events_table(rows))
    sql = f"SELECT count() FROM {client.database}.events WHERE site_id = {{site:String}}"

    assert scalar(client, sql, {"site": "site-a"}) == 1
    assert scalar(client, sql, {"site": INJECTION}) == 1  # matches only the literal value
    assert scalar(client, sql, {"site": "nobody' OR '1'='1"}) == 0
    assert readonly_query(client, sql, {"site": INJECTION}).rows == [(1,)]


@pytest.mark.parametrize(
    ("placeholder_type", "value", "expected"),
    [
        ("String", "tab\there, newline\nthere, back\\slash, quote ' \\N", None),
        ("String", "", None),
        ("UInt64", 2**64 - 1, None),
        ("Int64", -(2**63), None),
        ("Float64", 0.1, None),
        ("Decimal(10, 2)", Decimal("12.34"), None),
        ("Bool", True, None),
        ("UUID", uuid.UUID("61f0c404-5cb3-11e7-907b-a6006ad3dba0"), None),
        ("Date", date(2024, 2, 29), None),
        ("DateTime64(3, 'UTC')", datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), None),
        (
            "DateTime64(3, 'UTC')",
            datetime(2024, 1, 2, 4, 4, 5, tzinfo=UTC).astimezone(),
            datetime(2024, 1, 2, 4, 4, 5, tzinfo=UTC),
        ),
        ("Nullable(String)", None, None),
        ("Array(String)", ["a'b", "c\\d", "e\tf", ""], None),
        ("Array(Nullable(UInt8))", [1, None], None),
        ("Tuple(UInt8, String)", (7, "x'"), None),
        ("Map(String, UInt64)", {"k'": 2**64 - 1}, None),
    ],
)
def test_parameter_values_round_trip(
    client: ClickHouseClient, placeholder_type: str, value: Any, expected: Any
) -> None:
    result = client.query(f"SELECT {{value:{placeholder_type}}} AS value", {"value": value})
    assert result.rows == [(value if expected is None else expected,)]
    assert result.columns == ["value"]


WRITES = [
    "INSERT INTO events (site_id) VALUES ('x')",
    "INSERT INTO events SELECT * FROM events",
    "DROP TABLE events",
    "CREATE TABLE stolen (a UInt8) ENGINE = Memory",
    "ALTER TABLE events DELETE WHERE 1",
    "TRUNCATE TABLE events",
    "OPTIMIZE TABLE events FINAL",
    "SET readonly = 0",
    "SELECT 1 SETTINGS readonly = 0",
    "SYSTEM DROP DNS CACHE",
    "SELECT * FROM file('stolen.csv', 'CSV', 'a String')",
    "INSERT INTO FUNCTION file('stolen.csv', 'CSV', 'a String') SELECT 'x'",
]


def test_readonly_query_refuses_every_write(client: ClickHouseClient) -> None:
    client.insert_arrow("events", events_table([event(0)]))
    for statement in WRITES:
        with pytest.raises(QueryError, match=r"(?i)readonly") as refused:
            readonly_query(client, statement)
        assert refused.value.code == 164, statement  # READONLY
    with pytest.raises(QueryError):
        readonly_query(client, "SELECT 1; DROP TABLE events")
    assert scalar(client, f"SELECT count() FROM {client.database}.events") == 1


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count() FROM events FINAL",
        "WITH 2 AS two SELECT two * count() FROM events",
        "SHOW TABLES",
        "DESCRIBE TABLE events",
        "EXPLAIN SELECT 1",
        "EXISTS TABLE events",
    ],
)
def test_readonly_query_runs_reads_in_our_database(
    client: ClickHouseClient, statement: str
) -> None:
    result = readonly_query(client, statement)
    assert result.columns
    assert result.rows


def test_errors_are_query_errors_with_clickhouse_messages(client: ClickHouseClient) -> None:
    with pytest.raises(QueryError, match="Syntax error") as syntax:
        client.query("SELEC 1")
    assert syntax.value.code == 62
    with pytest.raises(QueryError) as unknown:
        client.query(f"SELECT * FROM {client.database}.no_such_table")
    assert unknown.value.code == 60
    with pytest.raises(QueryError) as bad_value:
        client.query("SELECT {n:UInt8}", {"n": "not a number"})
    assert bad_value.value.code == 457
    with pytest.raises(QueryError):
        client.insert_arrow("events", pa.table({"no_such_column": [1]}))
    with pytest.raises(ValueError, match="table name"):
        client.insert_arrow("events; DROP TABLE events", events_table([event(0)]))
    with pytest.raises(ValueError, match="column name"):
        client.insert_arrow("events", pa.table({"a b": [1]}))
    with pytest.raises(TypeError, match="'blob'"):
        client.query("SELECT {blob:String}", {"blob": object()})


def test_ping_and_empty_insert(client: ClickHouseClient) -> None:
    assert client.ping()
    assert client.insert_arrow("events", events_table([])) == 0


# --- chdb only -------------------------------------------------------------------------


def test_connect_is_lazy_and_creates_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "clickhouse"
    client = connect(f"chdb://{directory}")
    assert not directory.exists()
    try:
        assert client.ping()
        assert directory.is_dir()
    finally:
        client.close()


def test_relative_chdb_path_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = parse_url("chdb:data/clickhouse")
    assert settings == ChdbSettings(path=str(tmp_path / "data" / "clickhouse"))


def test_a_second_directory_waits_for_the_first_to_close(tmp_path: Path) -> None:
    first = connect(f"chdb:{tmp_path / 'one'}")
    second = connect(f"chdb:{tmp_path / 'two'}")
    try:
        assert first.ping()
        with pytest.raises(EmbeddedPathConflict, match="one"):
            second.query("SELECT 1")
        assert not second.ping()
        first.close()
        assert second.query("SELECT 2").rows == [(2,)]
    finally:
        first.close()
        second.close()


def test_clients_over_one_directory_share_the_engine(chdb_client: ChdbClient) -> None:
    other = connect(f"chdb:{chdb_client.path}", database="other")
    try:
        apply_migrations(other)
        other.insert_arrow("events", events_table([event(0)]))
        other.close()  # the first client's engine keeps running
        assert scalar(chdb_client, "SELECT count() FROM other.events") == 1
        assert readonly_query(chdb_client, "SELECT count() FROM events").rows == [(0,)]
    finally:
        other.close()


def test_directory_held_by_another_process_is_unavailable(tmp_path: Path) -> None:
    directory = tmp_path / "held"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import chdb, sys\n"
            f"connection = chdb.connect({str(directory)!r})\n"
            "connection.query('SELECT 1')\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    client = connect(f"chdb:{directory}")
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(ClickHouseUnavailable, match="another process"):
            client.query("SELECT 1")
    finally:
        client.close()
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert client.query("SELECT 1").rows == [(1,)]  # free again: the retry succeeds
    client.close()


def test_threads_share_a_client(chdb_client: ChdbClient) -> None:
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for batch in range(5):
                first = worker * 1000 + batch * 10
                rows = [event(first + offset) for offset in range(10)]
                chdb_client.insert_arrow("events", events_table(rows))
                chdb_client.query(f"SELECT count() FROM {DATABASE}.events")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert scalar(chdb_client, f"SELECT count() FROM {DATABASE}.events") == 200


TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # any text but lone surrogates
# The chdb fixture is reused across examples on purpose: each query is independent.
REUSES_CLIENT = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@REUSES_CLIENT
@given(text=TEXT, texts=st.lists(TEXT, max_size=4))
def test_any_text_parameter_comes_back_unchanged(
    chdb_client: ChdbClient, text: str, texts: list[str]
) -> None:
    result = chdb_client.query(
        "SELECT {text:String}, {texts:Array(String)}, length({text:String})",
        {"text": text, "texts": texts},
    )
    assert result.rows == [(text, texts, len(text.encode("utf-8")))]


def test_a_format_clause_is_refused_by_query(chdb_client: ChdbClient) -> None:
    with pytest.raises(QueryError, match="FORMAT"):
        chdb_client.query("SELECT 1 FORMAT CSV")


def test_query_results_decode_like_the_driver(chdb_client: ChdbClient) -> None:
    result = chdb_client.query(
        "SELECT map(1, 'a') AS m, tuple(1, 'x') AS t, CAST((1, 'x') AS Tuple(a UInt8, b String))"
        " AS named, toIPv4('10.0.0.1') AS ip, toDecimal64(1.5, 3) AS d, nan AS f,"
        " toDateTime('2024-01-01 00:00:00', 'UTC') AS dt, [NULL, 1] AS a"
    )
    m, t, named, ip, decimal, f, dt, array = result.rows[0]
    assert m == {1: "a"}
    assert t == (1, "x")
    assert named == {"a": 1, "b": "x"}
    assert str(ip) == "10.0.0.1"
    assert decimal == Decimal("1.500")
    assert f != f  # NaN
    assert dt == datetime(2024, 1, 1, tzinfo=UTC)
    assert array == [None, 1]


# --- URLs and settings -----------------------------------------------------------------

GOOD_URLS: list[tuple[str, dict[str, Any]]] = [
    ("chdb:///srv/insightlite/clickhouse", {"path": "/srv/insightlite/clickhouse"}),
    ("chdb:/srv/ch", {"path": "/srv/ch", "database": "insightlite"}),
    ("clickhouse://host", {"host": "host", "port": 9000, "user": "default", "secure": False}),
    ("clickhouses://host", {"port": 9440, "secure": True, "database": "insightlite"}),
    (
        "clickhouse://writer:s3cret@ch.internal:9001/analytics",
        {"user": "writer", "password": "s3cret", "port": 9001, "database": "analytics"},
    ),
    ("clickhouse://u:p%40ss%2Fw@[::1]/", {"host": "::1", "password": "p@ss/w"}),
    (
        "ClickHouse://host/db?connect_timeout=2.5&send_receive_timeout=60&verify=false",
        {"connect_timeout": 2.5, "send_receive_timeout": 60.0, "verify": False},
    ),
]


@pytest.mark.parametrize(("url", "expected"), GOOD_URLS)
def test_good_urls(url: str, expected: dict[str, Any]) -> None:
    settings = parse_url(url)
    for name, value in expected.items():
        assert getattr(settings, name) == value


BAD_URLS: list[tuple[str, str]] = [
    ("", "empty"),
    ("localhost", "no scheme"),
    ("postgres://host/db", "unsupported ClickHouse URL scheme 'postgres'"),
    ("chdb:", "empty path"),
    ("chdb://", "empty path"),
    ("chdb:data?max_threads=1", "must not contain '\\?'"),
    ("clickhouse://host:99999/db", "invalid port"),
    ("clickhouse://host:http/db", "invalid port"),
    ("clickhouse://host:0/db", "port 0"),
    ("clickhouse:///db", "no host"),
    ("clickhouse://host/bad-name", "invalid database name in the URL 'bad-name'"),
    ("clickhouse://host/a/b", "one database name"),
    ("clickhouse://host/db?compression=1", "unknown option 'compression'"),
    ("clickhouse://host/db?connect_timeout=soon", "connect_timeout .* not a number"),
    ("clickhouse://host/db?connect_timeout=0", "connect_timeout .* positive"),
    ("clickhouse://host/db?verify=maybe", "verify"),
]


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        connect(url)


@pytest.mark.parametrize("database", ["", "1st", "bad-name", "a.b", "x; DROP TABLE y"])
def test_bad_database_names(database: str) -> None:
    with pytest.raises(ValueError, match="invalid database name"):
        connect("chdb:data", database=database)
    with pytest.raises(ValueError, match="invalid database name"):
        connect("clickhouse://host", database=database)


def test_url_database_overrides_the_argument() -> None:
    assert connect("clickhouse://host/from_url", database="argument").database == "from_url"
    assert connect("clickhouse://host/", database="argument").database == "argument"


def test_password_never_shows() -> None:
    url = "clickhouses://writer:s3cret@ch.internal/analytics"
    client = connect(url)
    assert client.describe() == "clickhouses://writer@ch.internal:9440/analytics"
    assert "s3cret" not in repr(client)
    assert isinstance(client, NativeClient)
    assert "s3cret" not in repr(client.settings)
    with pytest.raises(ValueError) as bad_port:
        connect("clickhouse://writer:s3cret@ch.internal:port/analytics")
    assert "s3cret" not in str(bad_port.value)
    assert "***" in str(bad_port.value)


def test_chdb_describe_names_the_directory(tmp_path: Path) -> None:
    assert connect(f"chdb:{tmp_path}").describe() == f"chdb:{tmp_path}"


# --- the server client without a server ------------------------------------------------


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_server_is_unavailable() -> None:
    client = connect(f"clickhouse://127.0.0.1:{free_loopback_port()}/db?connect_timeout=2")
    try:
        with pytest.raises(ClickHouseUnavailable, match="unreachable"):
            client.query("SELECT 1")
        assert not client.ping()
    finally:
        client.close()


def read_quoted(text: str) -> str:
    """What the server's readQuoted makes of a parameter the driver sent."""
    assert text.startswith("'") and text.endswith("'")
    body, result, index = text[1:-1], [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f"}
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 1
            char = escapes.get(body[index], body[index])
        result.append(char)
        index += 1
    return "".join(result)


@pytest.mark.parametrize(
    "value",
    [
        "' OR 1=1 --",
        "tab\t back\\slash \\N quote'",
        ["a'b", "c\\d"],
        {"k'": 1},
        (1, "x"),
        None,
        datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        uuid.UUID(int=7),
        2**64 - 1,
    ],
)
def test_driver_sends_the_text_chdb_receives(value: Any) -> None:
    from clickhouse_driver.util.escape import escape_params

    sent = escape_params(driver_params({"v": value}), None, for_server=True)
    assert read_quoted(sent["v"]) == format_param(value)


def test_arrow_columns_convert_to_what_the_driver_writes() -> None:
    from clickhouse_driver.columns.service import get_column_by_spec
    from clickhouse_driver.connection import ServerInfo
    from clickhouse_driver.context import Context

    table = events_table([event(0), event(1)])
    types = {
        "event_id": "UUID",
        "session_id": "UUID",
        "site_id": "LowCardinality(String)",
        "timestamp": "DateTime64(3, 'UTC')",
        "viewport_width": "UInt16",
        "user_agent_hash": "UInt64",
        "received_at": "DateTime('UTC')",
    }
    columns = dict(zip(table.column_names, arrow_to_driver_columns(table, types), strict=True))
    expected_ms = int(NOW.timestamp() * 1000)
    assert columns["timestamp"] == [expected_ms, expected_ms + 137]
    assert columns["received_at"] == [int(NOW.timestamp()), int(NOW.timestamp()) + 1]
    assert columns["site_id"] == ["site-0", "site-1"]
    assert columns["user_agent_hash"] == [2**64 - 1, 2**64 - 2]
    assert columns["event_id"] == [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))]

    context = Context()
    context.settings = {}
    context.client_settings = {
        "strings_as_bytes": False,
        "strings_encoding": "utf-8",
        "use_numpy": False,
        "input_format_null_as_default": False,
        "namedtuple_as_json": True,
    }
    context.server_info = ServerInfo("ClickHouse", 24, 8, 0, 54470, "UTC", "test", 54470)
    for name, clickhouse_type in types.items():
        column = get_column_by_spec(clickhouse_type, {"context": context})
        column.prepare_items(list(columns[name]))  # raises if the driver rejects a value


def test_uuid_and_timestamp_nulls_convert() -> None:
    table = pa.table(
        {
            "id": pa.ExtensionArray.from_storage(
                pa.uuid(), pa.array([uuid.UUID(int=9).bytes, None], pa.binary(16))
            ),
            "at": pa.array([1_700_000_000_123_456, None], pa.timestamp("us", tz="UTC")),
        }
    )
    columns = arrow_to_driver_columns(
        table, {"id": "Nullable(UUID)", "at": "Nullable(DateTime64(3, 'UTC'))"}
    )
    assert columns == [[str(uuid.UUID(int=9)), None], [1_700_000_000_123, None]]


class StandInDriver:
    """Records what NativeClient asks of clickhouse-driver and answers like it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []
        self.fail_with: BaseException | None = None

    def execute(self, sql: str, params: Any = None, **options: Any) -> Any:
        self.calls.append((sql, params, options))
        if self.fail_with is not None and not sql.startswith("USE "):
            raise self.fail_with
        if sql.startswith("SELECT name, type FROM system.columns"):
            return [("event_id", "UUID"), ("timestamp", "DateTime64(3, 'UTC')")], [
                ("name", "String"),
                ("type", "String"),
            ]
        if sql.startswith("INSERT"):
            return len(params[0])
        if options.get("with_column_types"):
            return [(1,)], [("x", "UInt8")]
        return []

    def disconnect(self) -> None:
        self.calls.append(("disconnect", None, {}))


def stand_in_client() -> tuple[NativeClient, StandInDriver]:
    driver = StandInDriver()
    client = NativeClient(
        ServerSettings(host="db", database="analytics"), driver_factory=lambda _: driver
    )
    return client, driver


def test_native_client_calls() -> None:
    client, driver = stand_in_client()
    table = pa.table(
        {
            "event_id": [str(uuid.UUID(int=1))],
            "timestamp": pa.array([NOW], pa.timestamp("ms", tz="UTC")),
        }
    )
    assert client.insert_arrow("events", table, dedup_token="offsets-1-2") == 1
    use, _columns_lookup, insert = driver.calls
    assert use[0] == "USE analytics"
    sql, data, options = insert
    assert sql == "INSERT INTO analytics.events (event_id, timestamp) VALUES"
    assert data == [[str(uuid.UUID(int=1))], [int(NOW.timestamp() * 1000)]]
    assert options["columnar"] is True
    assert options["settings"]["insert_deduplication_token"] == "offsets-1-2"
    assert options["settings"]["async_insert"] == 0

    driver.calls.clear()
    assert readonly_query(client, "SELECT {x:UInt8} AS x", {"x": 1}).rows == [(1,)]
    sql, params, options = driver.calls[0]
    assert options["settings"] == {"readonly": 1}
    assert str(params["x"]) == "1"

    client.close()
    assert driver.calls[-1][0] == "disconnect"


def test_driver_errors_map_to_retry_or_not() -> None:
    from clickhouse_driver import errors as driver_errors

    client, driver = stand_in_client()
    driver.fail_with = driver_errors.ServerException("Syntax error", code=62)
    with pytest.raises(QueryError, match=r"Code: 62\. Syntax error") as syntax:
        client.query("SELEC 1")
    assert syntax.value.code == 62
    driver.fail_with = driver_errors.ServerException("Too many parts", code=252)
    with pytest.raises(ClickHouseUnavailable):
        client.command("INSERT INTO t SELECT 1")
    driver.fail_with = driver_errors.NetworkError("Connection refused")
    with pytest.raises(ClickHouseUnavailable):
        client.query("SELECT 1")
    assert not client.ping()

    assert isinstance(map_driver_error(EOFError("closed")), ClickHouseUnavailable)
    assert isinstance(map_driver_error(driver_errors.TypeMismatchError("x")), QueryError)
    assert isinstance(map_driver_error(TimeoutError()), ClickHouseUnavailable)
