"""Benchmark: rows/s of ClickHouseClient.insert_arrow into the migrated ``events`` table.

    python bench/clickhouse_insert.py [--batches 10] [--rows 100000] [--url chdb:DIR]

Without --url the embedded engine (chdb) runs over a fresh temporary directory. Batches
are generated before timing (UUIDs as text, millisecond UTC timestamps, hashes above
2**63, low-cardinality strings), one warm-up batch is inserted untimed, then each batch
is inserted with its own dedup token. Prints rows/s per batch, the median and overall.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def events_batch(rows: int, generator: np.random.Generator) -> pa.Table:
    from connectors.clickhouse.base import uuid_array_to_strings

    def uuids() -> pa.Array:
        raw = generator.bytes(16 * rows)
        return uuid_array_to_strings(
            pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), rows, [None, pa.py_buffer(raw)])
        )

    def pick(*choices: str) -> pa.Array:
        return pa.array(generator.choice(choices, rows))

    now_ms = int(time.time() * 1000)
    timestamps = now_ms - generator.integers(0, 86_400_000, rows)
    return pa.table(
        {
            "event_id": uuids(),
            "session_id": uuids(),
            "site_id": pick("example.org", "shop.example", "docs.example"),
            "timestamp": pa.array(timestamps, pa.timestamp("ms", tz="UTC")),
            "event_type": pick("pageview", "click", "scroll", "error"),
            "event_data": pa.array(['{"target":"button#buy"}'] * rows),
            "url_path": pick("/", "/pricing", "/docs/start", "/blog/post"),
            "referrer": pick("", "https://search.example/"),
            "device_type": pick("desktop", "mobile", "tablet"),
            "viewport_width": pa.array(generator.integers(320, 3840, rows), pa.uint16()),
            "viewport_height": pa.array(generator.integers(480, 2160, rows), pa.uint16()),
            "user_agent_hash": pa.array(
                generator.integers(0, 2**64 - 1, rows, dtype=np.uint64, endpoint=True), pa.uint64()
            ),
            "ip_hash": pa.array(
                generator.integers(0, 2**64 - 1, rows, dtype=np.uint64, endpoint=True), pa.uint64()
            ),
            "country_code": pick("DE", "US", "FR", "JP"),
            "error_class": pick("", "", "", "TypeError"),
            "received_at": pa.array(timestamps + 150, pa.timestamp("ms", tz="UTC")),
        }
    )


def main() -> int:
    from connectors.clickhouse import apply_migrations, connect

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per batch")
    parser.add_argument("--url", help="chdb:DIR or clickhouse://...; default a temporary chdb")
    parser.add_argument("--database", default="insightlite_bench")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="insightlite-bench-") as scratch:
        url = args.url or f"chdb:{Path(scratch) / 'clickhouse'}"
        client = connect(url, database=args.database)
        try:
            apply_migrations(client)
            generator = np.random.default_rng(1)
            batches = [events_batch(args.rows, generator) for _ in range(args.batches + 1)]
            client.insert_arrow("events", batches[0], dedup_token="bench-warm-up")
            rates: list[float] = []
            started = time.perf_counter()
            for index, batch in enumerate(batches[1:]):
                batch_started = time.perf_counter()
                client.insert_arrow("events", batch, dedup_token=f"bench-{time.time_ns()}-{index}")
                rates.append(batch.num_rows / (time.perf_counter() - batch_started))
            elapsed = time.perf_counter() - started
            stored = client.query(f"SELECT count() FROM {client.database}.events").rows[0][0]
        finally:
            client.close()

    total = args.rows * args.batches
    print(f"engine: {client.describe()}")
    print(f"batches: {args.batches} x {args.rows} rows into {args.database}.events")
    print("rows/s per batch: " + ", ".join(f"{rate:,.0f}" for rate in rates))
    print(f"median: {statistics.median(rates):,.0f} rows/s")
    print(f"overall: {total / elapsed:,.0f} rows/s ({total} rows in {elapsed:.2f} s)")
    print(f"rows stored: {stored} (including {args.rows} warm-up rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
