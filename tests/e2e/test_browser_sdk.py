"""The browser tracker in a real browser, end to end.

Chromium (Debian's, driven by Playwright) opens a test page that loads the built
tracker (``sdk/dist/insightlite.min.js``) from another origin than the
collector's. The test clicks at known points, moves the mouse, scrolls, flushes
once by hand, navigates the single-page app and back, and raises an uncaught
TypeError, then closes the page, so that what is still queued must leave by
``navigator.sendBeacon``. The real collector writes to a real Kafka broker, one
run of the flow fills ClickHouse, and the tables must show what the browser did:
the page views, the heatmap cells under the clicked points (and none under the
ignored element), the fixed header's click in viewport coordinates, the scroll
depth, the error class and exactly one session.

For a person: ``test-artifacts/sdk-e2e/page-and-heatmap.png`` shows the page's
screenshot, its click heatmap at the same scale and the two overlaid; the two
source images are kept beside it.

Chromium is not optional here: ``./dev test`` installs it, and without it the
test fails (it is not skipped) so that a machine missing it cannot pass silently.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pyarrow.parquet as pq
import pytest
import xxhash
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright

from api.query.heatmap_cells import HeatmapCell, HeatmapFilter
from api.query.heatmap_png import describe_filter
from connectors.kafka.topics import create_topics, topic_name, topic_names
from devtools.generator import PLANTED_CARDS, PLANTED_EMAILS, PLANTED_PHONES, PLANTED_SSNS
from devtools.local_kafka import LocalKafka
from foundation.settings import load_settings
from tests.e2e.browser_harness import (
    CELL_PX,
    VIEWPORT_H,
    VIEWPORT_W,
    built_script,
    chromium_executable,
    page_origin,
    running_collector,
    side_by_side,
    wait_for_raw,
)
from tests.e2e.cli import ROOT, insightlite, query_json
from tests.kafka_fixture import TopicFactory, read_topic
from tests.privacy_scan import ip_leaks, planted_leaks

SITE = "sdk-e2e"
ARTIFACTS = ROOT / "test-artifacts" / "sdk-e2e"
PLANTED_PROPS = {
    "email": PLANTED_EMAILS[0],
    "phone": PLANTED_PHONES[0],
    "card": PLANTED_CARDS[0],
    "ssn": PLANTED_SSNS[0],
}
# What the collector adds to each record: not what the browser sent.
COLLECTOR_FIELDS = ("visitor", "received_at")

# A desktop Chrome user agent: the pipeline's bot filter drops "HeadlessChrome".
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGE_HEIGHT = 4000  # the test page's document height (its #page element)
# Quiet, self-contained Chromium: no sandbox (CI runs as root), no GPU, no
# background traffic that could slow the run or reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The tracker's scroll events are debounced; this is comfortably longer.
SCROLL_SETTLE_MS = 700
# Mouse moves are sampled once per 500 ms; this is comfortably longer.
MOVE_SAMPLE_MS = 600


# --- driving the page --------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """A click the test made: document and viewport coordinates of the same point."""

    selector: str
    doc_x: float
    doc_y: float
    view_x: float
    view_y: float

    def cell(self, *, fixed: bool = False) -> tuple[int, int]:
        """The heatmap cell the pipeline must count it in (operators/heatmap.py)."""
        x, y = (self.view_x, self.view_y) if fixed else (self.doc_x, self.doc_y)
        return min(99, math.floor(100 * x / VIEWPORT_W)), math.floor(y / CELL_PX)


@dataclass
class BrowserRun:
    """What the browser did and what it sent, for the assertions and the report."""

    clicks: dict[str, Click] = field(default_factory=dict)
    fixed_clicks: list[Click] = field(default_factory=list)
    # Event ids that left in the hand-made flush (by fetch, before the page was left).
    flushed_ids: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    stats_before_close: Any = None
    # The page's clock just before it was closed: what the beacon sent is stamped later.
    closing_at: int = 0
    screenshot: Path | None = None


def click_element(page: Page, selector: str) -> Click:
    """Clicks the middle of an element with the mouse, as a person would, and returns
    where that is in the document and in the viewport."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not visible"
    view_x = box["x"] + box["width"] / 2
    view_y = box["y"] + box["height"] / 2
    scroll_x, scroll_y = page.evaluate("() => [window.scrollX, window.scrollY]")
    page.mouse.click(view_x, view_y)
    return Click(selector, view_x + scroll_x, view_y + scroll_y, view_x, view_y)


