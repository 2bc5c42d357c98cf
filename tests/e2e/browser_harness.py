"""What the browser end-to-end test of the tracker stands on: Chromium, the built
script, a static origin for the test page, the collector as a process, the raw
topic, and the side-by-side picture of the page and its heatmap."""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from PIL import Image, ImageChops, ImageDraw

from api.query.heatmap_cells import HeatmapCell
from api.query.heatmap_png import EMPTY_CELL, heatmap_geometry
from flows.cluster import free_ports
from tests.e2e.cli import ROOT, start_insightlite, wait_ready
from tests.kafka_fixture import read_topic, topic_size

SCRIPT = ROOT / "sdk" / "dist" / "insightlite.min.js"
PAGE_TEMPLATE = Path(__file__).resolve().parent / "sdk_page" / "index.html"
VIEWPORT_W, VIEWPORT_H = 1280, 800
CELL_PX = 16  # INSIGHTLITE_HEATMAP_CELL_HEIGHT_PX's default


# --- prerequisites ---------------------------------------------------------------


def chromium_executable() -> str:
    """Debian's Chromium (or ``$INSIGHTLITE_CHROMIUM``); fails the test when missing."""
    path = os.environ.get("INSIGHTLITE_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {path}: `./dev test` installs Debian's chromium "
            "package (or run `apt-get install chromium`, or set INSIGHTLITE_CHROMIUM)"
        )
    return path


def built_script() -> bytes:
    """The tracker's built script; fails the test when it has not been built."""
    if not SCRIPT.is_file():
        pytest.fail(
            f"the tracker is not built ({SCRIPT.relative_to(ROOT)} is missing): run "
            "`./dev sdk` (or `cd sdk && npm ci && npm run build`)"
        )
    sources = [p for p in (ROOT / "sdk" / "src").rglob("*.ts") if p.is_file()]
    stale = [p for p in sources if p.stat().st_mtime > SCRIPT.stat().st_mtime]
    if stale:
        pytest.fail(
            f"{SCRIPT.relative_to(ROOT)} is older than {stale[0].relative_to(ROOT)}: "
            "rebuild it with `./dev sdk` so the test runs the current tracker"
        )
    return SCRIPT.read_bytes()


# --- the page's origin: a small static server ------------------------------------


class _StaticHandler(BaseHTTPRequestHandler):
    """Serves a fixed table of path -> (body, content type); 404 for anything else."""

    def __init__(self, routes: dict[str, tuple[bytes, str]], *args: Any) -> None:
        self.routes = routes
        super().__init__(*args)  # handles the request

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/favicon.ico":  # asked for by every page load; none is needed
            self.send_response(204)
            self.end_headers()
            return
        route = self.routes.get(path)
        if route is None:
            self.send_error(404)
            return
        body, content_type = route
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the browser's requests are not news


