"""Tests of the archive connector: formats, fsspec destinations and the day-partitioned writer."""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.archive import (
    ArchiveWriter,
    FsspecDestination,
    JsonLinesFormat,
    ParquetFormat,
    validate_name,
)

TIMESTAMP_TYPE = pa.timestamp("ms", tz="UTC")


def epoch_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, **kw: int) -> int:
    moment = datetime(year, month, day, hour, minute, kw.get("second", 0), tzinfo=UTC)
    return int(moment.timestamp() * 1000) + kw.get("ms", 0)


def events_table(timestamps_ms: Sequence[int], *, site: str = "example.com") -> pa.Table:
    count = len(timestamps_ms)
    return pa.table(
        {
            "event_id": [f"00000000-0000-4000-8000-{index:012d}" for index in range(count)],
            "site_id": [site] * count,
            "type": ["pageview" if index % 2 else "click" for index in range(count)],
            "timestamp": pa.array(timestamps_ms, TIMESTAMP_TYPE),
            "x": pa.array([float(index) if index % 3 else None for index in range(count)]),
            "country": ["NL" if index % 2 else None for index in range(count)],
        }
    )


def row_multiset(table: pa.Table) -> Counter[tuple[Any, ...]]:
    columns = sorted(table.column_names)
    return Counter(tuple(row[column] for column in columns) for row in table.to_pylist())


def files_under(root: Path) -> list[str]:
    return sorted(
        str(Path(directory, name).relative_to(root))
        for directory, _, names in os.walk(root)
        for name in names
    )


def dead_letter(received_at: int | None, failed_at: int, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "stage": "validate",
        "reasons": [{"code": "missing_field", "detail": "session_id"}],
        "processor": "insightlite/0.1.0",
        "received_at": received_at,
        "failed_at": failed_at,
        "payload": '{"v":1,"url":"https://example.com/?email=***"}',
    }
    if received_at is None:
        del record["received_at"]
    record.update(extra)
    return record


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A fresh root on fsspec's process-wide memory filesystem, removed afterwards."""
    url = f"memory://archive-{uuid.uuid4().hex}"
    yield url
    destination = FsspecDestination(url)
    with contextlib.suppress(FileNotFoundError):
        destination.filesystem.rm(destination.root, recursive=True)


# --- local paths, file:// and memory:// ------------------------------------------------------


