"""ClickHouse unavailable for a while: the sink waits, retries, and loses nothing.

The embedded engine is unavailable while another process holds its directory;
a writer started then must keep its batch and write it once the engine is back.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.cli import ROOT, insightlite, query_json

HOLDER = """
import sys, time
from pathlib import Path
from connectors.clickhouse import connect
client = connect("chdb:" + sys.argv[1])
client.query("SELECT 1")
Path(sys.argv[2]).write_text("holding")
while not Path(sys.argv[3]).exists():
    time.sleep(0.1)
client.close()
"""

WRITER = """
import sys
import pyarrow as pa
from connectors.flow_sinks import ClickHouseSink
from foundation.metrics import SINK_RETRIES
from insightlite.worker_endpoints import serve_worker_endpoints
from operators.batching import Chunk, Span
from operators.columns import EVENTS_SCHEMA
rows = [{
    "event_id": f"00000000-0000-4000-8000-{i:012d}",
    "session_id": "5b0f8a5e-1a2b-4c3d-8e9f-001122334455",
    "site_id": "shop.example.com", "timestamp": 1764072000000 + i, "event_type": "click",
    "event_data": "{}", "url_path": "/", "referrer": "", "device_type": "desktop",
    "viewport_width": 1000, "viewport_height": 800, "user_agent_hash": 1, "ip_hash": 2,
    "country_code": "GB", "error_class": "", "received_at": 1764072000000 + i,
} for i in range(500)]
table = pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)
server = serve_worker_endpoints("127.0.0.1", 0)
print(server.server_address[1], flush=True)
sink = ClickHouseSink("chdb:" + sys.argv[1], "insightlite")
part = sink.build_part("clickhouse", "clickhouse", None)
part.write_batch([Chunk((Span("test", 0, 499),), table)])
part.close()
print(int(SINK_RETRIES.labels("clickhouse.events")._value.get()))
"""


def test_writer_waits_for_clickhouse_and_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "clickhouse"
    insightlite("schema", "apply", "--clickhouse", f"chdb:{data}")
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data), str(ready), str(release)], cwd=ROOT
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline and holder.poll() is None
        time.sleep(0.1)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    port = int(writer.stdout.readline())
    # While the writer retries, its worker is not ready, and says which writer fails.
    deadline = time.monotonic() + 60
    while True:
        ready = httpx.get(f"http://127.0.0.1:{port}/ready")
        if ready.status_code == 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert ready.status_code == 503
    assert "insert into events" in ready.json()["failing"]
    assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    assert writer.poll() is None, writer.communicate()
    release.write_text("go")
    assert holder.wait(timeout=60) == 0
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err[-3000:]
    assert int(out.strip().splitlines()[-1]) >= 1  # it did retry
    rows = query_json(
        tmp_path, "SELECT count() AS n FROM events", INSIGHTLITE_CLICKHOUSE_URL=f"chdb:{data}"
    )
    assert rows[0]["n"] == 500
