"""`insightlite erase` after a real embedded run: a session's every trace goes from
ClickHouse, the archived events, the dead letters and the recordings; a second erase
removes nothing and succeeds; a dry run removes nothing; a site erase takes the rest of
the site, heatmaps included, and nothing of the other sites."""

from __future__ import annotations

import gzip
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from connectors.archive.replays import ReplayBlobStore
from operators.replay_blobs import blob_name, encode_blob
from tests.e2e.cli import ROOT, insightlite, query_json

PLANTED_TRAIT = "PLANTEDTRAITVALUE"
PLANTED_REJECT = "PLANTEDREJECTVALUE"
SESSION_TABLES = ("events", "sessions", "session_replays", "session_replay_chunks")

INSERT_RECORDING = """
import sys
from datetime import datetime, UTC
from connectors.clickhouse import connect
client = connect("chdb:" + sys.argv[1], database="insightlite")
client.command(
    "INSERT INTO insightlite.session_replay_chunks "
    "(site_id, session_id, chunk_id, seq, start_time, end_time, event_count, blob_name) "
    "SELECT {site:String}, {session:UUID}, {chunk:UUID}, 0, {at:DateTime64(3, 'UTC')}, "
    "{at:DateTime64(3, 'UTC')}, 1, {name:String}",
    {"site": sys.argv[2], "session": sys.argv[3], "chunk": sys.argv[4],
     "at": datetime.fromtimestamp(int(sys.argv[5]) / 1000, UTC), "name": sys.argv[6]},
)
client.close()
"""


def erase(data_dir: Path, *args: str) -> dict[str, Any]:
    result = insightlite("erase", "--data-dir", str(data_dir), *args)
    answer: dict[str, Any] = orjson.loads(result.stdout.strip().splitlines()[-1])
    return answer


def rows_of_session(data_dir: Path, session: str) -> dict[str, int]:
    return {
        table: query_json(
            data_dir, f"SELECT count() AS n FROM {table} WHERE toString(session_id) = '{session}'"
        )[0]["n"]
        for table in SESSION_TABLES
    }


def rows_of_site(data_dir: Path, site: str) -> dict[str, int]:
    return {
        table: query_json(data_dir, f"SELECT count() AS n FROM {table} WHERE site_id = '{site}'")[
            0
        ]["n"]
        for table in (*SESSION_TABLES, "heatmap_aggregates")
    }


def archive_text(data_dir: Path) -> tuple[set[str], str]:
    """The archived events' session ids and every archived event value as one text."""
    sessions: set[str] = set()
    text = []
    for path in sorted((data_dir / "archive" / "events").rglob("*.parquet")):
        table = pq.read_table(path)
        sessions.update(str(value) for value in table.column("session_id").to_pylist())
        text.append(orjson.dumps(table.to_pylist(), default=str).decode())
    return sessions, "\n".join(text)


def dead_letter_bytes(data_dir: Path) -> bytes:
    found = b""
    for path in sorted((data_dir / "archive" / "dead_letter").rglob("*.jsonl*")):
        data = path.read_bytes()
        found += gzip.decompress(data) if path.name.endswith(".gz") else data
    return found