def test_local_path_layout_round_trip_and_hive_dataset(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    timestamps = [
        epoch_ms(2025, 11, 24, 23, 59, second=59, ms=999),
        epoch_ms(2025, 11, 25, 0, 0),
        epoch_ms(2025, 11, 25, 12, 30),
    ]
    table = events_table(timestamps)

    written = writer.write_events(table, name="p0-000000001000-000000001999")

    assert written == [
        str(tmp_path / "events/year=2025/month=11/day=24/p0-000000001000-000000001999.parquet"),
        str(tmp_path / "events/year=2025/month=11/day=25/p0-000000001000-000000001999.parquet"),
    ]
    assert all(Path(path).is_file() for path in written)
    read_back = writer.read_events()
    assert read_back.schema == table.schema
    assert row_multiset(read_back) == row_multiset(table)

    # The whole tree reads as a hive-partitioned dataset: no partition key is duplicated
    # into the files with a clashing type.
    dataset = ds.dataset(str(tmp_path / "events"), format="parquet", partitioning="hive")
    assert dataset.count_rows() == 3
    whole = dataset.to_table()
    assert whole.num_rows == 3
    assert sorted(whole.column("day").to_pylist()) == [24, 25, 25]
    assert whole.schema.field("timestamp").type == TIMESTAMP_TYPE


def test_relative_local_path_is_resolved_when_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    writer = ArchiveWriter("archive-data")
    monkeypatch.chdir("/")  # a later chdir must not move the archive

    written = writer.write_events(events_table([epoch_ms(2025, 1, 2)]), name="batch-1")

    assert written == [
        str(tmp_path / "archive-data/events/year=2025/month=01/day=02/batch-1.parquet")
    ]
    assert writer.read_events().num_rows == 1


def test_file_url(tmp_path: Path) -> None:
    writer = ArchiveWriter(f"file://{tmp_path}/archive")
    written = writer.write_events(events_table([epoch_ms(2024, 2, 29, 8)]), name="leap")

    assert written == [str(tmp_path / "archive/events/year=2024/month=02/day=29/leap.parquet")]
    assert writer.read_events(date(2024, 2, 29)).num_rows == 1
    assert ArchiveWriter(f"file://localhost{tmp_path}/archive").read_events().num_rows == 1


def test_memory_url(memory_url: str) -> None:
    writer = ArchiveWriter(memory_url)
    table = events_table([epoch_ms(2025, 6, 1, 1), epoch_ms(2025, 6, 2, 1)])

    written = writer.write_events(table, name="mem")

    assert written == [
        f"{memory_url}/events/year=2025/month=06/day=0{day}/mem.parquet" for day in (1, 2)
    ]
    assert writer.destination.list("events") == [
        "events/year=2025/month=06/day=01/mem.parquet",
        "events/year=2025/month=06/day=02/mem.parquet",
    ]
    assert row_multiset(writer.read_events()) == row_multiset(table)
    assert writer.read_events(date(2025, 6, 2)).num_rows == 1
    assert writer.read_events(date(2025, 6, 3)).num_rows == 0


def test_filesystem_is_created_lazily(tmp_path: Path) -> None:
    # An unreachable endpoint is fine until the first write: nothing connects at build.
    destination = FsspecDestination(
        "s3://lazy-bucket/prefix",
        storage_options={"client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}},
    )
    assert destination._filesystem is None

    writer = ArchiveWriter(str(tmp_path / "not-yet"))
    assert writer.destination._filesystem is None
    assert not (tmp_path / "not-yet").exists()


def test_empty_archive_and_empty_inputs(tmp_path: Path, memory_url: str) -> None:
    for writer in (ArchiveWriter(str(tmp_path / "nothing-here")), ArchiveWriter(memory_url)):
        assert writer.read_events().num_rows == 0
        assert writer.read_events(date(2025, 1, 1)).num_rows == 0
        assert writer.read_dead_letters() == []
        assert writer.write_events(events_table([]), name="empty") == []
        assert writer.write_dead_letters([], name="empty") == []
        assert writer.destination.list() == []


# --- day splitting and deterministic overwrite -----------------------------------------------


def test_days_split_at_midnight_utc_across_month_and_year(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    timestamps = [
        epoch_ms(2025, 12, 31, 23, 59, second=59, ms=999),
        epoch_ms(2026, 1, 1, 0, 0),
        epoch_ms(2025, 12, 31, 0, 0),
        epoch_ms(2026, 1, 1, 23, 59, second=59, ms=999),
        epoch_ms(2026, 1, 2, 0, 0, ms=1),
    ]

    written = writer.write_events(events_table(timestamps), name="midnight")

    assert [os.path.relpath(path, tmp_path) for path in written] == [
        "events/year=2025/month=12/day=31/midnight.parquet",
        "events/year=2026/month=01/day=01/midnight.parquet",
        "events/year=2026/month=01/day=02/midnight.parquet",
    ]
    assert writer.read_events(date(2025, 12, 31)).column("timestamp").to_pylist() == [
        datetime(2025, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(2025, 12, 31, 0, 0, tzinfo=UTC),
    ]  # rows keep their order within a day
    assert writer.read_events(date(2026, 1, 1)).num_rows == 2
    assert writer.read_events(date(2026, 1, 2)).num_rows == 1


def test_replay_overwrites_instead_of_duplicating(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    table = events_table([epoch_ms(2025, 3, 1, hour) for hour in range(0, 24, 5)])

    first = writer.write_events(table, name="p3-000000000000-000000000004")
    first_bytes = [Path(path).read_bytes() for path in first]
    second = writer.write_events(table, name="p3-000000000000-000000000004")

    assert second == first
    assert [Path(path).read_bytes() for path in second] == first_bytes
    assert files_under(tmp_path) == [
        "events/year=2025/month=03/day=01/p3-000000000000-000000000004.parquet"
    ]
    assert row_multiset(writer.read_events()) == row_multiset(table)

    # The same name with other rows replaces the file rather than adding to it.
    writer.write_events(table.slice(0, 2), name="p3-000000000000-000000000004")
    assert writer.read_events().num_rows == 2


# --- Parquet format ----------------------------------------------------------------------------


@pytest.mark.parametrize(("compression", "codec"), [("zstd", "ZSTD"), ("gzip", "GZIP")])
def test_compression_codec_in_parquet_metadata(
    tmp_path: Path, compression: str, codec: str
) -> None:
    writer = ArchiveWriter(str(tmp_path), compression=compression)  # type: ignore[arg-type]
    [path] = writer.write_events(events_table([epoch_ms(2025, 5, 5)] * 50), name="codec")

    metadata = pq.ParquetFile(path).metadata
    codecs = {
        metadata.row_group(group).column(column).compression
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
    }
    assert codecs == {codec}


def test_zstd_is_the_default() -> None:
    writer = ArchiveWriter("memory://default-codec")
    assert isinstance(writer.events_format, ParquetFormat)
    assert writer.events_format.compression == "zstd"
    assert writer.events_format.compression_level == 1
    assert ParquetFormat("gzip").compression_level == 6  # not Arrow's slow default of 9


def test_parquet_keeps_schema_and_sizes_row_groups() -> None:
    parquet = ParquetFormat(row_group_rows=1_000)
    table = events_table([epoch_ms(2025, 1, 1) + index for index in range(2_500)])

    data = parquet.encode_table(table)

    parquet_file = pq.ParquetFile(pa.BufferReader(data))
    assert parquet_file.metadata.num_row_groups == 3
    assert parquet_file.schema_arrow == table.schema
    assert parquet_file.schema_arrow.field("timestamp").type == TIMESTAMP_TYPE
    assert parquet.decode_table(data).equals(table)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"compression": "snappy"}, "unsupported Parquet compression"),
        ({"compression": "zstd", "compression_level": 0}, "from 1 to 22"),
        ({"compression": "gzip", "compression_level": 10}, "from 1 to 9"),
        ({"compression": "gzip", "compression_level": True}, "from 1 to 9"),
        ({"row_group_rows": 0}, "at least 1"),
    ],
)
def test_parquet_settings_are_checked_when_built(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParquetFormat(**arguments)


def test_compression_level_is_used() -> None:
    table = events_table([epoch_ms(2025, 1, 1) + index * 997 for index in range(5_000)])
    fast = ParquetFormat("zstd", 1).encode_table(table)
    small = ParquetFormat("zstd", 19).encode_table(table)
    assert fast != small
    assert (
        ParquetFormat("gzip", 9)
        .decode_table(ParquetFormat("gzip", 9).encode_table(table))
        .equals(table)
    )


def test_files_with_different_schemas_read_back_together(memory_url: str) -> None:
    writer = ArchiveWriter(memory_url)
    older = pa.table({"timestamp": pa.array([epoch_ms(2025, 1, 1)], TIMESTAMP_TYPE), "a": [1]})
    newer = older.append_column("b", pa.array(["new"]))
    writer.write_events(older, name="older")
    writer.write_events(newer, name="newer")

    combined = writer.read_events()

    assert sorted(combined.column_names) == ["a", "b", "timestamp"]
    assert Counter(combined.column("b").to_pylist()) == Counter(["new", None])


# --- events table checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"ts": pa.array([1], TIMESTAMP_TYPE)}), "no 'timestamp' column"),
        (pa.table({"timestamp": pa.array([1], pa.timestamp("ms"))}), "must be a UTC timestamp"),
        (pa.table({"timestamp": pa.array([1], pa.int64())}), "must be a UTC timestamp"),
        (
            pa.table({"timestamp": pa.array([1], pa.timestamp("ms", tz="Europe/Amsterdam"))}),
            "must be a UTC timestamp",
        ),
        (pa.table({"timestamp": pa.array([1, None], TIMESTAMP_TYPE)}), "1 row"),
        (
            pa.table({"timestamp": pa.array([1], TIMESTAMP_TYPE), "year": [2025]}),
            "clash with the archive's hive partition keys",
        ),
    ],
)
def test_events_table_is_checked(tmp_path: Path, table: pa.Table, message: str) -> None:
    writer = ArchiveWriter(str(tmp_path))
    with pytest.raises(ValueError, match=message):
        writer.write_events(table, name="bad")
    assert files_under(tmp_path) == []


