"""Slow and greedy clients against a real collector server on loopback, over raw sockets.

Deadlines are set short through the settings; the tests assert only that the server
answered and closed, never how long it took (the socket timeout below guards a hang).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from confluent_kafka.admin import NewTopic

from api.collector.app import create_app
from connectors.kafka.topics import RAW_EVENTS, topic_name
from devtools.local_kafka import LocalKafka, free_port
from foundation.settings import load_settings
from insightlite.cli.collector import uvicorn_options
from tests.kafka_fixture import TopicFactory

# Far longer than any deadline configured here: reaching it means the server never
# closed the connection.
HANG_S = 30.0
H11 = "api.collector.connections:GuardedH11Protocol"
PARTIAL_HEADERS = b"POST /ingest HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\n"


class Server:
    def __init__(self, url: str, port: int) -> None:
        self.url = url
        self.port = port

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=HANG_S)

    def rejected(self, reason: str) -> float:
        metrics = httpx.get(f"{self.url}/metrics", timeout=HANG_S).text
        for line in metrics.splitlines():
            if line.startswith(
                f'insightlite_collector_rejected_requests_total{{reason="{reason}"}}'
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


Serve = Callable[..., contextlib.AbstractContextManager[Server]]


@pytest.fixture
def serve(kafka_broker: LocalKafka, kafka_topics: TopicFactory) -> Serve:
    @contextlib.contextmanager
    def run(protocol: str | None = None, **overrides: Any) -> Iterator[Server]:
        settings = load_settings(
            kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
            kafka_topic_prefix=kafka_topics.prefix(),
            collector_host="127.0.0.1",
            collector_port=free_port(),
            visitor_key_store=tempfile.mkdtemp(prefix="visitor-keys-"),
            **overrides,
        )
        raw = topic_name(settings, RAW_EVENTS)
        kafka_topics.admin.create_topics([NewTopic(raw, 1, 1)])[raw].result(timeout=30)
        kafka_topics.wait_listed(raw)
        options = uvicorn_options(settings)
        if protocol is not None:
            options["http"] = protocol
        server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + HANG_S
            while not server.started:
                assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
                time.sleep(0.05)
            yield Server(f"http://127.0.0.1:{settings.collector_port}", settings.collector_port)
        finally:
            server.should_exit = True
            thread.join(timeout=HANG_S)

    return run


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open: {received!r}") from None
        if not chunk:
            return received
        received += chunk


def body_of(answer: bytes) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    return result


def event_body(count: int = 1) -> bytes:
    return orjson.dumps(
        [
            {
                "v": 1,
                "event_id": str(uuid.uuid4()),
                "site_id": "shop.example.com",
                "session_id": str(uuid.uuid4()),
                "type": "pageview",
                "ts": 1_764_067_199_000,
                "url": "https://shop.example.com/",
            }
            for _ in range(count)
        ]
    )


@pytest.mark.parametrize("protocol", [None, H11], ids=["auto", "h11"])
def test_slow_headers_are_answered_408_and_closed(serve: Serve, protocol: str | None) -> None:
    with serve(
        protocol, collector_header_timeout_seconds=0.5, collector_max_connections_per_client=1000
    ) as server:
        silent = server.connect()  # sends nothing at all
        partial = [server.connect() for _ in range(300)]
        for sock in partial:
            sock.sendall(PARTIAL_HEADERS)
        for sock in [silent, *partial]:
            with sock:
                answer = read_until_closed(sock)
                assert answer.startswith(b"HTTP/1.1 408 "), answer
                assert "headers did not arrive within 0.5 s" in body_of(answer)["error"]
        assert server.rejected("header_timeout") == 301


@pytest.mark.parametrize("protocol", [None, H11], ids=["auto", "h11"])
def test_headers_deadline_applies_again_on_a_kept_alive_connection(
    serve: Serve, protocol: str | None
) -> None:
    with serve(protocol, collector_header_timeout_seconds=0.5) as server, server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: collector\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 "), first
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: coll")  # the next request stalls
        answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer


@pytest.mark.parametrize("protocol", [None, H11], ids=["auto", "h11"])
def test_slow_body_is_answered_408_and_closed(serve: Serve, protocol: str | None) -> None:
    with serve(protocol, collector_body_timeout_seconds=0.5) as server:
        body = event_body()
        with server.connect() as sock:
            sock.sendall(PARTIAL_HEADERS + b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"connection: close" in answer.lower()
        assert "body did not arrive within 0.5 s" in body_of(answer)["error"]
        assert server.rejected("body_timeout") == 1


def test_connections_over_the_per_client_cap_get_429_and_are_closed(serve: Serve) -> None:
    with serve(collector_max_connections_per_client=3) as server:
        held = [server.connect() for _ in range(3)]
        for sock in held:
            sock.sendall(PARTIAL_HEADERS)
        with server.connect() as extra:
            answer = read_until_closed(extra)
        assert answer.startswith(b"HTTP/1.1 429 "), answer
        assert b"retry-after: 1" in answer.lower()
        assert "more than 3 open connections from this client address" in (body_of(answer)["error"])
        # One held connection closes: its place is free again (once the server noticed).
        held.pop().close()
        deadline = time.monotonic() + HANG_S
        while True:
            with server.connect() as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n")
                answer = read_until_closed(sock)
            if answer.startswith(b"HTTP/1.1 200 "):
                break
            assert answer.startswith(b"HTTP/1.1 429 "), answer
            assert time.monotonic() < deadline, "the closed connection was never released"
            time.sleep(0.05)
        for sock in held:
            sock.close()
        # /metrics itself needs a connection: the held ones are closed by now.
        deadline = time.monotonic() + HANG_S
        while True:
            try:
                refused = server.rejected("too_many_connections")
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert refused >= 1


def test_behind_a_trusted_proxy_the_cap_counts_each_forwarded_client(serve: Serve) -> None:
    with serve(
        collector_trusted_proxies="127.0.0.1",
        collector_max_connections_per_client=2,
        collector_body_timeout_seconds=HANG_S,
    ) as server:
        # Two uploads of one forwarded client stall half-way through their bodies.
        stalled = [server.connect() for _ in range(2)]
        for sock in stalled:
            sock.sendall(
                PARTIAL_HEADERS + b"X-Forwarded-For: 203.0.113.5\r\nContent-Length: 100\r\n\r\n[{"
            )
        with httpx.Client(base_url=server.url, timeout=HANG_S) as client:
            # A third request of that client is refused once the two are in progress;
            # until then it gets the 400 of its empty batch.
            deadline = time.monotonic() + HANG_S
            while True:
                third = client.post(
                    "/ingest", content=b"[]", headers={"X-Forwarded-For": "203.0.113.5"}
                )
                if third.status_code == 429:
                    break
                assert third.status_code == 400, third.text
                assert time.monotonic() < deadline, "the stalled uploads were never counted"
                time.sleep(0.05)
            assert (
                "more than 2 requests in progress from this client address"
                in (third.json()["error"])
            )
            assert third.headers["retry-after"] == "1"
            # Another client behind the same proxy (more than 2 connections from the
            # proxy's address, which itself is not capped) is served.
            other = client.post(
                "/ingest", content=event_body(), headers={"X-Forwarded-For": "203.0.113.6"}
            )
            assert other.status_code == 202, other.text
        for sock in stalled:
            sock.close()
        assert server.rejected("too_many_connections") >= 1
