"""A worker's /ready says whether its writers can write; /health whether it runs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors.clickhouse import ClickHouseUnavailable
from connectors.retry import retry_forever
from foundation.metrics import WRITER_HEALTH
from insightlite.worker_endpoints import serve_worker_endpoints


@pytest.fixture
def base_url() -> Iterator[str]:
    server = serve_worker_endpoints("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_ready_turns_503_while_a_writer_retries_and_200_when_it_writes(base_url: str) -> None:
    seen: list[tuple[int, dict[str, object]]] = []
    attempts = iter([ClickHouseUnavailable("Cannot lock file status"), None])

    def insert() -> str:
        failure = next(attempts)
        if failure is not None:
            raise failure
        return "written"

    def probe(_delay: float) -> None:  # the retry's sleep: look at /ready meanwhile
        answer = httpx.get(f"{base_url}/ready")
        seen.append((answer.status_code, answer.json()))

    assert httpx.get(f"{base_url}/ready").status_code == 200
    result = retry_forever(
        insert, retryable=(ClickHouseUnavailable,), what="insert into events", sleep=probe
    )
    assert result == "written"
    ((status, body),) = seen
    assert status == 503
    assert body["status"] == "not ready"
    assert "Cannot lock file status" in body["failing"]["insert into events"]  # type: ignore[index]
    assert httpx.get(f"{base_url}/ready").status_code == 200
    assert WRITER_HEALTH.problems() == {}


def test_health_and_metrics_answer_and_other_paths_do_not(base_url: str) -> None:
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
    metrics = httpx.get(f"{base_url}/metrics")
    assert metrics.status_code == 200 and "insightlite_rejected_events" in metrics.text
    assert httpx.get(f"{base_url}/anything").status_code == 404
