"""``POST /replay``'s refusals: each is a 4xx with its reason (never a 5xx), counted in
``insightlite_collector_replay_rejected_requests``, and nothing reaches ``replay_events``."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest

from tests.api.collector_replay_support import (
    JSON,
    RECEIVED_AT,
    SESSION,
    MakeHarness,
    chunk_bytes,
    metrics_of,
)

pytest_plugins = ["tests.api.collector_replay_fixtures"]
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- refused -------------------------------------------------------------------

GOOD_GZIP = gzip.compress(chunk_bytes())

# id: (body, headers, status, metrics reason, a part of the answer's error)
REFUSALS: dict[str, tuple[bytes, dict[str, str], int, str, str]] = {
    "broken-json": (b'{"site_id":', JSON, 400, "invalid_json", "not valid JSON"),
    "empty-body": (b"", {}, 400, "invalid_json", "not valid JSON"),
    "nan": (chunk_bytes()[:-1] + b',"n":NaN}', JSON, 400, "invalid_json", "not valid JSON"),
    "1e400": (chunk_bytes()[:-1] + b',"n":1e400}', JSON, 400, "invalid_json", "infinity"),
    "array": (b"[" + chunk_bytes() + b"]", JSON, 400, "not_an_object", "JSON object"),
    "string": (b'"chunk"', JSON, 400, "not_an_object", "JSON object"),
    "no-site": (chunk_bytes(site_id=...), JSON, 400, "missing_site_id", "no site_id"),
    "numeric-site": (chunk_bytes(site_id=7), JSON, 400, "missing_site_id", "no site_id"),
    "site-newline": (chunk_bytes(site_id="shop\n"), JSON, 400, "bad_site_id", "not a site id"),
    "site-space": (chunk_bytes(site_id="a shop"), JSON, 400, "bad_site_id", "not a site id"),
    "site-65": (chunk_bytes(site_id="s" * 65), JSON, 400, "bad_site_id", "not a site id"),
    "no-session": (chunk_bytes(session_id=...), JSON, 400, "bad_session_id", "session_id"),
    "session-newline": (
        chunk_bytes(session_id=SESSION + "\n"),
        JSON,
        400,
        "bad_session_id",
        "session_id must be a UUID",
    ),
    "session-not-uuid": (chunk_bytes(session_id="s-1"), JSON, 400, "bad_session_id", "UUID"),
    "session-number": (chunk_bytes(session_id=12), JSON, 400, "bad_session_id", "UUID"),
    "chunk-newline": (
        chunk_bytes(chunk_id=str(uuid.uuid4()) + "\n"),
        JSON,
        400,
        "bad_chunk_id",
        "chunk_id must be a UUID",
    ),
    "no-chunk-id": (chunk_bytes(chunk_id=...), JSON, 400, "bad_chunk_id", "chunk_id"),
    "no-events": (chunk_bytes(events=...), JSON, 400, "no_events", "non-empty array"),
    "empty-events": (chunk_bytes(events=[]), JSON, 400, "no_events", "non-empty array"),
    "events-object": (chunk_bytes(events={"0": {}}), JSON, 400, "no_events", "array"),
    # Nesting orjson reads (up to 1024 levels) but cannot write back (over 254).
    "too-deep": (
        chunk_bytes()[:-1] + b',"deep":' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}",
        JSON,
        400,
        "too_deep",
        "deeper than 254 levels",
    ),
    # gzip recognised by its first two bytes, then not gzip.
    "gzip-magic-then-garbage": (b"\x1f\x8bgarbage", {}, 400, "bad_gzip", "not valid gzip"),
    "gzip-truncated": (GOOD_GZIP[: len(GOOD_GZIP) // 2], {}, 400, "bad_gzip", "truncated"),
    "gzip-trailing": (GOOD_GZIP + b"x", {}, 400, "bad_gzip", "data after the gzip stream"),
    "gzip-header-plain-body": (
        chunk_bytes(),
        {"Content-Encoding": "gzip"},
        400,
        "bad_gzip",
        "not valid gzip",
    ),
    "xml": (chunk_bytes(), {"Content-Type": "application/xml"}, 415, "unsupported_media_type", ""),
    "form": (
        chunk_bytes(),
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        "Content-Type",
    ),
    "brotli": (
        chunk_bytes(),
        {**JSON, "Content-Encoding": "br"},
        415,
        "unsupported_encoding",
        "Content-Encoding",
    ),
}


async def test_refusals_get_their_status_and_reason_and_are_counted(
    replay_collector: MakeHarness,
) -> None:
    harness = replay_collector()
    async with harness.client() as client:
        for case, (body, headers, status, _, reason) in REFUSALS.items():
            response = await client.post("/replay", content=body, headers=headers)
            assert response.status_code == status, (case, response.text)
            assert reason in response.json()["error"], case
            assert response.headers["access-control-allow-origin"] == "*", case
        metrics = await metrics_of(client)
    for code in {code for _, _, _, code, _ in REFUSALS.values()}:
        count = sum(1 for *_, c, _ in REFUSALS.values() if c == code)
        assert (
            f'insightlite_collector_replay_rejected_requests_total{{reason="{code}"}} {count}.0'
            in metrics
        ), code
    assert 'insightlite_collector_replay_requests_total{status="400"}' in metrics
    assert "insightlite_collector_rejected_requests_total{reason=" not in metrics
    assert harness.written() == 0


async def test_site_outside_the_allowlist_is_refused(replay_collector: MakeHarness) -> None:
    harness = replay_collector(site_allowlist="shop.example.com")
    async with harness.client() as client:
        for site in ("blog.example.org", "shop.example.co", "shop.example.com."):
            response = await client.post("/replay", content=chunk_bytes(site_id=site))
            assert response.status_code == 400, site
            assert response.json()["error"] == f"site_id {site!r} is not accepted here"
        assert (await client.post("/replay", content=chunk_bytes())).status_code == 202
        metrics = await metrics_of(client)
    assert 'replay_rejected_requests_total{reason="site_not_allowed"} 3.0' in metrics
    assert harness.written() == 1


async def test_too_many_events_is_refused(replay_collector: MakeHarness) -> None:
    harness = replay_collector(collector_replay_max_events=3)
    events = [{"type": 3, "timestamp": RECEIVED_AT, "data": {}}] * 4
    async with harness.client() as client:
        response = await client.post("/replay", content=chunk_bytes(events=events))
        assert response.status_code == 400
        assert response.json()["error"] == "4 events in one chunk; at most 3"
        accepted = await client.post("/replay", content=chunk_bytes(events=events[:3]))
        assert accepted.status_code == 202, accepted.text
        metrics = await metrics_of(client)
    assert 'replay_rejected_requests_total{reason="too_many_events"} 1.0' in metrics


async def test_bodies_over_the_limits_get_413(replay_collector: MakeHarness) -> None:
    harness = replay_collector(
        collector_replay_max_body_bytes=8192, collector_replay_max_chunk_bytes=4096
    )
    padding = [{"type": 3, "timestamp": 1, "data": {"t": "x" * 5000}}]
    async with harness.client() as client:
        sent = await client.post("/replay", content=chunk_bytes(events=padding * 2))
        assert sent.status_code == 413
        assert "the body is larger than 8192 bytes" in sent.json()["error"]
        plain = await client.post("/replay", content=chunk_bytes(events=padding))
        assert plain.status_code == 413
        assert "decompressed body is larger than 4096 bytes" in plain.json()["error"]
        small_gzip = gzip.compress(chunk_bytes(events=padding))
        assert len(small_gzip) < 4096
        inflated = await client.post("/replay", content=small_gzip)
        assert inflated.status_code == 413
        assert "decompressed body is larger than 4096 bytes" in inflated.json()["error"]
        metrics = await metrics_of(client)
    assert 'replay_rejected_requests_total{reason="too_large"} 3.0' in metrics


async def test_gzip_bomb_gets_413_at_the_default_chunk_limit(replay_collector: MakeHarness) -> None:
    harness = replay_collector()
    bomb = gzip.compress(b'{"site_id":"' + b"a" * (100 * 1024 * 1024) + b'"}', compresslevel=9)
    assert len(bomb) < 1024 * 1024  # under the body limit as sent; 100 MiB inflated
    async with harness.client() as client:
        response = await client.post(
            "/replay", content=bomb, headers={"Content-Type": "text/plain"}
        )
    assert response.status_code == 413
    assert "decompressed body is larger than 8388608 bytes" in response.json()["error"]


async def test_a_record_the_producer_cannot_hold_is_413_not_5xx(
    replay_collector: MakeHarness,
) -> None:
    # Written back, 1e9 becomes 1000000000.0: a chunk under the chunk limit grows past
    # what a replay record may hold (the chunk limit plus 64 KiB).
    harness = replay_collector(collector_replay_max_chunk_bytes=64 * 1024)
    numbers = b"[" + b",".join([b"1e9"] * 15_000) + b"]"
    body = chunk_bytes()[:-1] + b',"n":' + numbers + b"}"
    assert len(body) < 64 * 1024
    async with harness.client() as client:
        response = await client.post("/replay", content=body)
        metrics = await metrics_of(client)
    assert response.status_code == 413
    assert "the chunk is larger than the 131072 bytes" in response.json()["error"]
    assert 'replay_rejected_requests_total{reason="record_too_large"} 1.0' in metrics


async def test_a_slow_body_gets_408_and_the_connection_closed(
    replay_collector: MakeHarness,
) -> None:
    # Called as ASGI: the body never arrives within the deadline. The answer must come
    # from the deadline, not from the body arriving later (then it would be a 202).
    harness = replay_collector(collector_body_timeout_seconds=0.2)
    sent: list[MutableMapping[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/replay",
        "raw_path": b"/replay",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"text/plain")],
        "client": ("198.51.100.7", 51000),
        "server": ("collector.test", 80),
    }

    async def receive() -> dict[str, Any]:
        await anyio.sleep(30)
        return {"type": "http.request", "body": chunk_bytes(), "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await harness.app(scope, receive, send)
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"did not arrive within 0.2 s" in sent[1]["body"]
    async with harness.client() as client:
        metrics = await metrics_of(client)
    assert 'replay_rejected_requests_total{reason="body_timeout"} 1.0' in metrics
