"""Exports to files through fsspec, and signed webhook notices to a real HTTP receiver
on loopback that refuses the first attempts, then accepts."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from api.query.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    backoff_delay,
    sign,
    verify_signature,
)
from connectors.clickhouse import connect
from tests.api.query_support import (
    DAY,
    FakeClock,
    PipelineData,
    api_settings,
    bearer,
    make_token,
    serve,
)

pytest_plugins = ["tests.api.query_fixtures"]

SITE = "shop.example.com"
WEBHOOK_SECRET = "webhook-secret-for-tests"


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint: answers ``statuses`` in turn (then 200), keeps every request."""

    statuses: list[int]
    deliveries: list[Delivery] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/insightlite?token=private"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(statuses=[503, 500])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.deliveries.append(Delivery(dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def exporting(
    pipeline_data: PipelineData, clock: FakeClock, receiver: Receiver, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    settings = api_settings(
        pipeline_data,
        api_export_url=str(tmp_path / "exports"),
        webhook_urls=f"{SITE}={receiver.url}",
        webhook_secret=WEBHOOK_SECRET,
        webhook_backoff_seconds=0.01,
        webhook_max_attempts=4,
    )
    with serve(pipeline_data, clock, settings) as client:
        yield client, bearer(make_token(clock)), tmp_path / "exports"


