"""The replay step as a flow: generated recording chunks through validation, masking and
summaries into blobs, the chunks table (and so the per-recording aggregates) and dead
letters; on one worker, again over the same input, and on two processes."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, run_main

from connectors.archive import ArchiveWriter
from connectors.archive.replays import ReplayBlobStore
from connectors.clickhouse import apply_migrations, connect
from connectors.crypto import archive_cipher
from connectors.flow_sinks import ArchiveSink, ReplayBlobSink, clickhouse_sink
from devtools.generator import generate_records
from devtools.generator.replay import PLANTED_EMAIL, PLANTED_PHONE, generate_replay_records
from flows.pipeline import BatchLimits
from flows.replay import REPLAY_CHUNKS_TABLE, ReplayOutputs, attach_replay, build_replay_steps
from foundation.metrics import RunTotals
from foundation.settings import load_settings
from operators.model import RawBatch
from operators.replay_blobs import decode_blob
from tests.e2e.cli import insightlite, query_json

# Recent: the replay tables' TTL (30 days) drops rows of older recordings on insert.
NOW_MS = int(time.time()) // 3600 * 3_600_000
DATABASE = "insightlite"


@pytest.fixture(scope="module")
def chunk_records() -> list[bytes]:
    events = list(generate_records(3_000, seed=5, now_ms=NOW_MS))
    return generate_replay_records(events, seed=5, share=0.4, malformed_share=0.05)


def _valid(records: list[bytes]) -> list[dict[str, Any]]:
    """The chunks the generator made well-formed (the rest it broke on purpose)."""
    valid = []
    for record in records:
        try:
            chunk = orjson.loads(record)
        except orjson.JSONDecodeError:
            continue
        if (
            "chunk_id" in chunk
            and chunk["events"]
            and chunk["session_id"].strip() == chunk["session_id"]
            and all(0 <= event["type"] <= 6 for event in chunk["events"])
        ):
            valid.append(chunk)
    return valid


def _run(records: list[bytes], data_dir: Path, *, batch: int = 7) -> RunTotals:
    url = f"chdb:{data_dir / 'chdb'}"
    client = connect(url, database=DATABASE)
    apply_migrations(client)
    client.close()
    archive = str(data_dir / "archive")
    settings = load_settings(data_dir=str(data_dir))
    batches = [
        RawBatch("replay_events-0", start, records[start : start + batch])
        for start in range(0, len(records), batch)
    ]
    totals = RunTotals()
    flow = Dataflow("replay_only")
    attach_replay(
        flow,
        TestingSource(batches),
        build_replay_steps(settings),
        ReplayOutputs(
            blobs=ReplayBlobSink(archive, totals=totals),
            chunks=clickhouse_sink(url, DATABASE, REPLAY_CHUNKS_TABLE, totals),
            dead_letter=ArchiveSink(archive, kind="dead_letter", totals=totals),
        ),
        limits=BatchLimits(clickhouse_rows=50, archive_rows=100),
        totals=totals,
    )
    run_main(flow)
    return totals


def _recordings(data_dir: Path) -> list[dict[str, Any]]:
    client = connect(f"chdb:{data_dir / 'chdb'}", database=DATABASE)
    try:
        return client.query(
            "SELECT toString(session_id) AS session_id, min(start_time) AS start, "
            "max(end_time) AS end, length(groupUniqArrayMerge(chunks)) AS chunk_count, "
            "arraySum(c -> c.2, groupUniqArrayMerge(chunks)) AS events, "
            "uniqExactMerge(clicks) AS clicks, uniqExactMerge(errors) AS errors, "
            "arraySort(groupUniqArrayMerge(pages)) AS pages "
            f"FROM {DATABASE}.session_replays GROUP BY site_id, session_id ORDER BY session_id"
        ).as_dicts()
    finally:
        client.close()


def _stored(data_dir: Path) -> dict[str, bytes]:
    # Decrypted with the run's keys (`insightlite run` encrypts; the flows built here
    # with the plain sinks do not, and those blobs read as stored).
    cipher = archive_cipher(load_settings(data_dir=str(data_dir)))
    store = ReplayBlobStore(str(data_dir / "archive"), cipher=cipher)
    return {name: store.read(name) for _site, _session, names in store.sessions() for name in names}


def test_every_chunk_is_stored_masked_or_dead_lettered(
    chunk_records: list[bytes], tmp_path: Path
) -> None:
    valid = _valid(chunk_records)
    assert 20 < len(valid) < len(chunk_records)
    totals = _run(chunk_records, tmp_path)
    summary = totals.as_dict()["replay"]
    assert summary["chunks_in"] == len(chunk_records)
    assert summary["stored"] == len(valid)
    blobs = _stored(tmp_path)
    assert len(blobs) == len(valid)
    stored_ids = {decode_blob(blob)["chunk_id"] for blob in blobs.values()}
    assert stored_ids == {chunk["chunk_id"] for chunk in valid}
    # Masked on the server: the page text's contact details and the typed email.
    for blob in blobs.values():
        text = decode_blob(blob)
        serialized = orjson.dumps(text).decode()
        assert PLANTED_EMAIL not in serialized
        assert PLANTED_PHONE not in serialized
    # One row per chunk, one recording per session, with the sessions' events.
    recordings = _recordings(tmp_path)
    per_session = Counter(chunk["session_id"] for chunk in valid)
    assert {row["session_id"]: row["chunk_count"] for row in recordings} == dict(per_session)
    events = Counter[str]()
    for chunk in valid:
        events[chunk["session_id"]] += len(chunk["events"])
    assert {row["session_id"]: row["events"] for row in recordings} == dict(events)
    assert all(row["pages"] and row["end"] >= row["start"] for row in recordings)
    assert sum(row["clicks"] for row in recordings) > 0
    # The broken ones are dead letters with their reasons.
    dead = ArchiveWriter(str(tmp_path / "archive")).read_dead_letters()
    assert len(dead) == len(chunk_records) - len(valid)
    assert {record["stage"] for record in dead} == {"replay_validate"}
    assert all(record["reasons"] for record in dead)
    dead_text = orjson.dumps(dead).decode()
    assert PLANTED_EMAIL not in dead_text and PLANTED_PHONE not in dead_text


def test_a_second_pass_over_the_same_chunks_changes_nothing(
    chunk_records: list[bytes], tmp_path: Path
) -> None:
    _run(chunk_records, tmp_path, batch=5)
    first_blobs, first_recordings = _stored(tmp_path), _recordings(tmp_path)
    # The same input again, cut into other batches: a replay after a crash.
    _run(chunk_records, tmp_path, batch=11)
    assert _stored(tmp_path) == first_blobs
    assert _recordings(tmp_path) == first_recordings


def test_the_run_command_on_two_processes_stores_what_one_stores(
    chunk_records: list[bytes], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(generate_records(200, seed=1, now_ms=NOW_MS)) + b"\n")
    chunks = tmp_path / "chunks.jsonl"
    chunks.write_bytes(b"\n".join(chunk_records) + b"\n")
    figures = []
    for processes in ("1", "2"):
        data_dir = tmp_path / f"p{processes}"
        insightlite(
            "run",
            "--input",
            f"file:{events}",
            "--replay-input",
            f"file:{chunks}",
            "--data-dir",
            str(data_dir),
            "-p",
            processes,
            "--json",
        )
        figures.append(
            (
                sorted(_stored(data_dir)),
                query_json(
                    data_dir,
                    "SELECT toString(session_id) AS s, length(groupUniqArrayMerge(chunks)) AS n "
                    "FROM session_replays GROUP BY site_id, session_id ORDER BY s",
                ),
            )
        )
    assert figures[0] == figures[1]
    assert len(figures[0][0]) == len(_valid(chunk_records))
