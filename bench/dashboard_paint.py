"""Benchmark: how soon the dashboard's Overview shows its numbers, in Debian's Chromium.

    insightlite demo --serve                      # in another terminal; prints a token
    python bench/dashboard_paint.py --token TOKEN [--url http://127.0.0.1:8000] [--runs 5]

Two figures, milliseconds from navigation: in a fresh browser context each time (no
cache, a new renderer), and for repeated navigations in one tab (cached assets). Each
is the time to the first contentful paint and to the first KPI number on screen.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from playwright.sync_api import Page, sync_playwright

NUMBER_SHOWN = (
    "() => [...document.querySelectorAll('main *')].some("
    "e => e.children.length === 0 && /^[0-9][0-9,.]*$/.test(e.textContent.trim()))"
)


def _measure(page: Page, url: str) -> tuple[int, int]:
    page.goto(url, wait_until="commit")
    page.wait_for_function(NUMBER_SHOWN)
    numbers = page.evaluate("() => performance.now()")
    paint = page.evaluate(
        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0"
    )
    return round(paint), round(numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--token", required=True)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--site", default="shop.example.com")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = f"{args.url}/?site={args.site}&range=30d"
    store = f"sessionStorage.setItem('insightlite.dashboard.token', {json.dumps(args.token)})"
    figures: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("INSIGHTLITE_CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=["--no-sandbox"],
        )
        fresh = []
        for _ in range(args.runs):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script(store)
            fresh.append(_measure(context.new_page(), url))
            context.close()
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(store)
        page = context.new_page()
        same_tab = [_measure(page, url) for _ in range(args.runs)]
        browser.close()
    for name, runs in (("fresh context", fresh), ("same tab", same_tab)):
        paints = sorted(paint for paint, _ in runs)
        numbers = sorted(number for _, number in runs)
        figures[name] = {"first_paint_ms": paints, "first_numbers_ms": numbers}
        print(f"{name:14s} first paint {paints} ms, first KPI numbers {numbers} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
