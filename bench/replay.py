"""Benchmark: recording chunks/s and MB/s through the replay step on one core, and the
bytes stored per minute of recording.

    python bench/replay.py [--events 200000] [--seed 1]

Generates traffic and the recordings of 30 % of its sessions (not timed), writes the
chunks to a JSON-lines file, then runs in one process pinned to one CPU:

- stages: validate, mask and summarise every chunk in memory (the pure operators);
- full:   `insightlite run --replay-input file:...` with no events: the replay step
          with its outputs (blobs in a local archive, chunk rows into embedded
          ClickHouse, dead letters);
- floor:  the same file decoded and each chunk gzipped and written as a blob, with
          no validation, masking or summaries: what reading and storing alone cost.

Prints chunks/s, MB/s of chunk JSON, the ratio of full to floor, peak RSS, and the
bytes stored per minute of recording (blob bytes over the recordings' durations).
The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW_MS = int(time.time()) // 3600 * 3_600_000


def pin_to_one_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_chunks(events: int, seed: int) -> list[bytes]:
    from devtools.generator import generate_records
    from devtools.generator.replay import generate_replay_records

    records = generate_records(events, seed=seed, now_ms=NOW_MS)
    return generate_replay_records(records, seed=seed, share=0.3, malformed_share=0.0)


def run_stages(chunks: list[bytes]) -> dict[str, Any]:
    from flows.replay import build_replay_steps
    from foundation.settings import load_settings
    from operators.model import RawBatch

    steps = build_replay_steps(load_settings())
    batch_size = 200
    stored = 0
    started = time.perf_counter()
    for start in range(0, len(chunks), batch_size):
        raw = RawBatch("bench-0", start, chunks[start : start + batch_size])
        stored += len(steps.stats(steps.mask(steps.validate(raw))).stored)
    return {"seconds": time.perf_counter() - started, "stored": stored}


def run_full(chunk_file: Path, work: Path) -> dict[str, Any]:
    from foundation.settings import load_settings
    from insightlite.runner import InputSpec, run_pipeline

    events_file = work / "no-events.jsonl"
    events_file.write_bytes(b"")
    settings = load_settings(data_dir=str(work / "full"), log_level="WARNING")
    started = time.perf_counter()
    summary = run_pipeline(
        settings, InputSpec("file", path=str(events_file), replay_file=str(chunk_file))
    )
    return {"seconds": time.perf_counter() - started, "stored": summary["replay"]["stored"]}


def run_floor(chunks: list[bytes], work: Path) -> dict[str, Any]:
    from connectors.archive.replays import ReplayBlobStore

    store = ReplayBlobStore(str(work / "floor"))
    started = time.perf_counter()
    for index, record in enumerate(chunks):
        chunk = orjson.loads(record)
        body = orjson.dumps({"chunk_id": chunk["chunk_id"], "events": chunk["events"]})
        store.write(f"replays/floor/{index:08d}.json.gz", gzip.compress(body, 6, mtime=0))
    return {"seconds": time.perf_counter() - started, "stored": len(chunks)}


def stored_per_minute(work: Path) -> dict[str, float]:
    """Blob bytes per minute of recording, over every stored recording."""
    from connectors.archive.replays import ReplayBlobStore
    from connectors.crypto import archive_cipher
    from foundation.settings import load_settings
    from operators.replay_blobs import decode_blob

    settings = load_settings(data_dir=str(work / "full"), log_level="WARNING")
    store = ReplayBlobStore(
        str(work / "full" / "archive"), cipher=archive_cipher(settings, actor="bench")
    )
    total_bytes = 0
    total_ms = 0
    for _site, _session, names in store.sessions():
        stamps: list[int] = []
        for name in names:
            blob = store.read(name)
            total_bytes += len(blob)
            stamps += [event["timestamp"] for event in decode_blob(blob)["events"]]
        total_ms += max(stamps) - min(stamps)
    minutes = max(total_ms / 60_000, 1e-9)
    return {"bytes_per_minute": round(total_bytes / minutes), "recorded_minutes": round(minutes, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pin_to_one_cpu()
    chunks = make_chunks(args.events, args.seed)
    megabytes = sum(len(chunk) for chunk in chunks) / 1e6
    with tempfile.TemporaryDirectory(prefix="insightlite-bench-replay-") as directory:
        work = Path(directory)
        chunk_file = work / "chunks.jsonl"
        chunk_file.write_bytes(b"\n".join(chunks) + b"\n")
        figures: dict[str, Any] = {"chunks": len(chunks), "megabytes": round(megabytes, 2)}
        for mode, run in (
            ("stages", lambda: run_stages(chunks)),
            ("full", lambda: run_full(chunk_file, work)),
            ("floor", lambda: run_floor(chunks, work)),
        ):
            result = run()
            seconds = result["seconds"]
            figures[mode] = {
                "stored": result["stored"],
                "chunks_per_second": round(len(chunks) / seconds),
                "mb_per_second": round(megabytes / seconds, 2),
            }
            print(
                f"{mode:7s} {figures[mode]['chunks_per_second']:>8,} chunks/s  "
                f"{figures[mode]['mb_per_second']:>7.2f} MB/s  ({result['stored']:,} stored)"
            )
        figures["full_to_floor"] = round(
            figures["full"]["chunks_per_second"] / figures["floor"]["chunks_per_second"], 2
        )
        figures["peak_rss_mib"] = round(peak_rss_mib())
        figures.update(stored_per_minute(work))
    print(
        f"full/floor {figures['full_to_floor']}  peak RSS {figures['peak_rss_mib']} MiB  "
        f"{figures['bytes_per_minute']:,} bytes stored per minute of recording"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
