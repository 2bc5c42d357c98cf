"""The command line as a new user meets it: demo, generate, run, query, schema."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.dataset as ds
import pytest

from tests.e2e.cli import insightlite, query_json


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    result = insightlite("demo", "--events", "30000", "--data-dir", str(data_dir))
    return data_dir, result.stdout


def test_demo_end_to_end(demo_dir: tuple[Path, str]) -> None:
    data_dir, output = demo_dir
    assert "Run summary" in output and "insightlite query" in output
    counts = query_json(
        data_dir,
        "SELECT count() AS events, uniqExact(event_id) AS ids, countIf(country_code != '') "
        "AS with_country, uniqExact(device_type) AS devices FROM events FINAL",
    )[0]
    assert counts["events"] == counts["ids"] > 25_000
    assert counts["with_country"] > counts["events"] * 0.8  # the demo GeoIP database works
    assert counts["devices"] >= 3
    archive = ds.dataset(data_dir / "archive" / "events", partitioning="hive").to_table()
    assert archive.num_rows >= counts["events"]
    dead = [
        orjson.loads(line)
        for path in (data_dir / "archive" / "dead_letter").rglob("*.jsonl")
        for line in path.read_bytes().splitlines()
    ]
    assert dead and all(record["reasons"] for record in dead)
    tables = {row["name"] for row in query_json(data_dir, "SHOW TABLES")}
    assert {"events", "sessions", "heatmap_aggregates"} <= tables
    sessions = query_json(
        data_dir,
        "SELECT count() AS n, sum(event_count) AS events, countIf(has_rage_clicks) AS rage "
        "FROM sessions FINAL",
    )[0]
    assert sessions["n"] > 300 and sessions["events"] == counts["events"] and sessions["rage"] > 0
    heat = query_json(
        data_dir,
        "SELECT groupUniqArray(interaction_type) AS kinds, sum(interaction_count) AS n "
        "FROM heatmap_aggregates",
    )[0]
    assert {"click", "move", "scroll", "rage_click"} <= set(heat["kinds"])
    png = data_dir / "heatmap-busiest-page.png"
    assert png.read_bytes().startswith(b"\x89PNG") and str(png) in output
    # The busiest page's heatmap shows cells even with the minimum crowd (5 sessions).
    shown = query_json(
        data_dir,
        "SELECT count() AS n FROM (SELECT grid_x, grid_y FROM heatmap_aggregates "
        "WHERE interaction_type = 'click' AND (site_id, url_path) IN (SELECT site_id, url_path "
        "FROM heatmap_aggregates WHERE interaction_type = 'click' GROUP BY site_id, url_path "
        "ORDER BY sum(interaction_count) DESC LIMIT 1) "
        "GROUP BY grid_x, grid_y HAVING uniqExactMerge(sessions) >= 5)",
    )[0]
    assert shown["n"] >= 3, shown  # the hotspots of the page (30,000 events)
    # Recordings of a share of the sessions, each a session of the events.
    recordings = query_json(
        data_dir,
        "SELECT count() AS n, countIf(session_id IN (SELECT session_id FROM sessions FINAL)) "
        "AS of_sessions, sum(chunk_count) AS chunks FROM (SELECT session_id, "
        "length(groupUniqArrayMerge(chunks)) AS chunk_count FROM session_replays "
        "GROUP BY site_id, session_id)",
    )[0]
    assert recordings["n"] > 50 and recordings["of_sessions"] == recordings["n"]
    blobs = list((data_dir / "archive" / "replays").rglob("*.json.gz"))
    assert len(blobs) == recordings["chunks"]


def test_query_is_read_only(demo_dir: tuple[Path, str]) -> None:
    data_dir, _ = demo_dir
    result = insightlite("query", "--data-dir", str(data_dir), "DROP TABLE events", check=False)
    assert result.returncode != 0
    assert query_json(data_dir, "SELECT count() AS n FROM events")[0]["n"] > 0


def test_generate_then_run_with_json_summary(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    insightlite(
        "generate",
        "--events",
        "5000",
        "--out",
        str(raw),
        "--seed",
        "3",
        "--now",
        "2026-11-25T12:00:00Z",
    )
    lines = raw.read_bytes().splitlines()
    assert len(lines) == 5000
    result = insightlite(
        "run", "--input", f"file:{raw}", "--data-dir", str(tmp_path / "d"), "--json"
    )
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary["events_in"] == 5000
    assert summary["accepted"] + summary["rejected_total"] + summary["filtered_total"] == 5000
    assert set(summary) >= {
        "events_in",
        "accepted",
        "rejected",
        "filtered",
        "seconds",
        "events_per_second",
    }
    # The input's own duplicate deliveries are dropped before the outputs, and
    # running the same file again replaces rather than duplicates: the archive
    # keeps its file names, and ClickHouse collapses rows by event_id.
    insightlite("run", "--input", f"file:{raw}", "--data-dir", str(tmp_path / "d"), "--json")
    files = sorted((tmp_path / "d" / "archive" / "events").rglob("*.parquet"))
    archive = ds.dataset(files).to_table()
    unique = summary["accepted"] - summary["duplicates"]
    assert summary["duplicates"] > 0
    assert archive.num_rows == len(set(archive.column("event_id").to_pylist())) == unique
    rows = query_json(tmp_path / "d", "SELECT count() AS n FROM events FINAL")[0]["n"]
    assert rows == unique


def test_schema_commands(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "s")
    first = insightlite("schema", "apply", "--data-dir", data_dir)
    assert _labelled_lines(first.stdout) == {
        "applied": "0001_initial, 0002_session_replays, 0003_heatmap_cell_sessions, "
        "0004_heatmap_retention"
    }
    again = insightlite("schema", "apply", "--data-dir", data_dir)
    assert _labelled_lines(again.stdout) == {"applied": "nothing (up to date)"}
    status = insightlite("schema", "status", "--data-dir", data_dir)
    assert _labelled_lines(status.stdout)["pending"] == "none"


def _labelled_lines(text: str) -> dict[str, str]:
    """The command's `label: value` lines, by label."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["run", "--input", "generate:10"],
            {"INSIGHTLITE_SINK_BATCH_ROWS": "0"},
            "INSIGHTLITE_SINK_BATCH_ROWS",
        ),
        (["run", "--input", "nonsense"], {}, "--input"),
        (["run", "--input", "file:/no/such/file.jsonl"], {}, "input file not found"),
        (
            ["run", "--input", "generate:10", "--geoip-db", "/no/such.mmdb"],
            {},
            "INSIGHTLITE_GEOIP_DB",
        ),
        (
            ["run", "--input", "generate:10", "--clickhouse", "mysql://x"],
            {},
            "INSIGHTLITE_CLICKHOUSE_URL",
        ),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_setting(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = insightlite(*args, "--data-dir", str(tmp_path), env=env, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
