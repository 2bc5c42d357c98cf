"""`insightlite replays expire`, as a user runs it, over a local install: the embedded
ClickHouse and the archive folder under one data directory."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from connectors.archive.replays import ReplayBlobStore
from operators.replay_blobs import blob_name, encode_blob
from tests.e2e.cli import ROOT, insightlite, query_json

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NOW_TEXT = "2026-01-01T00:00:00Z"
CUTOFF = NOW - timedelta(days=30)

# The rows, inserted by a child process: the test process keeps no embedded engine open.
INSERT_ROWS = """
import sys, orjson
from datetime import datetime
from connectors.clickhouse import connect
client = connect("chdb:" + sys.argv[1], database="insightlite")
for row in orjson.loads(sys.argv[2]):
    row["start"] = row["end"] = datetime.fromisoformat(row["at"])
    client.command(
        "INSERT INTO insightlite.session_replay_chunks "
        "(site_id, session_id, chunk_id, seq, start_time, end_time, event_count, blob_name) "
        "SELECT {site:String}, {session:UUID}, {chunk:UUID}, {seq:UInt32}, "
        "{start:DateTime64(3, 'UTC')}, {end:DateTime64(3, 'UTC')}, 1, {name:String}",
        {key: row[key] for key in ("site", "session", "chunk", "seq", "start", "end", "name")},
    )
client.close()
"""


def labelled(text: str) -> dict[str, str]:
    """The command's `label: value` lines, by label."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def recordings_in_tables(data_dir: Path) -> dict[str, set[str]]:
    found = {}
    for table in ("session_replays", "session_replay_chunks"):
        rows = query_json(data_dir, f"SELECT DISTINCT toString(session_id) AS session FROM {table}")
        found[table] = {row["session"] for row in rows}
    return found


@pytest.fixture
def install(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, list[str]]]:
    """A data directory holding two recordings: one whose newest chunk starts 1 ms
    before the cutoff, one whose newest chunk starts at the cutoff. Returns the
    directory, the command's environment and each recording's blob names."""
    data_dir = tmp_path / "data"
    env = {"INSIGHTLITE_DATA_DIR": str(data_dir), "INSIGHTLITE_REPLAY_RETENTION_DAYS": "30"}
    # The tables keep rows for 10 years here, so that rows of a fixed past time are not
    # dropped by the TTL as they are inserted: only the command deletes.
    insightlite("schema", "apply", env={**env, "INSIGHTLITE_REPLAY_RETENTION_DAYS": "3650"})
    store = ReplayBlobStore(str(data_dir / "archive"))
    starts = {
        "expired": [CUTOFF - timedelta(hours=1), CUTOFF - timedelta(milliseconds=1)],
        "kept": [CUTOFF - timedelta(days=2), CUTOFF],
    }
    names: dict[str, list[str]] = {}
    rows = []
    for times in starts.values():
        session = str(uuid.uuid4())
        names[session] = []
        for seq, start in enumerate(times):
            chunk = str(uuid.uuid4())
            first_ms = (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
            name = blob_name("shop", session, first_ms, seq, chunk)
            store.write(name, encode_blob(chunk, seq, [{"type": 4, "timestamp": first_ms}]))
            names[session].append(name)
            rows.append(
                {
                    "site": "shop",
                    "session": session,
                    "chunk": chunk,
                    "seq": seq,
                    "at": start.isoformat(),
                    "name": name,
                }
            )
    subprocess.run(
        [sys.executable, "-c", INSERT_ROWS, str(data_dir / "clickhouse"), orjson.dumps(rows)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return data_dir, env, names


def test_expire_dry_run_then_for_real(
    install: tuple[Path, dict[str, str], dict[str, list[str]]],
) -> None:
    data_dir, env, names = install
    expired, kept = list(names)
    store = ReplayBlobStore(str(data_dir / "archive"))
    every_blob = sorted(names[expired] + names[kept])
    assert store.destination.list("replays") == every_blob
    assert recordings_in_tables(data_dir) == {
        "session_replays": {expired, kept},
        "session_replay_chunks": {expired, kept},
    }

    dry = insightlite("replays", "expire", "--dry-run", "--now", NOW_TEXT, env=env)
    assert labelled(dry.stdout) == {
        "cutoff": "2025-12-02T00:00:00Z",
        "dry run": "nothing was deleted",
        "recordings": "1",
        "blobs": "2",
    }
    assert store.destination.list("replays") == every_blob
    assert recordings_in_tables(data_dir)["session_replays"] == {expired, kept}

    done = insightlite("replays", "expire", "--now", NOW_TEXT, env=env)
    assert labelled(done.stdout) == {
        "cutoff": "2025-12-02T00:00:00Z",
        "recordings": "1",
        "blobs": "2",
    }
    # The kept recording keeps its older chunk too: a recording goes whole or not at all.
    assert store.destination.list("replays") == sorted(names[kept])
    assert recordings_in_tables(data_dir) == {
        "session_replays": {kept},
        "session_replay_chunks": {kept},
    }

    again = insightlite("replays", "expire", "--now", NOW_TEXT, env=env)
    assert (labelled(again.stdout)["recordings"], labelled(again.stdout)["blobs"]) == ("0", "0")


def test_expire_measures_from_now_by_default(
    install: tuple[Path, dict[str, str], dict[str, list[str]]],
) -> None:
    data_dir, env, names = install
    store = ReplayBlobStore(str(data_dir / "archive"))
    assert len(store.destination.list("replays")) == sum(map(len, names.values())) == 4
    # Both recordings are far older than 30 days before today: both go.
    result = insightlite("replays", "expire", env=env)
    assert (labelled(result.stdout)["recordings"], labelled(result.stdout)["blobs"]) == ("2", "4")
    assert store.destination.list("replays") == []


@pytest.mark.parametrize(
    ("now", "message"),
    [
        ("2999-01-01T00:00:00Z", "--now: must not be in the future"),
        ("2026-01-01", "--now: give a time zone"),
        ("yesterday", "--now: not an ISO 8601 time"),
    ],
)
def test_expire_refuses_a_bad_now(tmp_path: Path, now: str, message: str) -> None:
    result = insightlite(
        "replays", "expire", "--now", now, "--data-dir", str(tmp_path / "data"), check=False
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_expire_refuses_a_directory_without_a_database(tmp_path: Path) -> None:
    result = insightlite("replays", "expire", "--data-dir", str(tmp_path / "nothing"), check=False)
    assert result.returncode == 2
    assert "no InsightLite database" in result.stderr
    assert not (tmp_path / "nothing").exists()
