"""Session replay end to end in real Chromium: the tracker's replay module records a
visitor on a shop page (typing an email, a password and a card number, clicking,
scrolling, a single-page-app navigation and a page load), the chunks go through the
collector and Kafka into the pipeline, the query API lists and serves the recording,
and rrweb's replayer, in Chromium, rebuilds the page from it. The rebuilt page shows
the typed text masked, the blocked panel empty, the page's contact details masked,
and the click on the button it was made on. Every stored byte (blobs, table rows,
the topic read back, dead letters, logs, the API's answer) is scanned for the
planted values.

Screenshots: test-artifacts/replay-e2e/ (the page as recorded, and as rebuilt).
"""

from __future__ import annotations

import functools
import gzip
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import orjson
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from api.query.app import create_app
from connectors.archive import ArchiveWriter
from connectors.archive.replays import ReplayBlobStore
from connectors.crypto import archive_cipher
from connectors.kafka.topics import create_topics, topic_name, topic_names
from devtools.local_kafka import LocalKafka
from foundation.settings import load_settings
from tests.api.query_support import claims
from tests.e2e.browser_harness import (
    _StaticHandler,
    built_script,
    chromium_executable,
    raw_events,
    running_collector,
)
from tests.e2e.cli import ROOT, insightlite, query_json
from tests.e2e.test_browser_sdk import CHROMIUM_ARGS, DESKTOP_UA
from tests.kafka_fixture import TopicFactory, topic_size

SITE = "replay-e2e"
PAGE_DIR = Path(__file__).resolve().parent / "replay_page"
DIST = ROOT / "sdk" / "dist"
ARTIFACTS = ROOT / "test-artifacts" / "replay-e2e"
JWT_SECRET = "replay-e2e-jwt-secret-0123456789abcdef"
VIEWPORT = {"width": 1280, "height": 800}

TYPED_EMAIL = "shopper.real@example.net"
TYPED_PASSWORD = "hunter2-Secret!"
TYPED_CARD = "4111 1111 1111 1111"
PAGE_EMAIL = "ana.lopez@example.com"
PAGE_PHONE = "+1 415 555 0199"
MASKED_NAME = "Jane Quixote"
BLOCKED_TEXT = "SECRETBLOCK 98,765.43"
PLANTED = (
    TYPED_EMAIL,
    TYPED_PASSWORD,
    TYPED_CARD,
    TYPED_CARD.replace(" ", ""),
    PAGE_EMAIL,
    PAGE_PHONE,
    "555 0199",
    MASKED_NAME,
    "SECRETBLOCK",
    "98,765.43",
    DESKTOP_UA,
)
SOCKS_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
    b'<rect width="120" height="80" fill="#7c3aed"/></svg>'
)


@dataclass
class Visit:
    """What the visitor did, as the live page saw it."""

    buy_box: dict[str, float] = field(default_factory=dict)
    buy_click: tuple[float, float] = (0.0, 0.0)
    page_errors: list[str] = field(default_factory=list)


@contextmanager
def shop_origin(endpoint: str) -> Iterator[str]:
    """The shop page (at /, its in-app route /pricing and /checkout), the tracker and
    its replay module, and a player page with rrweb's replayer, on a loopback port."""
    page = PAGE_DIR.joinpath("index.html").read_text(encoding="utf-8")
    for name, value in {
        "{{ENDPOINT}}": endpoint,
        "{{SITE}}": SITE,
        "{{PAGE_EMAIL}}": PAGE_EMAIL,
        "{{PAGE_PHONE}}": PAGE_PHONE,
        "{{MASKED_NAME}}": MASKED_NAME,
        "{{BLOCKED_TEXT}}": BLOCKED_TEXT,
    }.items():
        page = page.replace(name, value)
    html, js = "text/html; charset=utf-8", "text/javascript; charset=utf-8"
    routes = {
        "/": (page.encode(), html),
        "/pricing": (page.encode(), html),
        "/checkout": (page.encode(), html),
        "/socks.svg": (SOCKS_SVG, "image/svg+xml"),
        "/insightlite.min.js": (built_script(), js),
        "/insightlite-replay.min.js": ((DIST / "insightlite-replay.min.js").read_bytes(), js),
        "/player": (PAGE_DIR.joinpath("player.html").read_bytes(), html),
        "/replayer/rrweb-replay.js": ((DIST / "replayer" / "rrweb-replay.js").read_bytes(), js),
        "/replayer/style.css": ((DIST / "replayer" / "style.css").read_bytes(), "text/css"),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticHandler, routes))
    thread = threading.Thread(target=server.serve_forever, name="replay-page", daemon=True)
    thread.start()
    try:
        # A host name, as sites have: the server masks IP addresses in every string of
        # a recording, resource URLs included.
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _recording_started(page: Any) -> None:
    page.wait_for_function("() => window.insightlite && window.insightlite.stats().replay")
    page.wait_for_function("() => window.insightlite.stats().replay.recording === true")


