"""Benchmark: the flow on a real Kafka broker into ClickHouse.

    python bench/kafka_throughput.py [--events 200000] [--rate 20000] [--seconds 30]

1. Throughput: the raw records are produced to `raw_events` first (not timed),
   then `insightlite run --input kafka --stop-at-end` reads them into embedded
   ClickHouse with 1 and with 2 worker processes; events/s of each run.
2. End-to-end latency at a steady load: records are produced at `--rate`
   events/s for `--seconds` with `received_at` set as the collector sets it,
   while the flow tails the topic; the ClickHouse sink measures, per insert,
   how long after `received_at` the rows became queryable. p50 and p99.

Everything runs on this machine (2 cores: the broker, the producer and the
workers share them). The collector's own requests/s and p99 are measured by
bench/collector.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.kafka.topics import create_topics  # noqa: E402
from devtools.generator import generate_records  # noqa: E402
from devtools.load import produce_to_kafka  # noqa: E402
from devtools.local_kafka import LocalKafka  # noqa: E402
from flows.cluster import free_ports  # noqa: E402
from foundation.settings import load_settings  # noqa: E402

SECRET = "bench-secret-0123456789abcdef"


def insightlite(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "insightlite.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def throughput(env: dict[str, str], work: Path, processes: int) -> dict[str, Any]:
    data_dir = work / f"throughput-{processes}"
    proc = insightlite(
        [
            "run",
            "--input",
            "kafka",
            "--stop-at-end",
            "-p",
            str(processes),
            "--json",
            "--data-dir",
            str(data_dir),
        ],
        env,
    )
    out, err = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(err[-2000:])
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return {
        "processes": processes,
        "events": summary["events_in"],
        "seconds": summary["seconds"],
        "events_per_second": summary["events_per_second"],
    }


def histogram_buckets(text: str, name: str) -> dict[float, float]:
    """A Prometheus histogram's cumulative bucket counts, by upper bound."""
    buckets: dict[float, float] = {}
    for le, value in re.findall(rf'^{name}_bucket\{{le="([^"]+)"\}} ([0-9.e+]+)$', text, re.M):
        buckets[float("inf") if le == "+Inf" else float(le)] = float(value)
    return buckets


def histogram_quantile(buckets: dict[float, float], q: float) -> float | None:
    """A quantile from cumulative buckets (their upper bound)."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] == 0:
        return None
    total = ordered[-1][1]
    for bound, count in ordered:
        if count >= q * total:
            return bound
    return None


def latency(
    env: dict[str, str], work: Path, settings: Any, rate: int, seconds: int, processes: int
) -> dict[str, Any]:
    (port,) = free_ports(1)
    flow_env = {
        **env,
        "INSIGHTLITE_METRICS_PORT": str(port),
        "INSIGHTLITE_METRICS_HOST": "127.0.0.1",
        "INSIGHTLITE_KAFKA_STARTING_OFFSET": "latest",
    }
    proc = insightlite(
        ["run", "--input", "kafka", "-p", str(processes), "--data-dir", str(work / "latency")],
        flow_env,
    )
    time.sleep(8)  # let the workers start and reach the end of the topic
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    records = generate_records(rate * seconds, seed=5, now_ms=now_ms)
    produced = produce_to_kafka(records, settings, rate=rate, duration_s=seconds)
    time.sleep(6)  # drain
    name = "insightlite_end_to_end_seconds"
    # Worker process i serves its metrics on port + i; their histograms add up.
    buckets: Counter[float] = Counter()
    for offset in range(processes):
        url = f"http://127.0.0.1:{port + offset}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        buckets.update(histogram_buckets(text, name))
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    return {
        "rate": rate,
        "processes": processes,
        "produced_per_second": round(produced.acknowledged / max(produced.elapsed_s, 1e-9)),
        "samples": int(buckets[float("inf")]),
        "p50_seconds_at_most": histogram_quantile(buckets, 0.50),
        "p99_seconds_at_most": histogram_quantile(buckets, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--latency-processes", type=int, default=1, help="worker processes for the latency run"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="insightlite-kafka-bench-") as tmp,
        LocalKafka() as kafka,
    ):
        work = Path(tmp)
        env = {
            "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "INSIGHTLITE_LOG_LEVEL": "WARNING",
        }
        settings = load_settings(
            kafka_bootstrap_servers=kafka.bootstrap_servers, kafka_partitions=args.partitions
        )
        create_topics(settings)
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        produce_to_kafka(generate_records(args.events, seed=1, now_ms=now_ms), settings)
        results = [throughput(env, work, 1), throughput(env, work, 2)]
        for row in results:
            print(
                f"{row['processes']} worker process(es): {row['events_per_second']:>8,} events/s "
                f"({row['events']:,} events in {row['seconds']:.1f}s, broker to ClickHouse)"
            )
        steady = latency(env, work, settings, args.rate, args.seconds, args.latency_processes)
        print(
            f"end to end at {steady['rate']:,} events/s offered, "
            f"{args.latency_processes} worker process(es) "
            f"({steady['produced_per_second']:,}/s produced): "
            f"p50 <= {steady['p50_seconds_at_most']} s, "
            f"p99 <= {steady['p99_seconds_at_most']} s ({steady['samples']:,} samples)"
        )
        print(json.dumps({"throughput": results, "latency": steady}))


if __name__ == "__main__":
    main()
