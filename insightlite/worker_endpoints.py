"""A worker's HTTP endpoints: /metrics, /health and /ready.

`/health` answers while the process runs. `/ready` answers 503, naming them, while
any writer (a ClickHouse table, the archive, the schema migrations) is retrying an
unreachable, locked or failing destination: such a worker holds its input back and
must leave the load balancer's and the orchestrator's count of ready workers.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from foundation.metrics import WRITER_HEALTH


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/health":
            self._answer(200, b'{"status":"ok"}')
        elif path == "/ready":
            problems = WRITER_HEALTH.problems()
            if problems:
                body = orjson.dumps({"status": "not ready", "failing": problems})
                self._answer(503, body)
            else:
                self._answer(200, b'{"status":"ready"}')
        else:
            self._answer(404, b'{"error":"not found"}')

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # a probe every few seconds is not worth a log line


def serve_worker_endpoints(host: str, port: int) -> ThreadingHTTPServer:
    """Serve the endpoints from a daemon thread; returns the server (port 0: any free)."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-endpoints", daemon=True).start()
    return server
