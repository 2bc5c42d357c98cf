"""What the dashboard's end-to-end tests stand on, built once for all of them.

- the demo's data (``insightlite demo --events 20000``) and, in the same data directory,
  one real recording made in Chromium: the shop page of the replay test, whose Buy
  button is clicked four times fast (a rage click), through the tracker and its replay
  module, the collector, Kafka and ``insightlite run --input kafka --stop-at-end``;
- the query API as a process (``insightlite api``) over that directory, serving the
  built dashboard, configured for Kafka so its live stream reads the ``processed_events``
  of a second topic prefix;
- for the Live page: a collector and a tailing pipeline (``insightlite run --input
  kafka``, its own data directory: the embedded engine allows one process per directory)
  on that second prefix;
- one Chromium for everything, and ``signed_in``: a fresh tab signed in by pasting the
  token, as a person does.

The fixtures: ``dashboard_browser``, ``dashboard_stack`` (a :class:`Stack`) and
``dashboard_live`` (a :class:`LiveFeed`).

Test modules load this file with ``pytest_plugins`` so that the fixtures, session-scoped
here, are built once however many of the dashboard's modules run. They import it first,
so pytest cannot rewrite its asserts (which carry their own messages): PYTEST_DONT_REWRITE
says so, instead of a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from connectors.kafka.topics import create_topics, topic_name, topic_names
from devtools.local_kafka import LocalKafka
from flows.cluster import free_ports
from foundation.settings import load_settings
from tests.api.query_support import FakeClock, claims
from tests.e2e import test_browser_replay as replay_test
from tests.e2e.browser_harness import (
    CollectorProcess,
    chromium_executable,
    raw_events,
    running_collector,
    wait_for_raw,
)
from tests.e2e.cli import ROOT, insightlite, start_insightlite, wait_ready
from tests.e2e.test_browser_replay import _recording_started, shop_origin
from tests.e2e.test_browser_sdk import CHROMIUM_ARGS, DESKTOP_UA
from tests.kafka_fixture import TopicFactory

# The built dashboard the API serves: the source tree's, unless the API's own variable
# names another build.
DIST = Path(os.environ.get("INSIGHTLITE_API_DASHBOARD_DIR") or ROOT / "dashboard" / "dist")
ARTIFACTS = ROOT / "test-artifacts" / "dashboard-e2e"
AXE = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
JWT_SECRET = "dashboard-e2e-jwt-secret-0123456789abcdef"
ENV_SECRETS = {
    "INSIGHTLITE_JWT_SECRET": JWT_SECRET,
}
SHOP_SITE = replay_test.SITE  # the shop page's site id
DEMO_SITE = "shop.example.com"  # the demo generator's first site
DEMO_SITES = ["shop.example.com", "blog.example.org", "docs.example.net"]
# A demo site under a minimum crowd no row reaches: its lists show what was held back.
CROWDED_OUT_SITE = "docs.example.net"
CROWDED_OUT_K = 1_000_000
SCREEN: ViewportSize = {"width": 1280, "height": 800}  # the dashboard's tab, and the screenshots
SHOP_VIEWPORT: ViewportSize = {"width": 1280, "height": 800}  # the recorded visitor's screen
BUY_CLICKS = 4
CELL_PX = 16  # INSIGHTLITE_HEATMAP_CELL_HEIGHT_PX's default


@dataclass(frozen=True)
class ShopVisit:
    """The recorded visit: its session and where and when the Buy button was clicked."""

    session_id: str
    heading: str
    buy_point: tuple[float, float]  # document px (the page was not scrolled)
    buy_clicks_ms: list[int]  # epoch ms, as the page's own click listener saw them

    @property
    def buy_cell(self) -> tuple[int, int]:
        """The heatmap cell of the clicks (operators/heatmap.py's grid)."""
        x, y = self.buy_point
        return min(99, int(100 * x // SHOP_VIEWPORT["width"])), int(y // CELL_PX)


@dataclass(frozen=True)
class Stack:
    """The running API (serving the dashboard), its token, and the recorded visit."""

    base_url: str
    token: str
    data_dir: Path
    visit: ShopVisit
    bootstrap: str
    live_prefix: str

    def api(self, route: str, /, **params: Any) -> Any:
        """The API's JSON answer to ``GET route`` with the dashboard's token."""
        answer = httpx.get(
            f"{self.base_url}{route}",
            params={k: v for k, v in params.items() if v is not None},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, (route, params, answer.status_code, answer.text)
        return answer.json()


def default_days() -> dict[str, str]:
    """The dashboard's days when the link names none: the 30 UTC days ending today, as
    the API's ``from`` and ``to``."""
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}


# --- the page ----------------------------------------------------------------------


@contextlib.contextmanager
def signed_in(browser: Browser, stack: Stack, path: str = "/") -> Iterator[Page]:
    """A new tab that opens ``path``, is sent to sign in, and signs in by pasting the
    token; it comes back on ``path`` (the dashboard returns to the view asked for)."""
    context = browser.new_context(viewport=SCREEN, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{stack.base_url}{path}")
        page.get_by_label("API token").fill(stack.token)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Dashboard").wait_for()
        yield page
        assert not errors, f"uncaught errors in the dashboard: {errors}"
    finally:
        context.close()


def screenshot(page: Page, name: str, height: int | None = None) -> None:
    """The tab as it is, or its top ``height`` px (the tab made that tall for it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if height is None:
        page.screenshot(path=str(ARTIFACTS / name))
        return
    page.set_viewport_size({"width": SCREEN["width"], "height": height})
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(300)  # a frame at the new size
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(SCREEN)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the dashboard (a recorded page rebuilt in an iframe is
    the recorded site's, not the dashboard's, and is left out). The script is evaluated
    through the DevTools protocol, which the page's CSP (scripts from the API only)
    does not govern, so the page itself runs as served."""
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `./dev dashboard` (npm ci)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        """async () => await window.axe.run(
            {exclude: [['iframe']]}, {iframes: false, resultTypes: ['violations']})"""
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


# --- building it --------------------------------------------------------------------


def _dashboard_dist() -> Path:
    if not (DIST / "index.html").is_file():
        pytest.fail(
            f"the dashboard is not built ({DIST / 'index.html'} is missing): run "
            "`./dev dashboard` (`./dev test` builds it before pytest)"
        )
    return DIST


def _record_visit(browser: Browser, origin: str) -> ShopVisit:
    """A visitor reads the shop page and clicks Buy four times fast (a rage click);
    closing the page sends what is left (page-hide beacon)."""
    context = browser.new_context(
        user_agent=DESKTOP_UA, viewport=SHOP_VIEWPORT, device_scale_factor=1
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{origin}/", wait_until="load")
    _recording_started(page)
    # Each press of Buy adds a line above the button; taken out of the flow, the lines
    # leave the button where it is, so the four presses land on it, as on a page that
    # seems not to answer. The clicks are timed as the page sees them.
    page.add_style_tag(content="#added { position: absolute; margin: 0; }")
    page.evaluate(
        """() => { window.clicks = [];
            document.addEventListener(
                'click', (e) => window.clicks.push([Date.now(), e.target.id]), true); }"""
    )
    page.mouse.move(300, 200, steps=5)
    page.wait_for_timeout(600)  # moves are sampled; the clicks come a moment later
    box = page.locator("#buy").bounding_box()
    assert box is not None
    point = (box["x"] + 60, box["y"] + 24)
    for _ in range(BUY_CLICKS):
        page.mouse.click(*point)
        page.wait_for_timeout(150)
    page.wait_for_timeout(1_300)  # a chunk leaves on the flush interval (1 s)
    clicks: list[tuple[int, str]] = page.evaluate("() => window.clicks")
    heading = page.locator("h1").inner_text()
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    context.close()
    assert not errors, errors
    assert [target for _, target in clicks] == ["buy"] * BUY_CLICKS, clicks
    return ShopVisit("", heading, point, [at for at, _ in clicks])


def _kafka_env(bootstrap: str, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        **ENV_SECRETS,
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix,
    }


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    """Stops the process; one that had ended by itself has its log's end printed."""
    if process.poll() is not None:
        if process.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            print(f"{log.name} (exit {process.returncode}):\n{tail}")
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def dashboard_browser() -> Iterator[Browser]:
    chromium = chromium_executable()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def dashboard_topics(kafka_broker: LocalKafka) -> Iterator[tuple[str, str]]:
    """Two topic prefixes, their topics created: the recording's and the live stream's."""
    factory = TopicFactory(kafka_broker, "dashboard-e2e")
    prefixes = (factory.prefix(), factory.prefix())
    for prefix in prefixes:
        settings = load_settings(
            kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
            kafka_topic_prefix=prefix,
            kafka_partitions=1,
        )
        create_topics(settings)
        factory.wait_listed(*topic_names(settings))
    try:
        yield prefixes
    finally:
        factory.cleanup()


@pytest.fixture(scope="session")
def dashboard_stack(
    dashboard_browser: Browser,
    kafka_broker: LocalKafka,
    dashboard_topics: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    dist = _dashboard_dist()
    work = tmp_path_factory.mktemp("dashboard-e2e")
    data_dir = work / "data"
    bootstrap = kafka_broker.bootstrap_servers
    record_prefix, live_prefix = dashboard_topics
    env = _kafka_env(bootstrap, record_prefix)
    settings = load_settings(kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=record_prefix)
    with contextlib.ExitStack() as cleanup:
        # The demo runs while Chromium records: the two meet only in the data directory,
        # which the recording's pipeline run opens once the demo is done.
        demo_log = work / "demo.log"
        demo = start_insightlite(
            ["demo", "--events", "20000", "--data-dir", str(data_dir)], {**os.environ}, demo_log
        )
        cleanup.callback(_stop, demo, demo_log)
        collector = cleanup.enter_context(running_collector(env, work / "collector.log"))
        # The shop stays up: the rebuilt pages load its picture of the socks from it.
        origin = cleanup.enter_context(shop_origin(f"{collector.url}/ingest"))
        visit = _record_visit(dashboard_browser, origin)
        # Every chunk (the last leaves with the page-hide beacon) and every click.
        chunks = wait_for_raw(bootstrap, topic_name(settings, "replay_events"), _has_the_clicks)
        wait_for_raw(bootstrap, topic_name(settings, "raw_events"), _all_clicks)
        collector.stop()
        assert demo.wait(timeout=300) == 0, demo_log.read_text(errors="replace")[-3000:]
        (session_id,) = {chunk["session_id"] for chunk in chunks}
        visit = replace(visit, session_id=session_id)
        insightlite(
            "run", "--input", "kafka", "--stop-at-end", "--data-dir", str(data_dir), env=env
        )  # fmt: skip

        (port,) = free_ports(1)
        api_env = {
            **_kafka_env(bootstrap, live_prefix),
            "INSIGHTLITE_API_DASHBOARD_DIR": str(dist),
            "INSIGHTLITE_DATA_DIR": str(data_dir),
            # The pages are checked against one visit of the shop: no minimum crowd,
            # except on one demo site whose every row is held back.
            "INSIGHTLITE_MIN_CROWD": "1",
            "INSIGHTLITE_MIN_CROWD_SITES": json.dumps({CROWDED_OUT_SITE: CROWDED_OUT_K}),
        }
        api_log = work / "api.log"
        address = ["--host", "127.0.0.1", "--port", str(port)]
        api = start_insightlite(["api", *address, "--data-dir", str(data_dir)], api_env, api_log)
        cleanup.callback(_stop, api, api_log)
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(f"{base_url}/ready", api, api_log)
        token_claims = claims(FakeClock(time.time()), sites=[*DEMO_SITES, SHOP_SITE])
        token = jwt.encode(token_claims, JWT_SECRET, algorithm="HS256")
        yield Stack(base_url, token, data_dir, visit, bootstrap, live_prefix)


def _has_the_clicks(chunks: list[dict[str, Any]]) -> bool:
    """The recording's chunks include the four clicks (rrweb's click interactions)."""
    clicks = [
        event
        for chunk in chunks
        for event in chunk["events"]
        if event["type"] == 3
        and event["data"].get("source") == 2
        and event["data"].get("type") == 2
    ]
    return len(clicks) >= BUY_CLICKS


def _all_clicks(events: list[dict[str, Any]]) -> bool:
    return sum(1 for event in events if event.get("type") == "click") >= BUY_CLICKS


@dataclass(frozen=True)
class LiveFeed:
    """A collector and a tailing pipeline on the live stream's topics."""

    collector_url: str
    raw_topic: str
    processed_topic: str
    bootstrap: str

    def received_at(self, event_id: str) -> int:
        """The collector's ``received_at`` (epoch ms) of the record of ``event_id``."""
        for record in raw_events(self.bootstrap, self.raw_topic):
            if record.get("event_id") == event_id:
                return int(record["received_at"])
        raise AssertionError(f"{event_id} is not in {self.raw_topic}")


@pytest.fixture(scope="session")
def dashboard_live(
    dashboard_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveFeed]:
    work = tmp_path_factory.mktemp("dashboard-live")
    env = {
        **_kafka_env(dashboard_stack.bootstrap, dashboard_stack.live_prefix),
    }
    (metrics_port,) = free_ports(1)
    run_log = work / "run.log"
    run = start_insightlite(
        ["run", "--input", "kafka", "--data-dir", str(work / "data")],
        {**env, "INSIGHTLITE_METRICS_PORT": str(metrics_port)},
        run_log,
    )
    collector = CollectorProcess(env, work / "collector.log")
    try:
        collector.wait_ready()
        wait_ready(f"http://127.0.0.1:{metrics_port}/ready", run, run_log)
        settings = load_settings(
            kafka_bootstrap_servers=dashboard_stack.bootstrap,
            kafka_topic_prefix=dashboard_stack.live_prefix,
        )
        yield LiveFeed(
            collector.url,
            topic_name(settings, "raw_events"),
            topic_name(settings, "processed_events"),
            dashboard_stack.bootstrap,
        )
    finally:
        collector.stop()
        _stop(run, run_log)