def scroll_to(page: Page, y: int) -> None:
    page.evaluate("(y) => window.scrollTo(0, y)", y)
    page.wait_for_function("(y) => Math.abs(window.scrollY - y) < 1", arg=y)


def record_requests(run: BrowserRun, context: BrowserContext, endpoint: str) -> None:
    """Keeps every request to the collector (method, type, content type, body)."""

    def on_request(request: Request) -> None:
        if not request.url.startswith(endpoint):
            return
        body = request.post_data
        run.requests.append(
            {
                "method": request.method,
                "resource_type": request.resource_type,
                "content_type": request.headers.get("content-type", ""),
                "events": orjson.loads(body) if body else None,
            }
        )

    context.on("request", on_request)


def drive_page(browser: Browser, origin: str, endpoint: str, screenshot: Path) -> BrowserRun:
    """Everything a visitor does on the test page; see the module docstring."""
    run = BrowserRun()
    context = browser.new_context(
        user_agent=DESKTOP_UA,
        viewport={"width": VIEWPORT_W, "height": VIEWPORT_H},
        device_scale_factor=1,
    )
    record_requests(run, context, endpoint)
    page = context.new_page()
    page.on("pageerror", lambda error: run.page_errors.append(f"{error.name}: {error.message}"))
    page.on("console", lambda message: run.console.append(f"{message.type}: {message.text}"))

    page.goto(f"{origin}/", wait_until="load")
    page.wait_for_function("() => typeof window.insightlite === 'object'")

    # The first part leaves by fetch in the hand-made flush below.
    page.mouse.move(100, 200)
    page.wait_for_timeout(MOVE_SAMPLE_MS)
    page.mouse.move(400, 420, steps=8)
    page.wait_for_timeout(MOVE_SAMPLE_MS)
    run.clicks["buy"] = click_element(page, "#buy")
    run.fixed_clicks.append(click_element(page, "#menu"))
    run.clicks["secret"] = click_element(page, "#secret")  # inside data-insightlite-ignore
    # Personal data a page might hand the tracker: balanced mode masks it before
    # it leaves the browser, and none of it may reach any output.
    page.evaluate(
        "(p) => { window.insightlite.track('signup', p); window.insightlite.identify(p); }",
        PLANTED_PROPS,
    )
    page.evaluate("() => window.insightlite.flush()")
    run.flushed_ids = {
        event["event_id"] for request in run.requests for event in request["events"] or []
    }

    # Everything from here on can only leave by the beacon when the page goes away:
    # the flush interval (60 s) and size (500) are never reached.
    scroll_to(page, 800)
    run.clicks["signup"] = click_element(page, "#signup")
    page.mouse.wheel(0, PAGE_HEIGHT)
    page.wait_for_function(
        "() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1"
    )
    page.wait_for_timeout(SCROLL_SETTLE_MS)
    # The fixed header's button again, scrolled to the bottom: same viewport point.
    run.fixed_clicks.append(click_element(page, "#menu"))
    with page.expect_event("pageerror"):
        run.clicks["crash"] = click_element(page, "#crash")

    scroll_to(page, 0)
    run.clicks["to-pricing"] = click_element(page, "#to-pricing")
    page.wait_for_url(f"{origin}/pricing")
    page.go_back()
    page.wait_for_url(f"{origin}/")
    page.locator("#buy").wait_for(state="visible")

    run.screenshot = screenshot
    page.screenshot(path=str(screenshot), full_page=True)
    run.stats_before_close = page.evaluate("() => window.insightlite.stats()")
    run.closing_at = page.evaluate("() => Date.now()")
    # Closing the tab fires pagehide (and visibilitychange to hidden): the tracker must
    # hand the rest of its queue to sendBeacon, which outlives the page.
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    return run


Raw = list[dict[str, Any]]
# Heatmap counts by (url_path, interaction_type, grid_x, grid_y).
Cells = dict[tuple[str, str, int, int], int]


def _path(event: dict[str, Any]) -> str:
    return urlsplit(str(event.get("url", ""))).path