def _record(line: bytes) -> dict[str, Any] | None:
    """A well-formed generated record (the generator also writes broken ones)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    wanted = ("site_id", "session_id", "ts", "event_id")
    if not isinstance(record, dict) or not all(
        isinstance(record.get(k), str | int) for k in wanted
    ):
        return None
    try:
        uuid.UUID(record["session_id"])
    except (ValueError, AttributeError):
        return None
    return record


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, str]:
    """A data directory filled by a real run, with planted values in one session: an
    identify() trait (allow-listed), a rejected event and a recording. Returns the directory, the
    session, its site and another site."""
    work = tmp_path_factory.mktemp("erase")
    raw = work / "raw.jsonl"
    insightlite("generate", "--events", "3000", "--out", str(raw), "--seed", "11")
    records = [parsed for line in raw.read_bytes().splitlines() if (parsed := _record(line))]
    first = records[0]
    site, session = first["site_id"], first["session_id"]
    other_site = next(r["site_id"] for r in records if r["site_id"] != site)
    identify = {
        **first,
        "event_id": str(uuid.uuid4()),
        "type": "custom",
        "name": "identify",
        "props": {"plan": PLANTED_TRAIT},
    }
    for key in ("x", "y"):
        identify.pop(key, None)
    rejected = {**first, "event_id": str(uuid.uuid4()), "type": "bogus", "note": PLANTED_REJECT}
    with raw.open("ab") as handle:
        handle.write(orjson.dumps(identify) + b"\n" + orjson.dumps(rejected) + b"\n")
    data_dir = work / "data"
    # The site keeps the trait in clear (allow-listed), so that erasure has it to remove.
    allow_plan = {"INSIGHTLITE_TRAITS_ALLOWED_KEYS": orjson.dumps({site: ["plan"]}).decode()}
    insightlite(
        "run", "--input", f"file:{raw}", "--data-dir", str(data_dir), "--json", env=allow_plan
    )
    # A recording of the session: a blob and its row (the replay step's outputs).
    chunk = str(uuid.uuid4())
    name = blob_name(site, session, first["ts"], 0, chunk)
    ReplayBlobStore(str(data_dir / "archive")).write(
        name, encode_blob(chunk, 0, [{"type": 4, "timestamp": first["ts"]}])
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            INSERT_RECORDING,
            str(data_dir / "clickhouse"),
            site,
            session,
            chunk,
            str(first["ts"]),
            name,
        ],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return data_dir, session, site, other_site


def test_session_erase_removes_every_trace(install: tuple[Path, str, str, str]) -> None:
    data_dir, session, site, other_site = install
    # Everything is there first: the checks below could fail.
    before = rows_of_session(data_dir, session)
    assert all(before[table] > 0 for table in SESSION_TABLES), before
    planted = query_json(
        data_dir, f"SELECT count() AS n FROM events WHERE position(event_data, '{PLANTED_TRAIT}')"
    )
    assert planted[0]["n"] == 1
    sessions, text = archive_text(data_dir)
    assert session in sessions and PLANTED_TRAIT in text
    assert session.encode() in dead_letter_bytes(data_dir)
    recording = data_dir / "archive" / "replays" / f"site={site}" / f"session={session}"
    assert any(recording.iterdir())
    others_before = rows_of_site(data_dir, other_site)
    heatmap_before = rows_of_site(data_dir, site)["heatmap_aggregates"]

    dry = erase(data_dir, "--site", site, "--session", session, "--dry-run")
    assert dry["dry_run"] is True and dry["scope"] == "session" and dry["actor"] == "cli"
    assert dry["counts"]["clickhouse.events"] == before["events"]
    assert dry["counts"]["recordings.blobs"] == 1
    assert dry["counts"]["dead_letters.records"] >= 1
    assert rows_of_session(data_dir, session) == before

    refused = insightlite(
        "erase", "--data-dir", str(data_dir), "--site", site, "--session", session, check=False
    )
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert rows_of_session(data_dir, session) == before

    done = erase(data_dir, "--site", site, "--session", session, "--yes")
    assert done["dry_run"] is False
    assert {key: value for key, value in done["counts"].items() if value} == {
        key: value for key, value in dry["counts"].items() if value
    }
    assert rows_of_session(data_dir, session) == dict.fromkeys(SESSION_TABLES, 0)
    assert (
        query_json(
            data_dir,
            f"SELECT count() AS n FROM events WHERE position(event_data, '{PLANTED_TRAIT}')",
        )[0]["n"]
        == 0
    )
    sessions, text = archive_text(data_dir)
    assert session not in sessions and PLANTED_TRAIT not in text
    letters = dead_letter_bytes(data_dir)
    assert session.encode() not in letters and PLANTED_REJECT.encode() not in letters
    assert not recording.exists()  # not even an empty folder named after the session
    # Nothing else went: the other site, and this site's anonymous heatmap counts.
    assert rows_of_site(data_dir, other_site) == others_before
    assert rows_of_site(data_dir, site)["heatmap_aggregates"] == heatmap_before

    again = erase(data_dir, "--site", site, "--session", session, "--yes")
    assert again["total"] == 0


def test_site_erase_removes_the_site_and_nothing_else(
    install: tuple[Path, str, str, str],
) -> None:
    data_dir, _, site, other_site = install
    others_before = rows_of_site(data_dir, other_site)
    assert rows_of_site(data_dir, site)["heatmap_aggregates"] > 0
    # The site's data keys (its dead letters were encrypted with them), and another's.
    keys = data_dir / "archive" / "keys"
    assert list((keys / f"site={site}").glob("*.json"))
    other_keys = sorted(keys.rglob("*.json"))

    done = erase(data_dir, "--site", site, "--yes")
    assert done["scope"] == "site" and done["total"] > 0
    assert done["counts"]["clickhouse.heatmap_aggregates"] > 0
    assert rows_of_site(data_dir, site) == dict.fromkeys((*SESSION_TABLES, "heatmap_aggregates"), 0)
    archived = [
        row["site_id"]
        for path in (data_dir / "archive" / "events").rglob("*.parquet")
        for row in pq.read_table(path, columns=["site_id"]).to_pylist()
    ]
    assert site not in archived and other_site in archived
    for line in dead_letter_bytes(data_dir).splitlines():
        assert orjson.loads(line).get("site_id") != site
    # Not even an empty folder named after the site.
    assert not (data_dir / "archive" / "replays" / f"site={site}").exists()
    assert rows_of_site(data_dir, other_site) == others_before
    # Crypto-shredded: a copy of its encrypted objects (a backup) no longer opens.
    assert done["counts"]["data_key.destroyed"] >= 1
    assert not list((keys / f"site={site}").glob("*.json"))
    assert sorted(keys.rglob("*.json")) == [p for p in other_keys if f"site={site}" not in str(p)]
    assert erase(data_dir, "--site", site, "--yes")["total"] == 0


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    result = insightlite(
        "erase",
        "--data-dir",
        str(tmp_path),
        "--site",
        "s",
        "--session",
        "nope",
        "--yes",
        check=False,
    )
    assert result.returncode == 2 and "not a UUID" in result.stderr