def test_events_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"pyarrow\.Table"):
        ArchiveWriter(str(tmp_path)).write_events([{"timestamp": 1}], name="x")


# --- atomicity -----------------------------------------------------------------------------------


class FailingFormat:
    """A Parquet format that fails on its n-th file, as a crash in the middle of a batch."""

    extension = ".parquet"

    def __init__(self, fail_on_call: int) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def encode_table(self, table: pa.Table) -> bytes:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("encoder failed")
        return ParquetFormat().encode_table(table)


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    for attempt in range(3):
        writer.write_events(events_table([epoch_ms(2025, 7, 1), epoch_ms(2025, 7, 2)]), name="same")
        writer.write_dead_letters(
            [dead_letter(epoch_ms(2025, 7, 1), epoch_ms(2025, 7, 1))], name=f"dl{attempt}"
        )

    assert files_under(tmp_path) == [
        "dead_letter/year=2025/month=07/day=01/dl0.jsonl",
        "dead_letter/year=2025/month=07/day=01/dl1.jsonl",
        "dead_letter/year=2025/month=07/day=01/dl2.jsonl",
        "events/year=2025/month=07/day=01/same.parquet",
        "events/year=2025/month=07/day=02/same.parquet",
    ]
    assert all(os.stat(tmp_path / path).st_mode & 0o777 == 0o644 for path in files_under(tmp_path))