def _beacon_arrived(events: Raw) -> bool:
    """Whether the raw records hold what the page could only send as it went away."""
    pageviews = [_path(e) for e in events if e.get("type") == "pageview"]
    return (
        pageviews.count("/") >= 2
        and "/pricing" in pageviews
        and any(e.get("type") == "error" for e in events)
        and any(e.get("type") == "scroll" for e in events)
    )


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= 1.0


def _answered(metrics: str, status: int) -> int:
    """How many ingest requests the collector answered with ``status``."""
    found = re.search(
        rf'^insightlite_collector_requests_total\{{status="{status}"\}} (\S+)$', metrics, re.M
    )
    return round(float(found.group(1))) if found else 0


def _describe(run: BrowserRun, raw: Raw) -> str:
    """What the browser did and sent, for assertion messages."""
    lines = [f"requests the page made to the collector: {len(run.requests)}"]
    for request in run.requests:
        events = request["events"] or []
        lines.append(
            f"  {request['method']} {request['resource_type']} {request['content_type']!r}: "
            + ", ".join(str(e.get("type")) for e in events)
        )
    lines.append(f"tracker stats before the page closed: {run.stats_before_close}")
    lines.append(f"page errors: {run.page_errors}")
    lines.append(f"console: {run.console[-10:]}")
    lines.append(f"raw records ({len(raw)}):")
    lines.extend(f"  {orjson.dumps(e).decode()[:400]}" for e in raw)
    return "\n".join(lines)


def check_what_the_browser_sent(run: BrowserRun, raw: Raw, metrics: str, report: str) -> None:
    """The tracker's side of the contract, on the records the collector wrote."""
    assert run.page_errors and "TypeError" in run.page_errors[0], report
    assert run.flushed_ids, "the hand-made flush sent nothing\n" + report
    assert len({e["event_id"] for e in raw}) == len(raw), "an event was sent twice\n" + report
    assert {e["site_id"] for e in raw} == {SITE}, report
    assert len({e["session_id"] for e in raw}) == 1, report
    # The beacon too must carry the page's user agent, or the bot filter drops it; the
    # collector writes what it derived from it, never the user agent or the address.
    desktop_hash = xxhash.xxh64_intdigest(DESKTOP_UA.encode())
    assert all(e["visitor"]["ua_hash"] == desktop_hash for e in raw), report
    assert all(e["visitor"]["bot"] is None for e in raw), report
    assert not any("ip" in e or "ua" in e for e in raw), report

    # What was queued after the flush left in one request as the page closed: the
    # flush interval (60 s) and size (500) were never reached, so that was the beacon.
    later = [e for e in raw if e["event_id"] not in run.flushed_ids]
    assert {("pageview", "/pricing"), ("error", "/"), ("scroll", "/")} <= {
        (e["type"], _path(e)) for e in later
    }, report
    assert all(e["sent_at"] >= run.closing_at for e in later), report
    assert _answered(metrics, 202) == 2, metrics  # the flush's fetch and the beacon
    assert sum(_answered(metrics, s) for s in (400, 413, 415, 429, 503)) == 0, metrics

    clicks = [e for e in raw if e["type"] == "click"]
    assert all(e["vw"] == VIEWPORT_W and e["vh"] == VIEWPORT_H for e in clicks), report
    for name in ("buy", "signup", "crash", "to-pricing"):
        expected = run.clicks[name]
        assert any(
            not e.get("fixed")
            and _near(e["x"], expected.doc_x)
            and _near(e["y"], expected.doc_y)
            and f"#{name}" in e.get("target", "")
            for e in clicks
        ), f"no click on #{name} at its document point\n" + report
    secret = run.clicks["secret"]
    tracked = [e for e in clicks if _near(e["x"], secret.doc_x) and _near(e["y"], secret.doc_y)]
    assert not tracked, "a click inside data-insightlite-ignore was tracked\n" + report
    fixed = [e for e in clicks if e.get("fixed")]
    assert len(fixed) == len(run.fixed_clicks), report
    for event, expected in zip(fixed, run.fixed_clicks, strict=True):
        assert _near(event["x"], expected.view_x) and _near(event["y"], expected.view_y), report

    moves = sorted(e["ts"] for e in raw if e["type"] == "move")
    assert moves, report
    # One move per 500 ms; a timestamp may be taken a millisecond after the sampling.
    assert all(b - a >= 490 for a, b in itertools.pairwise(moves)), report
    scrolls = [e for e in raw if e["type"] == "scroll"]
    assert all(e["dh"] == PAGE_HEIGHT for e in scrolls), report
    assert max(e["scroll_y"] + e["vh"] for e in scrolls) >= PAGE_HEIGHT - 1, report


