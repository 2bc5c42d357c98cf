"""Malformed and hostile bodies: each one gets a 4xx with its reason, counted in /metrics."""

from __future__ import annotations

import gzip
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka.admin import NewTopic
from starlette.applications import Starlette

from api.collector.app import create_app
from connectors.kafka.topics import RAW_EVENTS, topic_name
from devtools.local_kafka import LocalKafka
from foundation.settings import Settings, load_settings
from operators.validate import EventValidator, ValidationConfig
from tests.kafka_fixture import TopicFactory, read_topic

pytestmark = pytest.mark.anyio

SESSION = str(uuid.uuid4())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def event_json(**fields: Any) -> bytes:
    event: dict[str, Any] = {
        "v": 1,
        "event_id": str(uuid.uuid4()),
        "site_id": "shop.example.com",
        "session_id": SESSION,
        "type": "pageview",
        "ts": 1_764_067_199_000,
        "url": "https://shop.example.com/",
    }
    event.update(fields)
    return orjson.dumps(event)


def with_props(raw_props: bytes) -> bytes:
    """One event whose ``props`` is ``raw_props``, spliced in as raw JSON text."""
    return b"[" + event_json()[:-1] + b',"props":' + raw_props + b"}]"


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


Served = tuple[Starlette, Settings]
MakeApp = Callable[..., Served]


@pytest.fixture
def make_app(kafka_broker: LocalKafka, kafka_topics: TopicFactory) -> Iterator[MakeApp]:
    apps: list[Starlette] = []

    def make(**overrides: Any) -> Served:
        settings = load_settings(
            kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
            kafka_topic_prefix=kafka_topics.prefix(),
            visitor_key_store=tempfile.mkdtemp(prefix="visitor-keys-"),
            **overrides,
        )
        raw = topic_name(settings, RAW_EVENTS)
        kafka_topics.admin.create_topics([NewTopic(raw, 1, 1)])[raw].result(timeout=30)
        kafka_topics.wait_listed(raw)
        app = create_app(settings, delivery_timeout_s=10.0)
        apps.append(app)
        return app, settings

    yield make
    for app in apps:
        app.state.collector.sink.close(timeout=5)


