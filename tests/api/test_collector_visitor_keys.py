"""The collector and its visitor-key store (a real Redis): fail closed, then recover."""

from __future__ import annotations

import subprocess
import time

import pytest

from devtools.local_kafka import free_port
from foundation.units import DAY_MS
from tests.api.redis_fixture import _answers_ping, find_redis_server
from tests.api.test_collector import (  # noqa: F401  (fixtures)
    MakeHarness,
    anyio_backend,
    make_collector,
    make_event,
)

pytestmark = pytest.mark.anyio


class RedisOnPort:
    """A redis-server on a fixed port, so it can be stopped and started at one address."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary = binary
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(self.binary, "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _answers_ping(self.port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


async def test_key_store_down_gives_503_then_recovers(
    make_collector: MakeHarness,  # noqa: F811
) -> None:
    binary = find_redis_server()
    if binary is None:
        pytest.skip("no redis-server (see tests/api/redis_fixture.py)")
    redis_server = RedisOnPort(binary, free_port())
    harness = make_collector(visitor_key_store=f"redis://127.0.0.1:{redis_server.port}/0")
    try:
        async with harness.client() as client:
            # Down from the start: no key can be had, nothing is written.
            down = await client.post("/ingest", json=[make_event()])
            assert down.status_code == 503
            assert down.headers["retry-after"] == "5"
            assert "visitor-key store" in down.json()["error"]
            redis_server.start()
            assert (await client.post("/ingest", json=[make_event()])).status_code == 202
            # Today's key is in memory: a store down within the day does not matter...
            redis_server.stop()
            assert (await client.post("/ingest", json=[make_event()])).status_code == 202
            # ...but the next day's key must come from the store: fail closed again.
            harness.clock.wall_ms += DAY_MS
            assert (await client.post("/ingest", json=[make_event()])).status_code == 503
            redis_server.start()
            assert (await client.post("/ingest", json=[make_event()])).status_code == 202
            metrics = (await client.get("/metrics")).text
    finally:
        redis_server.stop()
    assert (
        'insightlite_collector_rejected_requests_total{reason="key_store_unavailable"} 2.0'
        in metrics
    )
    assert 'insightlite_collector_requests_total{status="503"} 2.0' in metrics
    assert len(harness.records(3)) == 3