def run_pipeline(data_dir: Path, env: dict[str, str], dead_letter_topic: str) -> None:
    """One run of the flow over the topic; fails with the dead letters if it refused
    or filtered any of the browser's events."""
    result = insightlite(
        "run", "--input", "kafka", "--stop-at-end", "--data-dir", str(data_dir), "--json", env=env
    )
    summary: dict[str, Any] = orjson.loads(result.stdout.strip().splitlines()[-1])
    if summary["rejected_total"] or summary["filtered_total"]:
        bootstrap = env["INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS"]
        dead = read_topic(bootstrap, dead_letter_topic, summary["rejected_total"])
        letters = "\n".join((m.value() or b"").decode(errors="replace")[:800] for m in dead)
        pytest.fail(f"the pipeline refused or filtered browser events: {summary}\n{letters}")


def check_tables(run: BrowserRun, raw: Raw, data_dir: Path) -> Cells:
    """Events, the session and the heatmap cells in ClickHouse; returns the cells."""
    events = query_json(
        data_dir,
        "SELECT toString(event_id) AS event_id, event_type, url_path, error_class, device_type"
        f" FROM events FINAL WHERE site_id = '{SITE}' ORDER BY timestamp, event_type",
    )
    # Every event, those that left by the beacon included, and nothing else.
    assert sorted(e["event_id"] for e in events) == sorted(e["event_id"] for e in raw)
    assert {e["device_type"] for e in events} == {"desktop"}
    pageviews = [e["url_path"] for e in events if e["event_type"] == "pageview"]
    assert pageviews == ["/", "/pricing", "/"], pageviews
    errors = [e for e in events if e["event_type"] == "error"]
    assert [e["error_class"] for e in errors] == ["type_error"], errors

    sessions = query_json(
        data_dir,
        "SELECT page_count, event_count, error_count, has_errors, entry_path, exit_path"
        f" FROM sessions FINAL WHERE site_id = '{SITE}'",
    )
    assert len(sessions) == 1, sessions
    session = sessions[0]
    assert session["page_count"] == 3, session
    assert session["event_count"] == len(raw), session
    assert session["error_count"] == 1 and session["has_errors"], session
    assert (session["entry_path"], session["exit_path"]) == ("/", "/"), session

    rows = query_json(
        data_dir,
        "SELECT url_path, interaction_type, grid_x, grid_y, sum(interaction_count) AS n"
        f" FROM heatmap_aggregates WHERE site_id = '{SITE}'"
        " GROUP BY url_path, interaction_type, grid_x, grid_y",
    )
    cells: Cells = {
        (r["url_path"], r["interaction_type"], r["grid_x"], r["grid_y"]): int(r["n"]) for r in rows
    }
    # The tracker listens in the capture phase, so the SPA link's click counts on the
    # page it was made on, before the page's own handler changes the URL.
    for name in ("buy", "signup", "crash", "to-pricing"):
        gx, gy = run.clicks[name].cell()
        assert cells.get(("/", "click", gx, gy)) == 1, (name, gx, gy, cells)
    assert sum(n for (_, kind, _, _), n in cells.items() if kind == "click") == 4, cells
    gx, gy = run.clicks["secret"].cell()
    assert ("/", "click", gx, gy) not in cells, "the ignored button's click was counted"
    # Both clicks on the fixed header's button: the same viewport point, top and bottom.
    fixed_cell = run.fixed_clicks[0].cell(fixed=True)
    assert cells.get(("/", "click_fixed", *fixed_cell)) == 2, (fixed_cell, cells)
    # The first view of / scrolled to the bottom: its viewport's bottom reached the
    # document's end, row 4000 / 16.
    deepest = max(gy for (path, kind, _, gy) in cells if (path, kind) == ("/", "scroll"))
    assert deepest == PAGE_HEIGHT // CELL_PX, cells
    assert any(kind == "move" for (_, kind, _, _) in cells), cells
    return cells