@contextlib.contextmanager
def page_origin(endpoint: str, script: bytes) -> Iterator[str]:
    """Serves the test page (at / and at its SPA route /pricing, as a real site would
    on a reload) and the tracker on a loopback port; yields the origin."""
    page = PAGE_TEMPLATE.read_text(encoding="utf-8").replace("{{ENDPOINT}}", endpoint).encode()
    html = "text/html; charset=utf-8"
    routes = {
        "/": (page, html),
        "/pricing": (page, html),
        "/insightlite.min.js": (script, "text/javascript; charset=utf-8"),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticHandler, routes))
    thread = threading.Thread(target=server.serve_forever, name="sdk-page", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- the collector, as its own process -------------------------------------------


class CollectorProcess:
    """``insightlite collector`` on a loopback port, writing to the test's topics."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = start_insightlite(["collector", *address], env, log)

    def wait_ready(self) -> None:
        wait_ready(f"{self.url}/ready", self.process, self.log)

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=5).text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def running_collector(env: dict[str, str], log: Path) -> Iterator[CollectorProcess]:
    collector = CollectorProcess(env, log)
    try:
        collector.wait_ready()
        yield collector
    finally:
        collector.stop()


# --- the raw_events topic ----------------------------------------------------------


def raw_events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record the collector wrote, decoded."""
    count = topic_size(bootstrap, topic)
    if count == 0:
        return []
    # The collector writes no tombstones: every record has a value.
    return [orjson.loads(m.value() or b"null") for m in read_topic(bootstrap, topic, count)]


def wait_for_raw(
    bootstrap: str,
    topic: str,
    complete: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """The raw records once ``complete`` holds and no more arrive for a second (the
    beacon and a late fetch may land in any order)."""
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = raw_events(bootstrap, topic)
        if complete(events):
            time.sleep(1.0)
            if topic_size(bootstrap, topic) == len(events):
                return events
            continue
        time.sleep(0.3)
    kinds = Counter((e.get("type"), urlsplit(str(e.get("url", ""))).path) for e in events)
    raise AssertionError(f"the collector did not receive every event in {timeout} s: {kinds}")


# --- the side-by-side picture ------------------------------------------------------


def side_by_side(
    screenshot: Path,
    heatmap: Path,
    cells: list[HeatmapCell],
    fixed_cells: list[HeatmapCell],
    title: str,
    out: Path,
) -> None:
    """One PNG: the page, its click heatmap's grid scaled to the page's pixels, and the
    two overlaid, at half size. The heatmap image has its own margins, legend and
    10 px rows for 16 px of page: only its grid is cut out and scaled. The fixed
    header's clicks (viewport points, not in that heatmap) are ringed in blue: in a
    full-page screenshot the header sits at the top, where viewport and page agree."""
    scale = 0.5
    shot = Image.open(screenshot).convert("RGB")
    geometry = heatmap_geometry(cells, title=title, cell_height_px=CELL_PX)
    left, top = geometry.left, geometry.top
    right, bottom = left + geometry.width, top + geometry.height
    grid = Image.open(heatmap).convert("RGB").crop((left, top, right, bottom))
    grid_page_height = geometry.bands * geometry.rows_per_band * CELL_PX
    panel_w = round(VIEWPORT_W * scale)
    panel_h = round(max(shot.height, grid_page_height) * scale)
    shot_panel = shot.resize((panel_w, round(shot.height * scale)), Image.Resampling.LANCZOS)
    grid_cells = grid.resize((panel_w, round(grid_page_height * scale)), Image.Resampling.NEAREST)
    # The heatmap's grid ends at its deepest row with data; below it nothing was clicked.
    grid_panel = Image.new("RGB", (panel_w, panel_h), EMPTY_CELL)
    grid_panel.paste(grid_cells, (0, 0))

    # The overlay: hot cells at 70 % over the page, empty cells left out, each ringed
    # because a cell (1 % of the width by 16 px) is small next to a button.
    overlay = shot_panel.copy()
    empty = Image.new("RGB", grid_cells.size, EMPTY_CELL)
    hot = ImageChops.difference(grid_cells, empty).convert("L").point(lambda v: 178 if v else 0)
    overlay.paste(grid_cells, (0, 0), hot)
    ring = ImageDraw.Draw(overlay)
    for group, colour in ((cells, (17, 20, 24)), (fixed_cells, (37, 99, 235))):
        for cell in group:
            x = (cell.grid_x + 0.5) * VIEWPORT_W / 100 * scale
            y = (cell.grid_y + 0.5) * CELL_PX * scale
            # A white halo keeps the ring visible on any button colour.
            ring.ellipse((x - 16, y - 16, x + 16, y + 16), outline=(255, 255, 255), width=2)
            ring.ellipse((x - 14, y - 14, x + 14, y + 14), outline=colour, width=3)

    gap, header = 16, 28
    canvas = Image.new("RGB", (3 * panel_w + 4 * gap, panel_h + header + gap), (17, 20, 24))
    draw = ImageDraw.Draw(canvas)
    captions = (
        "page (full-page screenshot)",
        f"click heatmap: {title}",
        "heatmap over the page (rings: click cells; blue: click_fixed)",
    )
    for index, (panel, caption) in enumerate(
        zip((shot_panel, grid_panel, overlay), captions, strict=True)
    ):
        left = gap + index * (panel_w + gap)
        draw.text((left, 8), caption, fill=(232, 234, 237))
        canvas.paste(panel, (left, header))
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)


# --- the assertions ----------------------------------------------------------------