@pytest.mark.parametrize("fail_on_call", [1, 2])
def test_failing_format_writes_nothing(tmp_path: Path, fail_on_call: int) -> None:
    writer = ArchiveWriter(str(tmp_path), events_format=FailingFormat(fail_on_call))
    two_days = events_table([epoch_ms(2025, 8, 1), epoch_ms(2025, 8, 2)])

    with pytest.raises(RuntimeError, match="encoder failed"):
        writer.write_events(two_days, name="batch")

    # Every day is encoded before any is written, so not even the first day's file exists.
    assert files_under(tmp_path) == []


def test_failure_mid_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = ArchiveWriter(str(tmp_path))
    old = events_table([epoch_ms(2025, 9, 9)])
    [path] = writer.write_events(old, name="batch")
    old_bytes = Path(path).read_bytes()

    def failing_fsync(descriptor: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        writer.write_events(events_table([epoch_ms(2025, 9, 9)] * 100), name="batch")
    with pytest.raises(OSError, match="disk full"):
        writer.write_events(events_table([epoch_ms(2025, 9, 9)]), name="new-batch")

    assert Path(path).read_bytes() == old_bytes
    assert files_under(tmp_path) == ["events/year=2025/month=09/day=09/batch.parquet"]


# --- validation of URLs, names and paths ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gs://bucket/prefix", "unsupported archive URL 'gs://bucket/prefix'"),
        ("http://example.com/archive", "unsupported archive URL 'http://example.com/archive'"),
        ("", "non-empty"),
        ("file://", "has no path"),
        ("s3://", "invalid S3 bucket name '' in 's3://'"),
        ("s3://Upper-Case/x", "invalid S3 bucket name 'Upper-Case' in 's3://Upper-Case/x'"),
        ("s3://ab", "invalid S3 bucket name 'ab'"),
        ("s3://bucket_underscore", "invalid S3 bucket name"),
        ("s3://-leading-hyphen", "invalid S3 bucket name"),
        ("s3://two..dots", "must not contain"),
        ("s3://192.168.1.1", "IP address"),
        ("s3://xn--bucket", "reserves"),
        (f"s3://{'a' * 64}", "invalid S3 bucket name"),
        ("s3://bucket/a/../b", "invalid S3 prefix in 's3://bucket/a/../b'"),
        ("memory://a/../b", "invalid memory path"),
    ],
)
def test_bad_urls_fail_when_built(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("*", r"\*")):
        ArchiveWriter(url)


def test_good_bucket_names_pass() -> None:
    for url in ("s3://abc", "s3://my.archive-bucket-01/prefix/", f"s3://{'a' * 63}"):
        destination = FsspecDestination(url)
        assert destination.protocol == "s3"
    assert FsspecDestination("s3://my-bucket//deep/prefix/").root == "my-bucket/deep/prefix"
    assert FsspecDestination("S3://my-bucket").root == "my-bucket"


