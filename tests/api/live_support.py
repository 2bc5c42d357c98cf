"""Helpers of the live stream's tests: the app served by uvicorn on a loopback port, a
WebSocket client, the pipeline's events written where the stream reads them (the
``processed_events`` topic, or ClickHouse's ``events``), and the app's metrics.

Events are the pipeline's own :class:`operators.model.AnonymizedEvent`, turned into
records by the flow's ``event_messages`` and into rows by ``events_table``, so the
stream is tested on exactly what the pipeline writes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from confluent_kafka import Producer
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from api.query.app import create_app
from connectors.clickhouse import apply_migrations
from connectors.clickhouse import connect as clickhouse_connect
from flows.kafka_outputs import event_messages
from foundation.settings import Settings, load_settings
from operators.batching import Chunk
from operators.columns import anonymized_table, events_table
from operators.model import AnonymizedEvent
from tests.api.query_support import SECRET, FakeClock, make_token

SITE = "shop.example.com"
OTHER_SITE = "blog.example.org"
WAIT_SECONDS = 30.0
Message = dict[str, Any]


def live_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings over a chdb directory of its own (with the schema), the test key, and
    short auth waits and heartbeats unless ``overrides`` say otherwise."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "clickhouse_url": f"chdb:{data_dir / 'clickhouse'}",
        "archive_url": str(data_dir / "archive"),
        "jwt_secret": SECRET,
        "api_clickhouse_pool_size": 1,
        "api_live_auth_timeout_seconds": 1.0,
        "api_live_tail_poll_seconds": 0.1,
        # The live tests are about the stream, not the minimum crowd (tests/api/test_crowd*).
        "min_crowd": 1,
    }
    values.update(overrides)
    settings = load_settings(**values)
    client = clickhouse_connect(
        settings.resolved_clickhouse_url, database=settings.clickhouse_database
    )
    try:
        apply_migrations(client)
    finally:
        client.close()
    return settings


class LiveServer:
    """The app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: FastAPI, *, send_buffer: int | None = None) -> None:
        self.app = app
        self._socket = socket.socket()
        if send_buffer is not None:
            # Accepted connections inherit it: a client that stops reading soon blocks
            # the server's sends (instead of after megabytes of kernel buffers).
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        # No logging configuration of uvicorn's own: its records reach pytest's capture.
        config = uvicorn.Config(app, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]})

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not self.server.started:
            assert self.thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop as on SIGTERM, and wait for the thread (connections, lifespan)."""
        self.server.should_exit = True
        self.thread.join(WAIT_SECONDS)
        self._socket.close()
        assert not self.thread.is_alive(), "the server did not stop"

    def url(self, site: str = SITE, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/v1/sites/{site}/live{query}"

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the app's registry (0 when it has none yet)."""
        registry = self.app.state.services.metrics.registry
        value = registry.get_sample_value(name, labels)
        return 0.0 if value is None else float(value)

    def wait_metric(self, name: str, wanted: Callable[[float], bool], **labels: str) -> float:
        """The sample once ``wanted`` holds for it (failing after WAIT_SECONDS)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not wanted(value := self.metric(name, **labels)):
            assert time.monotonic() < deadline, f"{name}{labels} stayed at {value}"
            time.sleep(0.02)
        return value

    def slow_socket(self) -> socket.socket:
        """A connected socket with a small receive buffer: a client that stops reading
        soon blocks the server's sends."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.port))
        return sock


@contextmanager
def serve_live(
    settings: Settings, clock: FakeClock, *, send_buffer: int | None = None
) -> Iterator[LiveServer]:
    server = LiveServer(create_app(settings, clock=clock), send_buffer=send_buffer)
    server.start()
    try:
        yield server
    finally:
        if server.thread.is_alive():
            server.stop()


def open_socket(url: str, **options: Any) -> ClientConnection:
    return connect(url, open_timeout=WAIT_SECONDS, close_timeout=2, **options)


def receive(ws: ClientConnection, timeout: float = WAIT_SECONDS) -> Message:
    message: Message = json.loads(ws.recv(timeout=timeout))
    return message


def authenticate(ws: ClientConnection, token: str) -> Message:
    """Send the auth message; the ready message that answers it."""
    ws.send(json.dumps({"type": "auth", "token": token}))
    ready = receive(ws)
    assert ready["type"] == "ready", ready
    return ready


@contextmanager
def streaming(
    server: LiveServer, token: str, site: str = SITE, **options: Any
) -> Iterator[ClientConnection]:
    """A connection of ``site``, authenticated and ready."""
    with open_socket(server.url(site), **options) as ws:
        ready = authenticate(ws, token)
        assert ready["site"] == site
        yield ws


def closed_with(ws: ClientConnection, timeout: float = WAIT_SECONDS) -> tuple[int, str]:
    """(code, reason) of the close the server sends, reading whatever comes before it."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            ws.recv(timeout=max(0.0, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        if closed.rcvd is None:
            return 1006, ""
        return closed.rcvd.code, closed.rcvd.reason


def collect(
    ws: ClientConnection, done: Callable[[list[Message]], bool], timeout: float = WAIT_SECONDS
) -> list[Message]:
    """Messages read until ``done`` holds for them (failing after ``timeout``)."""
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while not done(messages):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"gave up after {len(messages)} messages: {messages[-3:]}"
        messages.append(receive(ws, timeout=remaining))
    return messages


def events_of(messages: list[Message]) -> list[Message]:
    return [message["event"] for message in messages if message["type"] == "event"]


def event_count(count: int) -> Callable[[list[Message]], bool]:
    return lambda messages: len(events_of(messages)) >= count


def token(clock: FakeClock, **claims: Any) -> str:
    return make_token(clock, **claims)


def anonymized_event(
    site: str,
    session: int,
    number: int,
    at_ms: int,
    *,
    event_type: str = "click",
    ip_hash: int | None = None,
) -> AnonymizedEvent:
    """Event ``number`` of session ``session`` of ``site``, as the pipeline makes it."""
    session_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/session/{session}"))
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/session/{session}/event/{number}"))
    return AnonymizedEvent(
        event_id,
        session_id,
        site,
        at_ms,
        event_type,
        json.dumps({"x": 10.0 + number, "y": 20.0, "fixed": False, "target": "#buy"}),
        f"/page/{number}",
        "https://www.example.net/",
        "desktop",
        1280,
        800,
        0x1234_5678,
        ip_hash if ip_hash is not None else 1000 + session,
        "DE",
        "",
        at_ms,
        10.0 + number,
        20.0,
        None,
        False,
        number,
    )


def session_id_of(site: str, session: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/session/{session}"))


def produce(bootstrap: str, topic: str, events: list[AnonymizedEvent]) -> None:
    """The events as the flow writes them to ``processed_events`` (keyed by session)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for key, value in event_messages(Chunk(spans=(), rows=anonymized_table(events))):
        producer.produce(topic, value=value, key=key)
    assert producer.flush(WAIT_SECONDS) == 0


def insert_events(settings: Settings, events: list[AnonymizedEvent]) -> None:
    """The events as the ClickHouse sink writes them to ``events``."""
    client = clickhouse_connect(
        settings.resolved_clickhouse_url, database=settings.clickhouse_database
    )
    try:
        client.insert_arrow("events", events_table(events))
    finally:
        client.close()


def now_ms(clock: FakeClock) -> int:
    return int(clock() * 1000)
