"""Helpers of the ``POST /replay`` tests; the fixtures are in ``collector_replay_fixtures``.

- ``make_harness(broker, topics, **settings)``: a collector app on the broker, with the
  pipeline's topics made by ``create_topics`` under a prefix of its own (one partition
  each unless ``kafka_partitions`` is given) and fake clocks, as a ``Harness`` to post
  and read ``replay_events`` back.
- ``make_chunk``, ``chunk_bytes``, ``gzipped``: chunks and their bodies.
- ``serving(harness)``: the harness's app on a real uvicorn server on loopback.
"""

from __future__ import annotations

import contextlib
import gzip
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette

from api.collector.app import create_app
from connectors.kafka.topics import REPLAY_EVENTS, create_topics, topic_name, topic_names
from devtools.local_kafka import LocalKafka, free_port
from foundation.settings import Settings, load_settings
from insightlite.cli.collector import uvicorn_options
from tests.kafka_fixture import TopicFactory, read_topic, topic_size

RECEIVED_AT = 1_764_590_400_000
PEER = ("198.51.100.7", 51000)
SESSION = str(uuid.uuid4())
JSON = {"Content-Type": "application/json"}
# A person's browser: a bot's user agent is answered 202 and not written.
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


class FakeClock:
    """Both clocks of the collector: wall time for received_at, monotonic for rate limits."""

    def __init__(self, wall_ms: int = RECEIVED_AT, mono: float = 500.0) -> None:
        self.wall_ms = wall_ms
        self.mono = mono

    def now_ms(self) -> int:
        return self.wall_ms

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall_ms += round(seconds * 1000)


def make_chunk(site_id: str = "shop.example.com", **fields: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "v": 1,
        "site_id": site_id,
        "session_id": str(uuid.uuid4()),
        "chunk_id": str(uuid.uuid4()),
        "seq": 0,
        "sent_at": RECEIVED_AT - 500,
        "events": [
            {"type": 4, "timestamp": RECEIVED_AT - 900, "data": {"href": "https://shop/"}},
            {"type": 3, "timestamp": RECEIVED_AT - 800, "data": {"source": 1, "x": 5}},
        ],
    }
    chunk.update(fields)
    return chunk


def chunk_bytes(**fields: Any) -> bytes:
    """JSON of a chunk of session ``SESSION`` with ``fields`` changed (``...``: left out)."""
    chunk = make_chunk(session_id=SESSION)
    chunk.update(fields)
    return orjson.dumps({key: value for key, value in chunk.items() if value is not ...})


def gzipped(chunk: dict[str, Any]) -> bytes:
    return gzip.compress(orjson.dumps(chunk))


async def metrics_of(client: httpx.AsyncClient) -> str:
    return (await client.get("/metrics")).text


class Harness:
    """One collector app on the session broker with its own replay_events topic."""

    def __init__(self, app: Starlette, settings: Settings, clock: FakeClock) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.topic = topic_name(settings, REPLAY_EVENTS)

    def client(self, peer: tuple[str, int] = PEER) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=peer)
        return httpx.AsyncClient(
            transport=transport,
            base_url="http://collector.test",
            headers={"User-Agent": BROWSER_UA},
        )

    def records(self, count: int) -> list[tuple[bytes | None, bytes]]:
        messages = read_topic(self.settings.kafka_bootstrap_servers, self.topic, count)
        return [(message.key(), message.value() or b"") for message in messages]

    def written(self) -> int:
        return topic_size(self.settings.kafka_bootstrap_servers, self.topic)


MakeHarness = Callable[..., Harness]


def make_harness(
    broker: LocalKafka, topics: TopicFactory, *, delivery_timeout_s: float, **overrides: Any
) -> Harness:
    settings = load_settings(
        kafka_bootstrap_servers=overrides.pop("kafka_bootstrap_servers", None)
        or broker.bootstrap_servers,
        kafka_topic_prefix=topics.prefix(),
        kafka_partitions=overrides.pop("kafka_partitions", 1),
        visitor_key_store=overrides.pop("visitor_key_store", None)
        or tempfile.mkdtemp(prefix="visitor-keys-"),
        **overrides,
    )
    if settings.kafka_bootstrap_servers == broker.bootstrap_servers:
        create_topics(settings)
        topics.wait_listed(*topic_names(settings))
    clock = FakeClock()
    app = create_app(
        settings,
        now_ms=clock.now_ms,
        monotonic=clock.monotonic,
        delivery_timeout_s=delivery_timeout_s,
    )
    return Harness(app, settings, clock)


@contextlib.contextmanager
def serving(harness: Harness) -> Iterator[str]:
    """The harness's app on a real uvicorn server on a free loopback port; yields its URL."""
    options = uvicorn_options(
        harness.settings.model_copy(
            update={"collector_host": "127.0.0.1", "collector_port": free_port()}
        )
    )
    server = uvicorn.Server(uvicorn.Config(harness.app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{options['port']}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