@pytest.mark.parametrize(
    "name",
    ["", "a/b", "../x", "..", ".hidden", "a b", "x" * 201, "name\n", "ünïcode", "semi;colon", None],
)
def test_bad_names_are_rejected(tmp_path: Path, name: Any) -> None:
    writer = ArchiveWriter(str(tmp_path))
    with pytest.raises(ValueError, match="invalid archive file name"):
        writer.write_events(events_table([epoch_ms(2025, 1, 1)]), name=name)
    with pytest.raises(ValueError, match="invalid archive file name"):
        writer.write_dead_letters([dead_letter(1, 2)], name=name)
    assert files_under(tmp_path) == []


def test_good_names_pass() -> None:
    for name in ("p0-000000001000-000000001999", "x", "a.b_c=d-e", "x" * 200, "a..b"):
        assert validate_name(name) == name


@pytest.mark.parametrize(
    "relative_path", ["../x", "/abs", "a//b", "a/./b", "a/../../b", "", "a\\b", "s3://x/y"]
)
def test_destination_rejects_paths_outside_its_root(tmp_path: Path, relative_path: str) -> None:
    destination = FsspecDestination(str(tmp_path / "root"))
    with pytest.raises(ValueError, match="relative path"):
        destination.write_bytes(relative_path, b"x")
    with pytest.raises(ValueError, match="relative path"):
        destination.read_bytes(relative_path)
    assert files_under(tmp_path) == []


def test_destination_basics(tmp_path: Path, memory_url: str) -> None:
    for destination in (FsspecDestination(str(tmp_path)), FsspecDestination(memory_url)):
        assert not destination.exists("a/b/c.bin")
        assert destination.list("a") == []
        written = destination.write_bytes("a/b/c.bin", b"one")
        destination.write_bytes("a/d.bin", b"two")
        destination.write_bytes("a/b/c.bin", b"three")
        assert written.endswith("/a/b/c.bin")
        assert destination.exists("a/b/c.bin")
        assert destination.read_bytes("a/b/c.bin") == b"three"
        assert destination.list() == ["a/b/c.bin", "a/d.bin"]
        assert destination.list("a/b") == ["a/b/c.bin"]
        assert destination.list("a/b/") == ["a/b/c.bin"]
        destination.write_bytes("a-b/e.bin", b"sibling")
        assert destination.list("a") == ["a/b/c.bin", "a/d.bin"]
        with pytest.raises(FileNotFoundError):
            destination.read_bytes("missing.bin")


# --- dead letters ------------------------------------------------------------------------------


