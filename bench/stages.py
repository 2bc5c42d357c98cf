"""Benchmark: the stateless stages, per-row reference against the columnar path.

    python bench/stages.py [--events 200000] [--batch 5000] [--collector]

Generates raw records (not timed), then runs validate, bot filter, enrich and
anonymize over the same batches with each implementation in turn, pinned to one
CPU, and prints events/s and the microseconds per event of each stage. With
``--collector`` the records carry the collector's ``visitor`` fields instead of
``ip``/``ua`` (the Kafka path); without it they are a generated file's. Both
implementations must give the same rows (checked after the timing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW_MS = 1_764_072_000_000
KEY = bytes(range(32))


def collector_record(record: bytes) -> bytes:
    """A generated record as the collector would have written it: visitor fields."""
    try:
        event = orjson.loads(record)
    except orjson.JSONDecodeError:
        return record
    if type(event) is not dict or "ip" not in event or "ua" not in event:
        return record
    ip, ua = str(event.pop("ip")), str(event.pop("ua"))
    event["visitor"] = {
        "ip_hash": int.from_bytes(ip.encode()[:8].ljust(8, b"\0"), "little"),
        "country": "",
        "ua_hash": len(ua),
        "device": "mobile" if "Mobile" in ua else "desktop",
        "bot": "known_bot" if "bot" in ua.lower() else None,
    }
    return orjson.dumps(event)


def stages(columnar: bool) -> list[Callable[[Any], Any]]:
    from foundation.settings import DEFAULT_BOT_PATTERNS
    from operators.anonymize import Anonymizer
    from operators.bot_filter import BotFilter
    from operators.columnar.anonymize import ColumnarAnonymizer
    from operators.columnar.decode import ColumnarDecoder
    from operators.columnar.visitors import ColumnarBotFilter, ColumnarEnricher
    from operators.enrich import Enricher
    from operators.user_agent import UserAgentClassifier
    from operators.validate import EventValidator, ValidationConfig
    from operators.visitor import VisitorDeriver, VisitorResolver

    config = ValidationConfig(max_age_ms=10**13)
    resolver = VisitorResolver(
        VisitorDeriver(UserAgentClassifier(DEFAULT_BOT_PATTERNS), None),
        lambda days: dict.fromkeys(days, KEY),
    )
    if columnar:
        return [
            ColumnarDecoder(config).apply,
            ColumnarBotFilter(resolver).apply,
            ColumnarEnricher().apply,
            ColumnarAnonymizer().apply,
        ]
    return [
        EventValidator(config).apply,
        BotFilter(resolver).apply,
        Enricher().apply,
        Anonymizer().apply,
    ]


def run(records: list[bytes], batch: int, columnar: bool) -> tuple[list[float], list[Any]]:
    from operators.model import RawBatch

    steps = stages(columnar)
    seconds = [0.0] * len(steps)
    outputs = []
    for start in range(0, len(records), batch):
        value: Any = RawBatch("bench", start, records[start : start + batch])
        for index, step in enumerate(steps):
            began = time.perf_counter()
            value = step(value)
            seconds[index] += time.perf_counter() - began
        outputs.append(value)
    return seconds, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--collector", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from devtools.generator import generate_records
    from operators.columns import anonymized_table

    records = list(generate_records(args.events, seed=args.seed, now_ms=NOW_MS))
    if args.collector:
        records = [collector_record(record) for record in records]
    names = ("validate", "bot_filter", "enrich", "anonymize")
    figures: dict[str, Any] = {}
    results = {}
    for label, columnar in (("per_row", False), ("columnar", True)):
        run(records[: args.batch], args.batch, columnar)  # warm caches and imports
        seconds, results[label] = run(records, args.batch, columnar)
        total = sum(seconds)
        figures[label] = {
            "events_per_second": round(len(records) / total),
            "us_per_event": {
                name: round(s / len(records) * 1e6, 2)
                for name, s in zip(names, seconds, strict=True)
            },
        }
        stage_text = ", ".join(f"{n} {v}" for n, v in figures[label]["us_per_event"].items())
        print(f"{label:>9}: {figures[label]['events_per_second']:>9,} events/s  ({stage_text} µs)")
    same = all(
        anonymized_table(reference.events).equals(columns.table)
        for reference, columns in zip(results["per_row"], results["columnar"], strict=True)
    )
    ratio = figures["columnar"]["events_per_second"] / figures["per_row"]["events_per_second"]
    print(f"columnar / per-row: {ratio:.2f}   same rows: {same}")
    figures["ratio"] = round(ratio, 2)
    figures["same_rows"] = same
    print(json.dumps(figures))
    if not same:
        raise SystemExit("the two implementations gave different rows")


if __name__ == "__main__":
    main()
