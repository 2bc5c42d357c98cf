"""Parquet write throughput of the archive: rows/s for an events-like table, zstd vs gzip.

Run: python bench/archive_write.py [--rows N] [--repeat N]

"encode" is ParquetFormat.encode_table alone; "write" is ArchiveWriter.write_events to a
temporary local directory (day split, encode, atomic write with fsync). Best of --repeat.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa

from connectors.archive import ArchiveWriter, ParquetFormat

DAY_MS = 86_400_000
START_MS = 1_764_028_800_000  # 2025-11-25T00:00:00Z
PAGES = [f"https://shop.example.com/catalog/item-{index}?ref=nav" for index in range(500)]
REFERRERS = [None, "https://www.search.example/", "https://news.example.org/story/42"]
TYPES = ["pageview", "click", "move", "scroll", "error", "custom"]
COUNTRIES = ["NL", "DE", "US", "FR", "GB", "BR", "IN", None]


def events_like_table(rows: int) -> pa.Table:
    """15 columns shaped like anonymized events, spread over two UTC days."""
    index = pa.array(range(rows), pa.int64())
    numbers = index.to_pylist()
    timestamps = [START_MS + (number * 1_727) % (2 * DAY_MS) for number in numbers]
    return pa.table(
        {
            "event_id": [f"{number:08x}-1f2e-4d3c-8b4a-{number * 7919:012x}" for number in numbers],
            "site_id": [f"site-{number % 20}" for number in numbers],
            "session_hash": [f"{(number // 12) * 2654435761 % 2**64:016x}" for number in numbers],
            "type": [TYPES[number % 6] for number in numbers],
            "timestamp": pa.array(timestamps, pa.timestamp("ms", tz="UTC")),
            "received_at": pa.array(
                [value + 150 + number % 900 for number, value in enumerate(timestamps)],
                pa.timestamp("ms", tz="UTC"),
            ),
            "url": [PAGES[(number * 31) % len(PAGES)] for number in numbers],
            "referrer": [REFERRERS[number % 3] for number in numbers],
            "x": pa.array([float(number % 1920) for number in numbers], pa.float64()),
            "y": pa.array([float((number * 13) % 4000) for number in numbers], pa.float64()),
            "vw": pa.array([1280 + number % 3 * 320 for number in numbers], pa.int32()),
            "vh": pa.array([720 + number % 2 * 180 for number in numbers], pa.int32()),
            "country": [COUNTRIES[number % 8] for number in numbers],
            "device": [("desktop", "mobile", "tablet")[number % 3] for number in numbers],
            "is_bot": pa.array([number % 97 == 0 for number in numbers], pa.bool_()),
        }
    )


def best_seconds(action: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    table = events_like_table(arguments.rows)
    print(
        f"table: {table.num_rows:,} rows x {table.num_columns} columns, "
        f"{table.nbytes / 2**20:.1f} MiB in Arrow; pyarrow {pa.__version__}"
    )
    for compression in ("zstd", "gzip"):
        parquet = ParquetFormat(compression)
        size = len(parquet.encode_table(table))
        encode = best_seconds(partial(parquet.encode_table, table), arguments.repeat)
        with tempfile.TemporaryDirectory() as directory:
            writer = ArchiveWriter(directory, compression=compression)
            write = best_seconds(
                partial(writer.write_events, table, name="bench"), arguments.repeat
            )
        print(
            f"{compression:>4}: encode {table.num_rows / encode:>12,.0f} rows/s "
            f"({encode * 1000:6.1f} ms) | write_events {table.num_rows / write:>12,.0f} rows/s "
            f"({write * 1000:6.1f} ms) | file {size / 2**20:.2f} MiB"
        )


if __name__ == "__main__":
    main()