def wait_for(client: TestClient, headers: dict[str, str], url: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(url, headers=headers).json()
        if done(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"export did not finish: {state}")


def finished(state: dict[str, Any]) -> bool:
    webhook = state.get("webhook")
    return state["state"] in ("done", "failed") and (
        webhook is None or webhook["state"] != "pending"
    )


def count(data: PipelineData, sql: str) -> int:
    client = connect(
        data.settings.resolved_clickhouse_url, database=data.settings.clickhouse_database
    )
    try:
        return int(
            client.query(sql.replace("{db}", client.database), {"s": SITE, "d": DAY}).rows[0][0]
        )
    finally:
        client.close()


def start(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"from": DAY.isoformat(), "to": DAY.isoformat(), **body}
    response = client.post(f"/v1/sites/{SITE}/exports", json=payload, headers=headers)
    assert response.status_code == 202, response.text
    state: dict[str, Any] = response.json()
    assert state["state"] == "queued"
    return state


def test_events_to_parquet_with_a_signed_webhook(
    exporting: tuple[TestClient, dict[str, str], Path],
    receiver: Receiver,
    pipeline_data: PipelineData,
    clock: FakeClock,
) -> None:
    client, headers, root = exporting
    created = start(client, headers, kind="events", format="parquet")
    url = f"/v1/sites/{SITE}/exports/{created['id']}"
    state = wait_for(client, headers, url, finished)

    assert state["state"] == "done", state
    expected = count(
        pipeline_data,
        "SELECT count() FROM {db}.events FINAL WHERE site_id = {s:String} "
        "AND toDate(timestamp) = {d:Date}",
    )
    (exported,) = state["files"]
    assert exported["rows"] == state["rows"] == expected > 0
    assert exported["path"].endswith(f"{SITE}/{created['id']}/events-{DAY.isoformat()}.parquet")
    table = pq.read_table(exported["path"])
    assert table.num_rows == expected
    assert "ip_hash" not in table.column_names and "user_agent_hash" not in table.column_names
    assert set(table.column("site_id").to_pylist()) == {SITE}
    assert (root / SITE / created["id"] / "state.json").is_file()

    # The webhook: refused twice (503, 500), delivered on the third attempt.
    webhook = state["webhook"]
    assert webhook["state"] == "delivered"
    assert [attempt["status_code"] for attempt in webhook["attempts"]] == [503, 500, 200]
    assert [attempt["attempt"] for attempt in webhook["attempts"]] == [1, 2, 3]
    assert webhook["url"] == f"http://127.0.0.1:{receiver.port}/hooks/insightlite"  # no query
    assert len(receiver.deliveries) == 3
    for delivery in receiver.deliveries:
        assert verify_signature(
            WEBHOOK_SECRET.encode(),
            body=delivery.body,
            timestamp_header=delivery.headers[TIMESTAMP_HEADER],
            signature_header=delivery.headers[SIGNATURE_HEADER],
            now=clock(),
        )
        # Signed over "timestamp.body": the same body under another timestamp fails.
        assert not verify_signature(
            WEBHOOK_SECRET.encode(),
            body=delivery.body,
            timestamp_header=str(int(delivery.headers[TIMESTAMP_HEADER]) + 1),
            signature_header=delivery.headers[SIGNATURE_HEADER],
            now=clock(),
        )
        assert delivery.headers["X-InsightLite-Delivery"] == created["id"]
    notice = orjson.loads(receiver.deliveries[-1].body)
    assert notice["type"] == "export.done"
    assert notice["export"]["id"] == created["id"]
    assert notice["export"]["rows"] == expected
    assert notice["export"]["files"] == state["files"]
    metrics = client.get("/metrics").text
    assert 'insightlite_api_exports_total{kind="events",state="done"} 1.0' in metrics
    assert 'insightlite_api_webhook_attempts_total{outcome="http_error"} 2.0' in metrics


def test_sessions_and_heatmap_to_csv(
    exporting: tuple[TestClient, dict[str, str], Path], pipeline_data: PipelineData
) -> None:
    client, headers, _ = exporting
    for kind, sql in (
        (
            "sessions",
            "SELECT count() FROM {db}.sessions FINAL WHERE site_id = {s:String} "
            "AND toDate(start_time) = {d:Date}",
        ),
        (
            "heatmap",
            "SELECT count() FROM (SELECT 1 FROM {db}.heatmap_aggregates "
            "WHERE site_id = {s:String} AND date_bucket = {d:Date} GROUP BY url_path, "
            "device_type, interaction_type, grid_x, grid_y HAVING sum(interaction_count) > 0)",
        ),
    ):
        created = start(client, headers, kind=kind, format="csv")
        state = wait_for(client, headers, f"/v1/sites/{SITE}/exports/{created['id']}", finished)
        assert state["state"] == "done", state
        (exported,) = state["files"]
        rows = list(csv.DictReader(io.StringIO(Path(exported["path"]).read_text())))
        assert len(rows) == exported["rows"] == count(pipeline_data, sql) > 0
        if kind == "sessions":
            assert {"session_id", "start_time", "entry_path", "has_errors"} <= set(rows[0])
        else:
            assert {"url_path", "interaction_type", "grid_x", "interaction_count"} <= set(rows[0])


def test_days_without_data_write_no_files(
    exporting: tuple[TestClient, dict[str, str], Path],
) -> None:
    client, headers, _ = exporting
    payload = {"kind": "events", "format": "parquet", "from": "2026-01-01", "to": "2026-01-03"}
    created = client.post(f"/v1/sites/{SITE}/exports", json=payload, headers=headers).json()
    state = wait_for(client, headers, f"/v1/sites/{SITE}/exports/{created['id']}", finished)
    assert state["state"] == "done" and state["files"] == [] and state["rows"] == 0


def test_a_failing_export_reports_a_generic_reason(
    exporting: tuple[TestClient, dict[str, str], Path],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, headers, _ = exporting
    exports = client.app.state.services.exports  # type: ignore[attr-defined]

    def broken(*args: Any) -> Any:
        raise OSError("disk /secret/path is full")

    monkeypatch.setattr(exports, "_read_day", broken)
    created = start(client, headers, kind="events", format="csv")
    state = wait_for(client, headers, f"/v1/sites/{SITE}/exports/{created['id']}", finished)
    assert state["state"] == "failed"
    assert state["error"] == "the export could not be completed (OSError)"
    assert "secret" not in str(state)
    assert state["webhook"]["state"] == "delivered"
    assert orjson.loads(receiver.deliveries[-1].body)["type"] == "export.failed"


def test_export_access_and_validation(
    exporting: tuple[TestClient, dict[str, str], Path], clock: FakeClock
) -> None:
    client, headers, _ = exporting
    body = {"kind": "events", "format": "csv", "from": DAY.isoformat(), "to": DAY.isoformat()}
    readers = bearer(make_token(clock, permissions=["stats:read", "heatmaps:read"]))
    refused = client.post(f"/v1/sites/{SITE}/exports", json=body, headers=readers)
    assert refused.status_code == 403
    too_long = {**body, "from": "2025-01-01"}
    response = client.post(f"/v1/sites/{SITE}/exports", json=too_long, headers=headers)
    assert response.status_code == 422
    created = start(client, headers, kind="sessions", format="csv")
    wait_for(client, headers, f"/v1/sites/{SITE}/exports/{created['id']}", finished)
    # Another site never sees it, even with a token for both.
    other = client.get(f"/v1/sites/blog.example.org/exports/{created['id']}", headers=headers)
    assert other.status_code == 404
    assert other.json() == {"error": "not_found", "message": "no such export"}


def test_sender_gives_up_after_bounded_attempts(receiver: Receiver, clock: FakeClock) -> None:
    receiver.statuses = [500] * 10
    sleeps: list[float] = []
    sender = WebhookSender(
        b"k" * 20, max_attempts=3, backoff_seconds=2.0, clock=clock, sleep=sleeps.append
    )
    progress: list[int] = []
    delivery = sender.deliver(
        receiver.url,
        b'{"x":1}',
        delivery_id="d1",
        on_progress=lambda d: progress.append(len(d.attempts)),
    )
    assert delivery.state == "failed"
    assert [attempt.status_code for attempt in delivery.attempts] == [500, 500, 500]
    assert sleeps == [2.0, 4.0]  # exponential, none after the last attempt
    assert progress == [1, 2, 3]
    assert len(receiver.deliveries) == 3


def test_sender_records_network_errors(clock: FakeClock) -> None:
    sender = WebhookSender(
        b"k" * 20, max_attempts=2, backoff_seconds=0, clock=clock, sleep=lambda s: None
    )
    delivery = sender.deliver("http://127.0.0.1:9/hook", b"{}", delivery_id="d2")
    assert delivery.state == "failed"
    assert all(a.status_code is None and a.error == "ConnectError" for a in delivery.attempts)


def test_signature_helpers(clock: FakeClock) -> None:
    body = b'{"type":"export.done"}'
    timestamp = int(clock())
    signature = sign(b"secret", timestamp, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    check = {"body": body, "timestamp_header": str(timestamp), "signature_header": signature}
    assert verify_signature(b"secret", now=clock(), **check)  # type: ignore[arg-type]
    assert not verify_signature(b"other", now=clock(), **check)  # type: ignore[arg-type]
    assert not verify_signature(b"secret", now=clock() + 301, **check)  # type: ignore[arg-type]
    tampered = {**check, "body": body + b" "}
    assert not verify_signature(b"secret", now=clock(), **tampered)  # type: ignore[arg-type]
    assert not verify_signature(
        b"secret", body=body, timestamp_header="x", signature_header=signature, now=0
    )
    assert backoff_delay(1, 1.0) == 1.0 and backoff_delay(4, 1.0) == 8.0
    assert backoff_delay(30, 1.0) == 300.0


def test_shutdown_marks_queued_exports(
    pipeline_data: PipelineData, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = api_settings(pipeline_data, api_export_url=str(tmp_path / "exports"))
    started = threading.Event()
    release = threading.Event()
    with serve(pipeline_data, clock, settings) as client:
        headers = bearer(make_token(clock))
        exports = client.app.state.services.exports  # type: ignore[attr-defined]
        original = exports._write_files

        def slow(state: Any) -> None:
            started.set()
            release.wait(10)
            original(state)

        monkeypatch.setattr(exports, "_write_files", slow)
        running = start(client, headers, kind="sessions", format="csv")
        started.wait(10)
        queued = start(client, headers, kind="heatmap", format="csv")
        threading.Timer(0.2, release.set).start()
    # Leaving the client stopped the app: the running export finished, the queued one
    # was never started and says so.
    root = tmp_path / "exports" / SITE
    first = orjson.loads((root / running["id"] / "state.json").read_bytes())
    second = orjson.loads((root / queued["id"] / "state.json").read_bytes())
    assert first["state"] == "done"
    assert second["state"] == "failed"
    assert "submit it again" in second["error"]