def test_dead_letters_are_json_lines_split_by_day(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    records = [
        dead_letter(1764067200000, 1764067200123, site_id="example.com"),
        dead_letter(
            epoch_ms(2025, 11, 24, 23, 59, second=59, ms=999),
            epoch_ms(2025, 11, 25, 0, 0, ms=5),
            payload='{"message":"line one\nline two\u2028\u2029\x85\r \u00e9 \U0001f600"}',
        ),
        dead_letter(None, epoch_ms(2025, 11, 26, 10)),  # no received_at: day of failed_at
    ]

    written = writer.write_dead_letters(records, name="p1-000000000010-000000000019")

    assert [os.path.relpath(path, tmp_path) for path in written] == [
        "dead_letter/year=2025/month=11/day=24/p1-000000000010-000000000019.jsonl",
        "dead_letter/year=2025/month=11/day=25/p1-000000000010-000000000019.jsonl",
        "dead_letter/year=2025/month=11/day=26/p1-000000000010-000000000019.jsonl",
    ]
    # A program reads each line with any JSON parser; a person sees one record per line.
    lines = [
        line
        for path in written
        for line in Path(path).read_text(encoding="utf-8").splitlines(keepends=False)
    ]
    assert len(lines) == 3
    assert [json.loads(line) for line in lines] == [records[1], records[0], records[2]]
    assert "line one\\nline two" in lines[0]
    assert sorted(writer.read_dead_letters(), key=lambda record: record["failed_at"]) == sorted(
        records, key=lambda record: record["failed_at"]
    )
    assert writer.read_dead_letters(date(2025, 11, 25)) == [records[0]]
    assert writer.read_dead_letters(date(2025, 11, 27)) == []


def test_a_received_at_outside_the_calendar_files_under_failed_at(tmp_path: Path) -> None:
    # A hostile record's received_at (2**63 ms, far past year 9999) has no day: the
    # dead letter goes to the day it failed, rather than stopping the writer.
    writer = ArchiveWriter(str(tmp_path))
    record = dead_letter(2**63, epoch_ms(2025, 11, 26, 10))
    written = writer.write_dead_letters([record], name="p1-000000000000-000000000009")
    assert [os.path.relpath(path, tmp_path) for path in written] == [
        "dead_letter/year=2025/month=11/day=26/p1-000000000000-000000000009.jsonl"
    ]
    assert writer.read_dead_letters() == [record]


def test_dead_letters_without_a_usable_time_are_rejected(tmp_path: Path) -> None:
    writer = ArchiveWriter(str(tmp_path))
    with pytest.raises(ValueError, match="dead letter 1 has neither received_at nor failed_at"):
        writer.write_dead_letters(
            [dead_letter(1, 2), {"stage": "parse", "failed_at": "yesterday"}], name="bad"
        )
    with pytest.raises(TypeError, match="dead letter 0 is a str"):
        writer.write_dead_letters(["not a mapping"], name="bad")  # type: ignore[list-item]
    assert files_under(tmp_path) == []


def test_dead_letter_replay_overwrites(memory_url: str) -> None:
    writer = ArchiveWriter(memory_url)
    records = [dead_letter(epoch_ms(2025, 4, 4), epoch_ms(2025, 4, 4) + 10)] * 3
    writer.write_dead_letters(records, name="dl")
    writer.write_dead_letters(records, name="dl")
    assert len(writer.read_dead_letters()) == 3


def test_json_lines_format_plain_and_gzip() -> None:
    records: list[Mapping[str, Any]] = [{"a": 1, "text": "é\n"}, {"b": [1, 2], "c": None}]
    plain = JsonLinesFormat()
    compressed = JsonLinesFormat(gzip=True)

    assert plain.extension == ".jsonl"
    assert compressed.extension == ".jsonl.gz"
    assert plain.encode_records(records) == b'{"a":1,"text":"\xc3\xa9\\n"}\n{"b":[1,2],"c":null}\n'
    encoded = compressed.encode_records(records)
    assert encoded == compressed.encode_records(records)  # deterministic: no timestamp inside
    assert gzip.decompress(encoded) == plain.encode_records(records)
    assert JsonLinesFormat.decode_records(encoded) == records
    assert JsonLinesFormat.decode_records(plain.encode_records(records)) == records
    with pytest.raises(ValueError, match="line 1 is not valid JSON"):
        JsonLinesFormat.decode_records(b"{not json\n")
    with pytest.raises(TypeError, match="record 0 cannot be written as JSON"):
        plain.encode_records([{"x": object()}])


def test_gzip_dead_letters_are_read_back(memory_url: str) -> None:
    writer = ArchiveWriter(memory_url)
    writer.dead_letter_format = JsonLinesFormat(gzip=True)
    record = dead_letter(epoch_ms(2025, 2, 2), epoch_ms(2025, 2, 2) + 1)
    [path] = writer.write_dead_letters([record], name="gz")
    assert path.endswith("/dead_letter/year=2025/month=02/day=02/gz.jsonl.gz")
    assert writer.read_dead_letters() == [record]


# --- S3 through s3fs against a local moto server ------------------------------------------------


@pytest.fixture(scope="module")
def s3_storage_options() -> Iterator[dict[str, Any]]:
    """Storage options of a moto S3 server on 127.0.0.1, with bucket ``insight-archive``."""
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        pytest.skip(f"moto's S3 server is not installed ({error}); install moto[server]")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        server.start()
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket="insight-archive")
    except Exception as error:
        with contextlib.suppress(Exception):
            server.stop()
        pytest.skip(f"moto's S3 server could not start on 127.0.0.1:{port}: {error!r}")
    yield {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        # A fresh s3fs instance per writer, so no listing cache is shared between tests.
        "skip_instance_cache": True,
    }
    server.stop()


