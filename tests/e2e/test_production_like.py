"""A production-like run on loopback: the image's entrypoints as separate processes.

The collector, two flow workers of one cluster (`-i`/`-a`, as the StatefulSet
runs them) and the query API, configured only through the same
`INSIGHTLITE_*` variables the Kubernetes manifests set, against a real local
Kafka broker. With the embedded engine the API reads the data once the
workers have finished (one process at a time may open it); with a ClickHouse
server all of them run together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from devtools.local_kafka import LocalKafka
from flows.cluster import free_ports
from tests.e2e.cli import ROOT, start_insightlite, wait_ready


def _cli(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "insightlite.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_collector_two_workers_and_api_as_separate_processes(tmp_path: Path) -> None:
    collector_port, api_port, peer_a, peer_b = free_ports(4)
    with LocalKafka() as kafka:
        env = {
            **os.environ,
            "INSIGHTLITE_DATA_DIR": str(tmp_path / "data"),
            "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "INSIGHTLITE_KAFKA_PARTITIONS": "4",
            "INSIGHTLITE_COLLECTOR_HOST": "127.0.0.1",
            "INSIGHTLITE_COLLECTOR_PORT": str(collector_port),
            # Every simulated browser posts from 127.0.0.1 here: lift the per-IP limit.
            "INSIGHTLITE_COLLECTOR_IP_RATE": "100000",
            "INSIGHTLITE_COLLECTOR_IP_BURST": "100000",
            "INSIGHTLITE_API_HOST": "127.0.0.1",
            "INSIGHTLITE_API_PORT": str(api_port),
            "INSIGHTLITE_JWT_ALGORITHMS": "HS256",
            "INSIGHTLITE_JWT_SECRET": "production-like-jwt-secret-0123456789abcdef",
            "INSIGHTLITE_LOG_FORMAT": "json",
        }
        _cli(["kafka", "init"], env)
        collector_log = tmp_path / "collector.log"
        collector = start_insightlite(["collector"], env, collector_log)
        try:
            wait_ready(f"http://127.0.0.1:{collector_port}/ready", collector, collector_log)
            sent = _cli(
                [
                    "generate",
                    "--events",
                    "6000",
                    "--seed",
                    "3",
                    "--rate",
                    "3000",
                    "--to-collector",
                    f"http://127.0.0.1:{collector_port}/ingest",
                ],
                env,
            )
            assert "accepted" in sent
        finally:
            collector.terminate()
            collector.wait(timeout=30)

        addresses = f"127.0.0.1:{peer_a};127.0.0.1:{peer_b}"
        workers = []
        for index in (0, 1):
            log = tmp_path / f"worker-{index}.log"
            args = [
                "run",
                "--input",
                "kafka",
                "--stop-at-end",
                "--json",
                "-i",
                str(index),
                "-a",
                addresses,
            ]
            workers.append((start_insightlite(args, env, log), log))
        for worker, log in workers:
            assert worker.wait(timeout=600) == 0, log.read_text()[-3000:]
        summaries = [orjson.loads(log.read_text().strip().splitlines()[-1]) for _, log in workers]
        events_in = sum(summary["events_in"] for summary in summaries)
        accepted = sum(summary["accepted"] - summary["duplicates"] for summary in summaries)
        assert events_in >= 5_000  # the collector refuses nothing the generator sends here
        assert accepted > events_in * 0.8

    token = (
        _cli(
            [
                "token",
                "create",
                "--site",
                "shop.example.com",
                "--permissions",
                "stats:read,sessions:read,heatmaps:read",
                "--tier",
                "pro",
                "--ttl",
                "1h",
            ],
            env,
        )
        .strip()
        .splitlines()[-1]
    )
    api_log = tmp_path / "api.log"
    api = start_insightlite(["api"], env, api_log)
    try:
        wait_ready(f"http://127.0.0.1:{api_port}/ready", api, api_log)
        today = datetime.now(UTC).date()
        params = {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=1))}
        response = httpx.get(
            f"http://127.0.0.1:{api_port}/v1/sites/shop.example.com/stats",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert "page" in response.text
        denied = httpx.get(
            f"http://127.0.0.1:{api_port}/v1/sites/blog.example.org/stats",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert denied.status_code == 403
    finally:
        api.terminate()
        api.wait(timeout=30)
