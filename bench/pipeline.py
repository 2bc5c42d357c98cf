"""Benchmark: events/s of the full pipeline on one core, against the floor.

    python bench/pipeline.py [--events 500000] [--seed 1] [--runs 3]

Generates the raw records to a file first (not timed), then runs each mode
in its own process pinned to one CPU, so that peak memory is per mode:

- full:  the whole flow (validate, bot filter, enrich, anonymize, sessions,
         deduplication, heatmap grids) from the file into embedded ClickHouse
         (chdb: events, sessions, heatmap_aggregates), the Parquet archive and
         the dead-letter output;
- floor: the same source, decode each record and insert it into ClickHouse,
         with no processing: what reading and writing alone cost.

Floor and full runs alternate (``--runs`` of each, 3 by default), so that a slower
spell of a shared machine hits both alike; the figures are the medians, the ratio
is that of the medians. Prints events/s, the ratio of full to floor, peak RSS of
each mode, and the session stage's state bytes per open session at 100,000 open
sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_DDL = """
CREATE TABLE IF NOT EXISTS {db}.raw_floor (
    event_id String, session_id String, site_id LowCardinality(String),
    type LowCardinality(String), ts Int64, url String, ip String, ua String,
    received_at Int64, body String
) ENGINE = MergeTree ORDER BY (site_id, ts)
"""


def pin_to_one_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_full(raw_file: Path, work: Path) -> dict[str, Any]:
    from devtools.demo_geoip import ensure_demo_mmdb
    from foundation.settings import load_settings
    from insightlite.runner import InputSpec, run_pipeline

    mmdb = ensure_demo_mmdb(work / "geoip.mmdb")
    settings = load_settings(
        data_dir=work / "full",
        geoip_db=str(mmdb),
        log_level="WARNING",
    )
    summary = run_pipeline(settings, InputSpec("file", path=str(raw_file)))
    return {
        "events": summary["events_in"],
        "seconds": summary["seconds"],
        "accepted": summary["accepted"],
        "rejected": summary["rejected_total"],
        "filtered": summary["filtered_total"],
    }


def run_floor(raw_file: Path, work: Path) -> dict[str, Any]:
    from bytewax import operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.testing import run_main

    from connectors.clickhouse import connect
    from connectors.flow_sinks import ClickHouseSink
    from connectors.sources import JsonLinesSource
    from flows.batcher import batch_rows
    from operators.batching import Chunk, Span
    from operators.model import RawBatch

    url = f"chdb:{work / 'floor' / 'clickhouse'}"
    client = connect(url, database="bench_floor")
    client.command("CREATE DATABASE IF NOT EXISTS bench_floor")
    client.command(FLOOR_DDL.format(db="bench_floor"))
    columns = ("event_id", "session_id", "site_id", "type", "ts", "url", "ip", "ua", "received_at")
    types = {"ts": pa.int64(), "received_at": pa.int64()}

    def decode(batch: RawBatch) -> Chunk:
        events = []
        for record in batch.records:
            try:
                event = orjson.loads(record)
            except orjson.JSONDecodeError:
                continue
            if type(event) is dict:
                event["body"] = record
                events.append(event)
        arrays = []
        for name in columns:
            kind = int if name in types else str
            values = [e.get(name) for e in events]
            arrays.append(
                pa.array(
                    [
                        v if type(v) is kind and (kind is str or -(2**63) <= v < 2**63) else None
                        for v in values
                    ],
                    type=types.get(name, pa.string()),
                )
            )
        arrays.append(pa.array([e["body"] for e in events], type=pa.binary()).cast(pa.string()))
        table = pa.Table.from_arrays(arrays, names=[*columns, "body"])
        return Chunk((Span(batch.source, batch.first_offset, batch.last_offset),), table)

    flow = Dataflow("floor")
    raw = op.input("input", flow, JsonLinesSource(raw_file))
    chunks = op.map("decode", raw, decode)
    batched = batch_rows("batch", chunks, lambda _: "raw", 10_000, timedelta(seconds=2))
    op.output("clickhouse", batched, ClickHouseSink(url, "bench_floor", table="raw_floor"))
    started = time.perf_counter()
    run_main(flow)
    seconds = time.perf_counter() - started
    rows = client.query("SELECT count() FROM bench_floor.raw_floor").rows[0][0]
    return {"events": sum(1 for _ in raw_file.open("rb")), "seconds": seconds, "rows": rows}


def measure_session_state(open_sessions: int = 100_000, events_each: int = 10) -> dict[str, Any]:
    """Bytes of shard state per open session (tracemalloc), none closing meanwhile."""
    import tracemalloc
    import uuid

    from operators.heatmap import GridConfig
    from operators.model import AnonymizedEvent
    from operators.sessionize import SessionConfig, SessionShard

    kinds = ["pageview", "move", "move", "click", "move", "scroll", "click", "move", "custom"]
    kinds = (kinds * (events_each // len(kinds) + 1))[:events_each]
    base = 1_764_000_000_000
    tracemalloc.start()
    shard = SessionShard(SessionConfig(allowed_lateness_ms=10**12), GridConfig())
    before = tracemalloc.get_traced_memory()[0]
    for first in range(0, open_sessions, 1000):
        batch = []
        for n in range(first, first + 1000):
            sid = str(uuid.UUID(int=n + 1))
            for step, kind in enumerate(kinds):
                batch.append(
                    AnonymizedEvent(
                        event_id=str(uuid.UUID(int=(n + 1) << 16 | step)),
                        session_id=sid,
                        site_id="shop.example.com",
                        timestamp=base + n * 10 + step * 2_000,
                        event_type=kind,
                        event_data="{}",
                        url_path="/products/shoes",
                        referrer="",
                        device_type="desktop",
                        viewport_width=1440,
                        viewport_height=900,
                        user_agent_hash=1,
                        ip_hash=2,
                        country_code="GB",
                        error_class="",
                        received_at=base,
                        x=100 + step,
                        y=300 + step,
                        scroll_y=400,
                        fixed=False,
                        offset=n,
                    )
                )
        shard.process(batch)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert shard.open_sessions == open_sessions
    return {
        "open_sessions": open_sessions,
        "events_per_session": events_each,
        "state_bytes_per_session": round((after - before) / open_sessions),
    }


def child(mode: str, raw_file: Path, work: Path, state_sessions: int = 100_000) -> None:
    pin_to_one_cpu()
    if mode == "state":
        print("RESULT " + json.dumps(measure_session_state(state_sessions)))
        return
    result = run_full(raw_file, work) if mode == "full" else run_floor(raw_file, work)
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    result["events_per_second"] = round(result["events"] / result["seconds"])
    print("RESULT " + json.dumps(result))


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median events/s (its own figures, peak RSS the largest of all)."""
    ordered = sorted(runs, key=lambda run: run["events_per_second"])
    median = dict(ordered[len(ordered) // 2])
    median["peak_rss_mib"] = max(run["peak_rss_mib"] for run in runs)
    median["runs_events_per_second"] = [run["events_per_second"] for run in runs]
    return median


def run_child(
    mode: str, raw_file: Path, work: Path, state_sessions: int = 100_000
) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--raw",
            str(raw_file),
            "--work",
            str(work),
            "--state-sessions",
            str(state_sessions),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", choices=("full", "floor", "state"))
    parser.add_argument("--raw", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--state-sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode (medians)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.raw, args.work, args.state_sessions)
        return

    from devtools.generator import generate_records, write_jsonl

    with tempfile.TemporaryDirectory(prefix="insightlite-bench-") as tmp:
        work = Path(tmp)
        raw_file = work / "raw.jsonl"
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        started = time.perf_counter()
        count = write_jsonl(raw_file, generate_records(args.events, seed=args.seed, now_ms=now_ms))
        print(
            f"generated {count:,} raw records in {time.perf_counter() - started:.1f}s "
            f"({raw_file.stat().st_size / 2**20:.0f} MiB)"
        )
        floors: list[dict[str, Any]] = []
        fulls: list[dict[str, Any]] = []
        for run in range(max(1, args.runs)):
            floors.append(run_child("floor", raw_file, work / f"floor-{run}"))
            fulls.append(run_child("full", raw_file, work / f"full-{run}"))
            for used in (work / f"floor-{run}", work / f"full-{run}"):
                shutil.rmtree(used, ignore_errors=True)
            print(
                f"run {run + 1}: floor {floors[-1]['events_per_second']:,} events/s, "
                f"full {fulls[-1]['events_per_second']:,} events/s"
            )
        floor = median_run(floors)
        full = median_run(fulls)
        state = run_child("state", raw_file, work, args.state_sessions)
    ratio = full["events_per_second"] / floor["events_per_second"]
    print(
        f"floor (decode + insert): {floor['events_per_second']:>9,} events/s   "
        f"peak RSS {floor['peak_rss_mib']:,.0f} MiB   ({floor['seconds']:.2f}s)"
    )
    print(
        f"full pipeline:           {full['events_per_second']:>9,} events/s   "
        f"peak RSS {full['peak_rss_mib']:,.0f} MiB   ({full['seconds']:.2f}s)"
    )
    print(
        f"full / floor: {ratio:.2f}   accepted {full['accepted']:,}  rejected "
        f"{full['rejected']:,}  filtered {full['filtered']:,}  (one core each)"
    )
    print(
        f"session state: {state['state_bytes_per_session']:,} bytes per open session "
        f"({state['open_sessions']:,} open sessions of {state['events_per_session']} events)"
    )
    print(json.dumps({"floor": floor, "full": full, "ratio": round(ratio, 3), "state": state}))


if __name__ == "__main__":
    main()