def test_s3_events_and_dead_letters(s3_storage_options: dict[str, Any]) -> None:
    writer = ArchiveWriter("s3://insight-archive/site-a/", storage_options=s3_storage_options)
    table = events_table([epoch_ms(2025, 10, 31, 23, 59), epoch_ms(2025, 11, 1, 0, 1)])

    written = writer.write_events(table, name="p0-0-1")
    assert writer.write_events(table, name="p0-0-1") == written  # replay: same keys

    assert written == [
        "s3://insight-archive/site-a/events/year=2025/month=10/day=31/p0-0-1.parquet",
        "s3://insight-archive/site-a/events/year=2025/month=11/day=01/p0-0-1.parquet",
    ]
    assert writer.destination.list("events") == [
        "events/year=2025/month=10/day=31/p0-0-1.parquet",
        "events/year=2025/month=11/day=01/p0-0-1.parquet",
    ]
    assert writer.destination.exists("events/year=2025/month=10/day=31/p0-0-1.parquet")
    assert row_multiset(writer.read_events()) == row_multiset(table)
    assert writer.read_events(date(2025, 11, 1)).num_rows == 1

    record = dead_letter(epoch_ms(2025, 11, 1), epoch_ms(2025, 11, 1) + 7, site_id="site-a")
    [dead_letter_path] = writer.write_dead_letters([record], name="p0-0-1")
    assert dead_letter_path == (
        "s3://insight-archive/site-a/dead_letter/year=2025/month=11/day=01/p0-0-1.jsonl"
    )
    assert writer.read_dead_letters() == [record]

    # A fresh writer (another process, say) reads the same archive.
    other = ArchiveWriter("s3://insight-archive/site-a", storage_options=s3_storage_options)
    other.destination.write_bytes("events-old/stray.parquet", b"not listed under events")
    assert len(other.destination.list("events")) == 2
    assert other.read_events().num_rows == 2
    assert (
        ArchiveWriter("s3://insight-archive/site-b", storage_options=s3_storage_options)
        .read_events()
        .num_rows
        == 0
    )


def test_s3_missing_bucket_is_not_created(s3_storage_options: dict[str, Any]) -> None:
    writer = ArchiveWriter("s3://no-such-bucket/prefix", storage_options=s3_storage_options)
    with pytest.raises(FileNotFoundError):
        writer.write_events(events_table([epoch_ms(2025, 1, 1)]), name="x")
    assert (
        ArchiveWriter("s3://no-such-bucket", storage_options=s3_storage_options).destination.list()
        == []
    )


# --- property: any rows spread over days round-trip exactly -------------------------------------

_DAY_MS = 86_400_000
_START_MS = epoch_ms(2025, 12, 29)

rows_strategy = st.lists(
    st.tuples(
        # Over six days around a month and year boundary, biased towards midnights.
        st.one_of(
            st.integers(min_value=_START_MS, max_value=_START_MS + 6 * _DAY_MS),
            st.sampled_from(
                [_START_MS + day * _DAY_MS + delta for day in range(6) for delta in (-1, 0, 1)]
            ),
        ),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.one_of(st.none(), st.text(max_size=20)),
    ),
    max_size=60,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy)
def test_rows_spread_over_days_round_trip(rows: list[tuple[int, int, str | None]]) -> None:
    url = f"memory://property-{uuid.uuid4().hex}"
    writer = ArchiveWriter(url)
    table = pa.table(
        {
            "timestamp": pa.array([row[0] for row in rows], TIMESTAMP_TYPE),
            "value": pa.array([row[1] for row in rows], pa.int64()),
            "label": pa.array([row[2] for row in rows], pa.string()),
        }
    )
    try:
        written = writer.write_events(table, name="prop")
        read_back = writer.read_events()

        distinct_days = {row[0] // _DAY_MS for row in rows}
        assert len(written) == len(distinct_days)
        if rows:
            assert read_back.schema == table.schema
        assert row_multiset(read_back) == row_multiset(table)
        for path in writer.destination.list("events"):
            day_table = ParquetFormat().decode_table(writer.destination.read_bytes(path))
            days = {value.date() for value in day_table.column("timestamp").to_pylist()}
            assert [day_partition_of(path)] == sorted(days)
    finally:
        with contextlib.suppress(FileNotFoundError):
            writer.destination.filesystem.rm(writer.destination.root, recursive=True)


def day_partition_of(path: str) -> date:
    parts = dict(segment.split("=") for segment in path.split("/") if "=" in segment)
    return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