def visit(browser: Browser, origin: str) -> Visit:
    """Everything the visitor does; the page is closed at the end (page-hide beacon)."""
    done = Visit()
    context = browser.new_context(user_agent=DESKTOP_UA, viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.on("pageerror", lambda error: done.page_errors.append(str(error)))
    page.goto(f"{origin}/", wait_until="load")
    _recording_started(page)
    page.mouse.move(300, 200, steps=5)
    for selector, text in (("#email", TYPED_EMAIL), ("#password", TYPED_PASSWORD)):
        page.click(selector)
        page.keyboard.type(text, delay=15)
    page.click("#card")
    page.keyboard.type(TYPED_CARD, delay=15)
    box = page.locator("#buy").bounding_box()
    assert box is not None
    done.buy_box = dict(box)
    done.buy_click = (box["x"] + 37, box["y"] + 19)
    page.mouse.click(*done.buy_click)
    page.locator("#added").wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-as-recorded.png"))
    page.mouse.wheel(0, 700)
    page.wait_for_function("() => window.scrollY >= 600")
    page.wait_for_timeout(400)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.click("#to-pricing")  # in-app navigation: the same recording goes on
    page.wait_for_url(f"{origin}/pricing")
    page.wait_for_timeout(1_300)  # a chunk leaves on the flush interval (1 s)
    page.click("#to-checkout")  # a page load: a new recording of the same session
    page.wait_for_url(f"{origin}/checkout")
    _recording_started(page)
    page.click("#email")
    page.keyboard.type(TYPED_EMAIL, delay=15)
    page.wait_for_timeout(800)
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    return done


def wait_for_chunks(bootstrap: str, topic: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The chunks once both page loads' recordings arrived and no more come for 1.5 s."""
    deadline = time.monotonic() + timeout
    chunks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        chunks = raw_events(bootstrap, topic)
        hrefs = {
            event["data"]["href"].rsplit("/", 1)[-1]
            for chunk in chunks
            for event in chunk["events"]
            if event["type"] == 4
        }
        if {"", "checkout"} <= hrefs:
            time.sleep(1.5)
            if topic_size(bootstrap, topic) == len(chunks):
                return chunks
            continue
        time.sleep(0.3)
    raise AssertionError(f"the recording did not arrive in {timeout} s: {len(chunks)} chunks")


def fetch_recording(data_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    """The recordings list, one recording's summary and its events, from the query API."""
    settings = load_settings(
        data_dir=str(data_dir),
        jwt_secret=JWT_SECRET,
    )
    token = jwt.encode(claims(time.time, sites=[SITE]), JWT_SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        listed = client.get(f"/v1/sites/{SITE}/replays", headers=headers)
        assert listed.status_code == 200, listed.text
        replays = listed.json()["replays"]
        assert len(replays) == 1, replays
        session = replays[0]["session_id"]
        events = client.get(f"/v1/sites/{SITE}/replays/{session}/events", headers=headers)
        assert events.status_code == 200, events.text
        other_site = client.get(f"/v1/sites/other-site/replays/{session}", headers=headers)
        assert other_site.status_code in (403, 404)
    return replays, orjson.loads(events.content), events.content


REBUILD = """
({events, at}) => {
  const replayer = new rrwebReplay.Replayer(events, {
    root: document.getElementById('player'), mouseTail: false, showWarning: false,
  });
  replayer.pause(at);
  window.replayer = replayer;
  return true;
}
"""

INSPECT = """
(clickId) => {
  const doc = window.replayer.iframe.contentDocument;
  const text = (id) => (doc.getElementById(id) || {}).textContent;
  const clicked = window.replayer.getMirror().getNode(clickId);
  const element = clicked && (clicked.nodeType === 1 ? clicked : clicked.parentElement);
  const box = element ? element.getBoundingClientRect() : null;
  return {
    values: ['email', 'password', 'card'].map((id) => doc.getElementById(id).value),
    contact: text('contact'),
    customer: text('customer'),
    title: text('title'),
    added: text('added'),
    // rrweb keeps a blocked element as an empty box of its size, without its id.
    blocked: (() => {
      const panel = doc.querySelector('.tall').previousElementSibling;
      const size = panel.getBoundingClientRect();
      return {tag: panel.tagName, text: panel.textContent, children: panel.childNodes.length,
              width: Math.round(size.width), height: Math.round(size.height)};
    })(),
    image: !!doc.getElementById('product'),
    clickedId: element ? (element.closest('#buy') || element).id : null,
    box: box && {x: box.x, y: box.y, width: box.width, height: box.height},
  };
}
"""


def rebuild(
    browser: Browser, origin: str, events: list[dict[str, Any]], point: tuple[float, float]
) -> dict[str, Any]:
    """rrweb's replayer in Chromium, paused just after the recorded click nearest to
    ``point`` (where the visitor clicked the Buy button; the fields were clicked too)."""
    clicks = [
        event
        for event in events
        if event["type"] == 3
        and event["data"].get("source") == 2
        and event["data"].get("type") == 2
    ]
    assert clicks, "the recording holds no click"
    buy = min(
        clicks,
        key=lambda e: abs(e["data"]["x"] - point[0]) + abs(e["data"]["y"] - point[1]),
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{origin}/player", wait_until="load")
    # At the click: the page as the visitor saw it when clicking (the button's
    # handler adds a line above it a few milliseconds later).
    at = buy["timestamp"] - events[0]["timestamp"]
    page.evaluate(REBUILD, {"events": events, "at": at})
    page.wait_for_timeout(500)
    seen: dict[str, Any] = page.evaluate(INSPECT, buy["data"]["id"])
    page.screenshot(path=str(ARTIFACTS / "page-as-rebuilt.png"))
    page.evaluate("(at) => window.replayer.pause(at)", at + 1_000)
    page.wait_for_timeout(300)
    seen["added"] = page.evaluate(
        "() => (window.replayer.iframe.contentDocument.getElementById('added') || {}).textContent"
    )
    seen["click"] = (buy["data"]["x"], buy["data"]["y"])
    seen["clicks"] = [(e["data"]["id"], e["data"]["x"], e["data"]["y"]) for e in clicks]
    seen["point"] = point
    context.close()
    return seen


def stored_bytes(data_dir: Path, bootstrap: str, prefix: str) -> dict[str, bytes]:
    """Every output of the recording, as bytes to scan."""
    settings = load_settings(kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix)
    # Blobs and dead letters are stored encrypted: scanned decrypted, with the run's keys.
    cipher = archive_cipher(load_settings(data_dir=data_dir))
    store = ReplayBlobStore(str(data_dir / "archive"), cipher=cipher)
    blobs = b"".join(
        gzip.decompress(store.read(name))
        for _site, _session, names in store.sessions()
        for name in names
    )
    rows = orjson.dumps(query_json(data_dir, "SELECT * FROM session_replay_chunks FINAL"))
    topic = orjson.dumps(raw_events(bootstrap, topic_name(settings, "replay_events")))
    dead = orjson.dumps(ArchiveWriter(str(data_dir / "archive"), cipher=cipher).read_dead_letters())
    return {"blobs": blobs, "chunk rows": rows, "replay_events topic": topic, "dead letters": dead}


def test_a_recording_from_chromium_is_stored_masked_and_rebuilt(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory, tmp_path: Path
) -> None:
    chromium = chromium_executable()
    bootstrap = kafka_broker.bootstrap_servers
    prefix = kafka_topics.prefix()
    settings = load_settings(
        kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix, kafka_partitions=1
    )
    create_topics(settings)
    kafka_topics.wait_listed(*topic_names(settings))
    env = {
        **os.environ,
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
    }
    collector_log = tmp_path / "collector.log"
    with running_collector(env, collector_log) as collector:
        endpoint = f"{collector.url}/ingest"
        with shop_origin(endpoint) as origin, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            try:
                done = visit(browser, origin)
                chunks = wait_for_chunks(bootstrap, topic_name(settings, "replay_events"))
                assert not done.page_errors, done.page_errors
                data_dir = tmp_path / "data"
                run = insightlite(
                    "run", "--input", "kafka", "--stop-at-end", "--data-dir", str(data_dir),
                    "--json", env=env,
                )  # fmt: skip
                summary = orjson.loads(run.stdout.strip().splitlines()[-1])
                assert summary["replay"]["stored"] == len(chunks), summary["replay"]
                replays, events, events_body = fetch_recording(data_dir)
                seen = rebuild(browser, origin, events, done.buy_click)
            finally:
                browser.close()

    # One recording of the tracker's session, with both page loads and the SPA route.
    (recording,) = replays
    assert {chunk["session_id"] for chunk in chunks} == {recording["session_id"]}
    assert {"/", "/pricing", "/checkout"} <= set(recording["pages"])
    assert recording["chunk_count"] == len(chunks)
    assert recording["event_count"] == len(events) == sum(len(c["events"]) for c in chunks)
    assert recording["click_count"] >= 4 and recording["device_type"] == "desktop"
    assert recording["duration_seconds"] >= 2
    assert [event["timestamp"] for event in events] == sorted(e["timestamp"] for e in events)

    # The rebuilt page: typed values masked, blocked panel empty, contact details and
    # the masked element starred, the page's own change replayed.
    typed = (TYPED_EMAIL, TYPED_PASSWORD, TYPED_CARD)
    assert seen["values"] == ["*" * len(text) for text in typed], seen
    assert seen["blocked"] == {"tag": "DIV", "text": "", "children": 0, "width": 400, "height": 80}
    assert PAGE_EMAIL not in seen["contact"] and "555" not in seen["contact"]
    assert seen["contact"].startswith("Questions? Write to")
    assert MASKED_NAME not in seen["customer"] and set(seen["customer"].strip()) <= {"*", " "}
    assert seen["title"] == "Wool socks" and seen["added"] == "Added to cart"
    assert seen["image"]
    # The click landed on the Buy button, where the live page had it.
    assert seen["clickedId"] == "buy"
    box, (x, y) = seen["box"], seen["click"]
    inside = box["x"] <= x <= box["x"] + box["width"] and box["y"] <= y <= box["y"] + box["height"]
    assert inside, (seen["clicks"], seen["point"], seen["box"], seen["clickedId"])
    assert abs(x - done.buy_click[0]) <= 1 and abs(y - done.buy_click[1]) <= 1
    assert abs(box["x"] - done.buy_box["x"]) <= 1 and abs(box["y"] - done.buy_box["y"]) <= 1

    # No planted value in any stored byte, the API's answer, or the logs.
    outputs = stored_bytes(data_dir, bootstrap, prefix)
    outputs["API events"] = events_body
    outputs["collector log"] = collector_log.read_bytes()
    outputs["pipeline output"] = (run.stdout + run.stderr).encode()
    for where, data in outputs.items():
        for planted in PLANTED:
            assert planted.encode() not in data, f"{planted!r} in {where}"
        assert b'"ip"' not in data and b'"ua"' not in data, where
    minutes = max(recording["duration_seconds"], 1) / 60
    print(f"bytes stored per minute of recording: {round(recording['bytes'] / minutes):,}")