def check_privacy(raw: Raw, data_dir: Path) -> None:
    """The planted personal data: masked by the tracker, and in no output in clear."""
    planted = list(PLANTED_PROPS.values())
    customs = [e for e in raw if e["type"] == "custom"]
    assert {e["name"] for e in customs} == {"signup", "identify"}, customs
    assert all(e["props"] for e in customs), customs  # masked, not dropped
    sent = [{k: v for k, v in e.items() if k not in COLLECTOR_FIELDS} for e in raw]
    assert not planted_leaks(orjson.dumps(sent).decode(), planted)
    # The browser reaches the collector over loopback: that is the client's address,
    # which even the raw topic must not hold.
    client_ips = {"127.0.0.1"}
    assert not ip_leaks(orjson.dumps(raw).decode(), client_ips)
    archive = data_dir / "archive"
    outputs = {
        table: orjson.dumps(query_json(data_dir, f"SELECT * FROM {table}")).decode()
        for table in ("events", "sessions", "heatmap_aggregates")
    }
    outputs["archive"] = "\n".join(
        orjson.dumps(rows, default=str).decode()
        for rows in (pq.read_table(path).to_pylist() for path in archive.rglob("*.parquet"))
    )
    outputs["dead_letter"] = "\n".join(p.read_text() for p in archive.rglob("*.jsonl"))
    assert outputs["archive"], "the archive is empty"
    for name, text in outputs.items():
        assert not planted_leaks(text, planted), name
        assert not ip_leaks(text, client_ips), name


def write_pictures(run: BrowserRun, cells: Cells, data_dir: Path) -> None:
    """The click heatmap of / as the command draws it, and the side-by-side picture."""
    heatmap_png = ARTIFACTS / "heatmap-click.png"
    # One browser session: below the minimum crowd, which would hold every cell back.
    insightlite(
        "heatmap", "--site", SITE, "--path", "/", "--out", str(heatmap_png),
        "--data-dir", str(data_dir), env={"INSIGHTLITE_MIN_CROWD": "1"},
    )  # fmt: skip

    def home_cells(interaction: str) -> list[HeatmapCell]:
        return [
            HeatmapCell(grid_x=gx, grid_y=gy, count=n)
            for (path, kind, gx, gy), n in cells.items()
            if (path, kind) == ("/", interaction)
        ]

    assert run.screenshot is not None
    side_by_side(
        run.screenshot,
        heatmap_png,
        home_cells("click"),
        home_cells("click_fixed"),
        describe_filter(HeatmapFilter(site_id=SITE, url_path="/")),
        ARTIFACTS / "page-and-heatmap.png",
    )


# --- the test ----------------------------------------------------------------------


def test_tracker_in_a_real_browser_end_to_end(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory, tmp_path: Path
) -> None:
    chromium = chromium_executable()
    script = built_script()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    bootstrap = kafka_broker.bootstrap_servers
    prefix = kafka_topics.prefix()
    settings = load_settings(
        kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix, kafka_partitions=1
    )
    create_topics(settings)
    kafka_topics.wait_listed(*topic_names(settings))
    raw_topic = topic_name(settings, "raw_events")
    env = {
        **os.environ,
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
    }

    with running_collector(env, tmp_path / "collector.log") as collector:
        endpoint = f"{collector.url}/ingest"
        with page_origin(endpoint, script) as origin, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            try:
                run = drive_page(browser, origin, endpoint, ARTIFACTS / "page.png")
                # The browser stays open until the beacon has landed: closing it could
                # cancel a beacon still in flight.
                raw = wait_for_raw(bootstrap, raw_topic, _beacon_arrived)
            except BaseException:
                print(f"collector log:\n{collector.log_tail()}")
                raise
            finally:
                browser.close()
        metrics = collector.metrics()
    report = _describe(run, raw)
    print(report)  # shown by pytest when a later step fails

    check_what_the_browser_sent(run, raw, metrics, report)
    data_dir = tmp_path / "data"
    run_pipeline(data_dir, env, topic_name(settings, "dead_letter"))
    cells = check_tables(run, raw, data_dir)
    check_privacy(raw, data_dir)
    write_pictures(run, cells, data_dir)
