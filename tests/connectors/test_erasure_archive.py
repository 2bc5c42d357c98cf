"""Erasure in the archive (a real local folder): event Parquet files and dead-letter
JSON lines are rewritten without the erased rows, the others left untouched; the
archive's retention sweep deletes whole expired days."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from connectors.archive.destinations import FsspecDestination
from connectors.archive.formats import JsonLinesFormat
from connectors.archive.writer import ArchiveWriter
from connectors.erasure.archive_files import (
    Target,
    dead_letter_matches,
    erase_archived_events,
    erase_dead_letters,
)
from connectors.erasure.archive_retention import file_day, months_before, sweep_archive

SESSION = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
DAY_MS = 1_795_600_000_000  # 2026-11-25


def events(rows: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "event_id": [str(uuid.uuid4()) for _ in rows],
            "session_id": [session for _, session in rows],
            "site_id": [site for site, _ in rows],
            "timestamp": pa.array([DAY_MS] * len(rows), pa.timestamp("ms", tz="UTC")),
        }
    )


def letter(**fields: object) -> dict[str, object]:
    return {"stage": "validate", "received_at": DAY_MS, "failed_at": DAY_MS, **fields}


def test_dead_letters_match_on_clear_fields_then_on_the_payload() -> None:
    target = Target("shop", SESSION)
    # The clear fields decide, whatever an encrypted payload holds.
    assert dead_letter_matches(letter(site_id="shop", session_id=SESSION, payload="AAEC"), target)
    assert not dead_letter_matches(letter(site_id="blog", session_id=SESSION), target)
    assert not dead_letter_matches(letter(site_id="shop", session_id=OTHER), target)
    # Older records: the payload's fields, as an object or a JSON text.
    assert dead_letter_matches(letter(payload={"site_id": "shop", "session_id": SESSION}), target)
    assert dead_letter_matches(letter(payload=f'{{"session_id": "{SESSION}"}}'), target)
    assert dead_letter_matches(letter(payload=f"not json {SESSION.upper()} ..."), target)
    assert not dead_letter_matches(letter(payload=f"not json {OTHER}"), target)
    # A site erase matches the site, clear or in the payload.
    assert dead_letter_matches(letter(site_id="shop"), Target("shop"))
    assert dead_letter_matches(letter(payload='{"site_id": "shop"}'), Target("shop"))
    assert not dead_letter_matches(letter(site_id="blog"), Target("shop"))


def test_event_files_are_rewritten_without_the_session(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    writer.write_events(events([("shop", SESSION), ("shop", OTHER)]), name="mixed")
    writer.write_events(events([("shop", SESSION)]), name="only")
    writer.write_events(events([("blog", OTHER)]), name="other")
    destination = FsspecDestination(str(tmp_path))
    untouched = next(p for p in destination.list("events") if p.endswith("other.parquet"))
    before = destination.read_bytes(untouched)

    dry = erase_archived_events(destination, Target("shop", SESSION), dry_run=True)
    assert (dry.rows, dry.files) == (2, 2)
    assert writer.read_events().num_rows == 4

    done = erase_archived_events(destination, Target("shop", SESSION), dry_run=False)
    assert (done.rows, done.files) == (2, 2)
    left = writer.read_events()
    assert SESSION not in left.column("session_id").to_pylist()
    assert left.num_rows == 2
    assert not any(p.endswith("only.parquet") for p in destination.list("events"))
    assert destination.read_bytes(untouched) == before
    again = erase_archived_events(destination, Target("shop", SESSION), dry_run=False)
    assert (again.rows, again.files) == (0, 0)

    site = erase_archived_events(destination, Target("shop"), dry_run=False)
    assert site.rows == 1
    assert writer.read_events().column("site_id").to_pylist() == ["blog"]


@pytest.mark.parametrize("gzip", [False, True])
def test_dead_letter_files_are_rewritten_without_the_session(tmp_path: Path, gzip: bool) -> None:
    destination = FsspecDestination(str(tmp_path))
    extension = ".jsonl.gz" if gzip else ".jsonl"
    path = f"dead_letter/year=2026/month=11/day=25/part{extension}"
    records = [
        letter(site_id="shop", session_id=SESSION, payload="ENCRYPTED"),
        letter(site_id="shop", session_id=OTHER, payload="ENCRYPTED"),
        letter(payload=f'{{"session_id": "{SESSION}", "note": "planted"}}'),
    ]
    destination.write_bytes(path, JsonLinesFormat(gzip=gzip).encode_records(records))

    done = erase_dead_letters(destination, Target("shop", SESSION), dry_run=False)
    assert (done.rows, done.files) == (2, 1)
    data = destination.read_bytes(path)
    assert data[:2] == b"\x1f\x8b" if gzip else data[:1] == b"{"
    assert JsonLinesFormat.decode_records(data) == [records[1]]
    assert erase_dead_letters(destination, Target("shop"), dry_run=False).rows == 1
    assert destination.list("dead_letter") == []


def test_months_before_counts_calendar_months() -> None:
    assert months_before(datetime(2026, 3, 31, 8, tzinfo=UTC), 1) == date(2026, 2, 28)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == date(2024, 12, 15)
    assert months_before(datetime(2026, 12, 15, tzinfo=UTC), 25) == date(2024, 11, 15)
    with pytest.raises(ValueError, match="aware"):
        months_before(datetime(2026, 1, 1), 1)


def test_the_sweep_deletes_whole_expired_days(tmp_path: Path) -> None:
    destination = FsspecDestination(str(tmp_path))
    paths = [
        "events/year=2025/month=01/day=14/a.parquet",
        "events/year=2025/month=01/day=15/a.parquet",
        "dead_letter/year=2025/month=12/day=16/a.jsonl",
        "dead_letter/year=2025/month=12/day=17/a.jsonl",
        "replays/site=shop/session=x/0.json.gz",
    ]
    for path in paths:
        destination.write_bytes(path, b"x")
    now = datetime(2026, 2, 15, 10, tzinfo=UTC)

    dry = sweep_archive(destination, now=now, events_months=13, dead_letter_days=60, dry_run=True)
    assert [(s.prefix, s.cutoff, s.files) for s in dry] == [
        ("events", date(2025, 1, 15), 1),
        ("dead_letter", date(2025, 12, 17), 1),
    ]
    assert destination.list() == sorted(paths)
    sweep_archive(destination, now=now, events_months=13, dead_letter_days=60, dry_run=False)
    assert destination.list() == sorted([paths[1], paths[3], paths[4]])


def test_file_day_reads_the_partition() -> None:
    assert file_day("/year=2026/month=02/day=03/x.parquet") == date(2026, 2, 3)
    assert file_day("/year=2026/month=02/day=31/x.parquet") is None
    assert file_day("/elsewhere/x.parquet") is None