def client_of(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://collector.test")


GZIPPED = gzip.compress(b"[" + event_json() + b"]")
JSON = {"Content-Type": "application/json"}
GZIP = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


# id: (body, headers, status, metrics reason, a part of the answer's error)
CASES: dict[str, tuple[bytes, dict[str, str], int, str, str]] = {
    # Nesting orjson reads (up to 1024 levels) but cannot write back (over 254).
    "objects-900-deep": (
        with_props(nested_objects(900)),
        JSON,
        400,
        "too_deep",
        "deeper than 254 levels",
    ),
    "arrays-900-deep": (
        with_props(nested_arrays(900)),
        JSON,
        400,
        "too_deep",
        "deeper than 254 levels",
    ),
    "objects-255-deep": (
        with_props(nested_objects(254)),
        JSON,
        400,
        "too_deep",
        "deeper than 254 levels",
    ),
    "arrays-2000-deep": (
        with_props(nested_arrays(2000)),
        JSON,
        400,
        "invalid_json",
        "depth limit exceeded",
    ),
    "array-of-900-deep": (
        b"[" * 900 + b"]" * 900,
        JSON,
        400,
        "event_not_an_object",
        "event 0 is a JSON array",
    ),
    # Not UTF-8, or not JSON.
    "latin-1": (b'[{"site_id":"caf\xe9"}]', JSON, 400, "invalid_json", "not valid UTF-8"),
    "lone-surrogate": (b'[{"site_id":"a","s":"\\ud800"}]', JSON, 400, "invalid_json", "surrogate"),
    "utf8-bom": (b"\xef\xbb\xbf" + b"[" + event_json() + b"]", JSON, 400, "invalid_json", "BOM"),
    "empty": (b"", JSON, 400, "invalid_json", "not valid JSON"),
    "trailing-nul": (b"[" + event_json() + b"]\x00", JSON, 400, "invalid_json", "not valid JSON"),
    # Numbers JSON cannot carry.
    "nan": (with_props(b'{"n":NaN}'), JSON, 400, "invalid_json", "not valid JSON"),
    "infinity": (with_props(b'{"n":Infinity}'), JSON, 400, "invalid_json", "not valid JSON"),
    "1e400": (with_props(b'{"n":1e400}'), JSON, 400, "invalid_json", "infinity"),
    "bare-1e99999": (b"1e99999", JSON, 400, "invalid_json", "infinity"),
    # Not an array of objects.
    "null-item": (b"[null]", JSON, 400, "event_not_an_object", "event 0 is a JSON null"),
    "string-item": (b'["x"]', JSON, 400, "event_not_an_object", "event 0 is a JSON string"),
    "array-item": (b"[" + event_json() + b",[]]", JSON, 400, "event_not_an_object", "event 1 is"),
    "string-body": (b'"[]"', JSON, 400, "not_an_array", "not a JSON string"),
    # Broken gzip.
    "not-gzip": (b"not gzip at all", GZIP, 400, "bad_gzip", "not valid gzip"),
    "gzip-truncated": (GZIPPED[: len(GZIPPED) // 2], GZIP, 400, "bad_gzip", "truncated"),
    "gzip-trailing-bytes": (
        GZIPPED + b"trailing",
        GZIP,
        400,
        "bad_gzip",
        "data after the gzip stream",
    ),
    "gzip-two-members": (GZIPPED + GZIPPED, GZIP, 400, "bad_gzip", "data after the gzip stream"),
    "gzip-empty": (b"", GZIP, 400, "bad_gzip", "truncated"),
    "gzip-of-non-utf8": (gzip.compress(b"\xff\xfe"), GZIP, 400, "invalid_json", "not valid JSON"),
    # Content types and encodings the collector does not take.
    "xml": (b"[]", {"Content-Type": "application/xml"}, 415, "unsupported_media_type", "not supp"),
    "multipart": (
        b"[]",
        {"Content-Type": "multipart/form-data; boundary=x"},
        415,
        "unsupported_media_type",
        "Content-Type",
    ),
    "gzip-twice": (
        b"[]",
        {**JSON, "Content-Encoding": "gzip, gzip"},
        415,
        "unsupported_encoding",
        "gzip",
    ),
    "deflate": (
        b"[]",
        {**JSON, "Content-Encoding": "deflate"},
        415,
        "unsupported_encoding",
        "deflate",
    ),
}


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "reason"),
    list(CASES.values()),
    ids=list(CASES),
)
async def test_malformed_bodies_get_4xx_with_reason_and_are_counted(
    make_app: MakeApp, body: bytes, headers: dict[str, str], status: int, code: str, reason: str
) -> None:
    app, _ = make_app()
    async with client_of(app) as client:
        response = await client.post("/ingest", content=body, headers=headers)
        assert response.status_code == status, response.text
        assert reason in response.json()["error"]
        metrics = (await client.get("/metrics")).text
    assert f'insightlite_collector_rejected_requests_total{{reason="{code}"}} 1.0' in metrics
    assert f'insightlite_collector_requests_total{{status="{status}"}} 1.0' in metrics


async def test_a_too_deep_event_spends_no_rate_limit_tokens(make_app: MakeApp) -> None:
    app, settings = make_app(collector_ip_rate=1, collector_ip_burst=1)
    async with client_of(app) as client:
        deep = await client.post("/ingest", content=with_props(nested_objects(900)))
        assert deep.status_code == 400
        # The refused request took nothing: the one token is still there.
        ok = await client.post("/ingest", content=b"[" + event_json() + b"]")
        assert ok.status_code == 202, ok.text
    assert len(read_topic(settings.kafka_bootstrap_servers, topic_name(settings, RAW_EVENTS), 1))


async def test_the_deepest_writable_event_is_accepted(make_app: MakeApp) -> None:
    # The event is level 1; props 253 levels below it is the deepest orjson writes.
    app, settings = make_app()
    async with client_of(app) as client:
        response = await client.post("/ingest", content=with_props(nested_objects(253)))
    assert response.status_code == 202, response.text
    (message,) = read_topic(settings.kafka_bootstrap_servers, topic_name(settings, RAW_EVENTS), 1)
    assert (message.value() or b"").count(b'{"a":') == 253


async def test_duplicated_keys_the_checked_value_is_the_written_one(make_app: MakeApp) -> None:
    # JSON with a key twice means the last one (as the pipeline reads it too). The
    # collector writes the event back from what it parsed, so the site id it checked
    # against the allow-list is the only one that reaches Kafka.
    app, settings = make_app(site_allowlist="shop.example.com")
    sneaky = event_json()[:-1] + b',"site_id":"evil.example.net"}'
    honest = event_json(site_id="evil.example.net")[:-1] + b',"site_id":"shop.example.com"}'
    async with client_of(app) as client:
        refused = await client.post("/ingest", content=b"[" + sneaky + b"]")
        assert refused.status_code == 400
        assert "'evil.example.net' is not accepted" in refused.json()["error"]
        accepted = await client.post("/ingest", content=b"[" + honest + b"]")
        assert accepted.status_code == 202, accepted.text
    (message,) = read_topic(settings.kafka_bootstrap_servers, topic_name(settings, RAW_EVENTS), 1)
    value = message.value() or b""
    assert value.count(b'"site_id"') == 1
    assert orjson.loads(value)["site_id"] == "shop.example.com"


async def test_a_content_length_of_non_ascii_digits_is_not_a_500(make_app: MakeApp) -> None:
    # "²" is a digit to str.isdigit but not to int(). An HTTP server's parser would stop
    # it first; the app, called directly as ASGI, must not depend on that.
    app, _ = make_app()
    body = b"[" + event_json(site_id=7) + b"]"
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/ingest",
        "raw_path": b"/ingest",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", "²".encode("latin-1"))],
        "client": ("198.51.100.7", 51000),
        "server": ("collector.test", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert b"event 0 has no site_id string" in sent[1]["body"]


async def test_allowed_sites_are_whole_strings(make_app: MakeApp) -> None:
    app, _ = make_app(site_allowlist="shop.example.com")
    async with client_of(app) as client:
        for site in ("shop.example.com\n", "shop.example.com ", "shop.example.co"):
            response = await client.post("/ingest", content=b"[" + event_json(site_id=site) + b"]")
            assert response.status_code == 400, site
            assert f"site_id {site!r} is not accepted here" in response.json()["error"]


async def test_near_miss_ids_reach_the_pipeline_exactly_as_sent(make_app: MakeApp) -> None:
    # Without an allow-list the collector checks no id's form: it writes what it got,
    # unchanged, and the pipeline's contract (whole-string matches) dead-letters it with
    # its reasons instead of the event vanishing at the edge.
    app, settings = make_app()
    session = str(uuid.uuid4()) + "\n"
    body = b"[" + event_json(site_id="shop\n", session_id=session) + b"]"
    async with client_of(app) as client:
        response = await client.post("/ingest", content=body)
    assert response.status_code == 202, response.text
    (message,) = read_topic(settings.kafka_bootstrap_servers, topic_name(settings, RAW_EVENTS), 1)
    assert message.key() == session.encode()
    written = orjson.loads(message.value() or b"")
    assert (written["site_id"], written["session_id"]) == ("shop\n", session)
    reasons = EventValidator(ValidationConfig()).check_event(written, len(message.value() or b""))
    assert {(reason.code, reason.detail.split(":")[0]) for reason in reasons} == {
        ("bad_site_id", "site_id"),
        ("bad_uuid", "session_id"),
    }
