"""Collector throughput and latency on loopback, with a real Kafka broker behind it.

Run: python bench/collector.py [--duration 20] [--rate 2000] [--workers 1]
                               [--concurrency 32] [--bootstrap-servers HOST:PORT] [--json]

Starts a local Kafka broker (unless --bootstrap-servers is given) and the collector
(uvicorn, --workers processes) on 127.0.0.1, then drives it with the load source of
`insightlite generate --to-collector` in two phases of --duration/2 seconds each:

  steady      --rate events/s: latency at a given load
  saturated   as fast as --concurrency requests in flight allow: the ceiling

Each request waits for Kafka's acknowledgement of its records (acks=all), so latency
includes the broker's. At the end the records on raw_events are counted: every
accepted event must be there. Everything (broker, collector, client) shares this
machine's cores, so the figures are a floor for a dedicated collector host.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, TopicPartition

from connectors.kafka.topics import RAW_EVENTS, create_topics, topic_name
from devtools.generator import generate_records
from devtools.load import (
    CollectorLoadSummary,
    Unsendable,
    collector_batches,
    post_to_collector,
    run_loop,
)
from devtools.local_kafka import LocalKafka, free_port
from foundation.settings import Settings, load_settings

SATURATED_RATE = 1e9  # no pacing: the in-flight limit is the only brake


def start_collector(settings: Settings, port: int, workers: int, log_path: Path) -> Any:
    env = {
        **os.environ,
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "INSIGHTLITE_COLLECTOR_HOST": "127.0.0.1",
        "INSIGHTLITE_COLLECTOR_PORT": str(port),
        "INSIGHTLITE_COLLECTOR_WORKERS": str(workers),
        # One client IP and one site send everything: lift the per-IP and per-site
        # limits, which would otherwise be what the benchmark measures.
        "INSIGHTLITE_COLLECTOR_IP_RATE": "10000000",
        "INSIGHTLITE_COLLECTOR_IP_BURST": "10000000",
        "INSIGHTLITE_COLLECTOR_SITE_RATE": "10000000",
        "INSIGHTLITE_COLLECTOR_SITE_BURST": "10000000",
        "INSIGHTLITE_LOG_LEVEL": "WARNING",
    }
    code = (
        "from insightlite.cli.collector import run_collector\n"
        "from foundation.settings import load_settings\n"
        "run_collector(load_settings())\n"
    )
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_ready(base_url: str, process: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the collector exited (code {process.returncode})")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the collector did not become ready")


def count_records(settings: Settings) -> int:
    topic = topic_name(settings, RAW_EVENTS)
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "bench-count"}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        total = 0
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
            total += high - low
        return total
    finally:
        consumer.close()


def run_phase(
    batches: Iterator[Any], url: str, rate: float, duration: float, concurrency: int
) -> CollectorLoadSummary:
    summary: CollectorLoadSummary = run_loop(
        post_to_collector(
            batches,
            url=url,
            rate=rate,
            duration_s=duration,
            concurrency=concurrency,
            forwarded_for=True,
        )
    )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds, both phases")
    parser.add_argument("--rate", type=float, default=2000.0, help="steady phase, events/s")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=20, help="events per request at most")
    parser.add_argument("--bootstrap-servers", help="use this broker instead of a local one")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    broker: LocalKafka | None = None
    collector: Any = None
    log_dir = Path(tempfile.mkdtemp(prefix="insightlite-bench-collector-"))
    try:
        if args.bootstrap_servers:
            bootstrap = args.bootstrap_servers
        else:
            print("starting a local Kafka broker ...", file=sys.stderr)
            broker = LocalKafka()
            broker.start()
            bootstrap = broker.bootstrap_servers
        settings = load_settings(
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
            kafka_partitions=6,
        )
        create_topics(settings)
        port = free_port()
        collector = start_collector(settings, port, args.workers, log_dir / "collector.log")
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(base_url, collector)

        unsendable = Unsendable()
        # Lazily generated: only what the phases consume is ever made.
        records = generate_records(5_000_000, seed=11, now_ms=time.time_ns() // 1_000_000)
        batches = collector_batches(records, args.batch, unsendable)
        url = f"{base_url}/ingest"
        phase_s = args.duration / 2
        print(f"steady phase: {args.rate:,.0f} events/s for {phase_s:g} s ...", file=sys.stderr)
        steady = run_phase(batches, url, args.rate, phase_s, args.concurrency)
        print(
            f"saturated phase: {args.concurrency} in flight for {phase_s:g} s ...", file=sys.stderr
        )
        saturated = run_phase(batches, url, SATURATED_RATE, phase_s, args.concurrency)

        accepted = steady.events_accepted + saturated.events_accepted
        on_topic = count_records(settings)
        figures = {
            "workers": args.workers,
            "concurrency": args.concurrency,
            "steady": steady.as_dict(),
            "saturated": saturated.as_dict(),
            "events_accepted": accepted,
            "records_on_raw_events": on_topic,
            "malformed_not_sent": unsendable.count,
            "cpu_cores": os.cpu_count(),
        }
        if args.json:
            print(orjson.dumps(figures).decode())
        else:
            for name, summary in (("steady", steady), ("saturated", saturated)):
                print(f"--- {name} ---")
                print(summary.report())
            print(f"records on raw_events: {on_topic:,} (accepted: {accepted:,})")
        return 0 if on_topic == accepted else 1
    finally:
        if collector is not None:
            collector.send_signal(signal.SIGINT)
            try:
                collector.wait(timeout=20)
            except subprocess.TimeoutExpired:
                collector.kill()
        if broker is not None:
            broker.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"collector log kept in {log_dir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
