"""The Sessions pages in real Chromium: the list filtered to sessions with rage clicks
shows the API's sessions, the recorded shop session opens, rrweb's player rebuilds its
page, and **Next rage click** moves the player to the moment of the first of the four
fast clicks on Buy (timed by the page itself while it was recorded), where the rebuilt
page shows the Buy button with the visitor's pointer on it.

Screenshots: test-artifacts/dashboard-e2e/sessions.png and session-replay.png.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page

from tests.e2e.dashboard_harness import (
    DEMO_SITE,
    SHOP_SITE,
    Stack,
    default_days,
    screenshot,
    signed_in,
)

pytest_plugins = ["tests.e2e.dashboard_harness"]

# The player's slider moves in steps of 100 ms, and the page's click listener and the
# recorder's read the clock a few milliseconds apart.
POSITION_TOLERANCE_MS = 150
SESSION_IDS = """
() => [...document.querySelectorAll('main tbody tr a[href^="/sessions/"]')].map(
  (link) => decodeURIComponent(new URL(link.href).pathname.split('/')[2]))
"""
BUY_IN_PLAYER = """
() => {
  const frame = document.querySelector('[data-testid="replay-stage"] iframe');
  const doc = frame && frame.contentDocument;
  const buy = doc && doc.getElementById('buy');
  if (!buy) return null;
  const box = buy.getBoundingClientRect();
  return {text: buy.textContent.trim(), width: box.width, height: box.height};
}
"""

# Where rrweb's replayer draws the visitor's pointer (recorded page px).
MOUSE = """
() => {
  const mouse = document.querySelector('[data-testid="replay-stage"] .replayer-mouse');
  return mouse && [parseFloat(mouse.style.left), parseFloat(mouse.style.top)];
}
"""


def _rage_sessions(dashboard_stack: Stack, site: str) -> list[str]:
    answer = dashboard_stack.api(
        f"/v1/sites/{site}/sessions", has_rage_clicks="true", limit=50, **default_days()
    )
    return [session["id"] for session in answer["sessions"]]


def _wait_for_ids(page: Page, expected: list[str]) -> None:
    """Until the list shows exactly these sessions, in this order."""
    page.wait_for_function(
        f"(ids) => JSON.stringify(({SESSION_IDS})()) === JSON.stringify(ids)", arg=expected
    )


def _tick_rage_clicks(page: Page) -> None:
    """Tick "With rage clicks" (the box follows the URL, which the tick changes)."""
    box = page.get_by_label("With rage clicks")
    if not box.is_checked():
        box.click()
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("has_rage_clicks") == ["true"])
    page.wait_for_function(
        "() => [...document.querySelectorAll('input[type=checkbox]')].some("
        "(box) => box.parentElement.textContent.includes('With rage clicks') && box.checked)"
    )


def test_sessions_with_rage_clicks_and_the_replay_jumps_to_the_rage_click(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    visit = dashboard_stack.visit
    events = dashboard_stack.api(f"/v1/sites/{SHOP_SITE}/replays/{visit.session_id}/events")
    expected_ms = visit.buy_clicks_ms[0] - events[0]["timestamp"]

    with signed_in(dashboard_browser, dashboard_stack, f"/sessions?site={DEMO_SITE}") as page:
        page.get_by_role("heading", name="Sessions", level=1).wait_for()
        page.locator('main tbody tr a[href^="/sessions/"]').first.wait_for()
        screenshot(page, "sessions.png")

        # Only the sessions with rage clicks: the API's list, in the URL as the API's name.
        _tick_rage_clicks(page)
        demo_rage = _rage_sessions(dashboard_stack, DEMO_SITE)
        assert demo_rage, "the demo's data has sessions with rage clicks"
        _wait_for_ids(page, demo_rage)

        # The shop's site: its one session with rage clicks, the recorded visit.
        page.get_by_label("Site").select_option(SHOP_SITE)
        page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("site") == [SHOP_SITE])
        _tick_rage_clicks(page)
        assert _rage_sessions(dashboard_stack, SHOP_SITE) == [visit.session_id]
        _wait_for_ids(page, [visit.session_id])
        row = page.locator("main tbody tr").first
        assert "rage click" in row.inner_text() and "Recorded" in row.inner_text()
        row.get_by_role("link").click()
        page.wait_for_url(lambda url: urlsplit(url).path == f"/sessions/{visit.session_id}")

        # The player rebuilt the page; the next rage click is the first click on Buy.
        next_rage = page.get_by_role("button", name="Next rage click")
        next_rage.wait_for()
        page.wait_for_function(
            "() => !!document.querySelector('[data-testid=\"replay-stage\"] iframe')"
        )
        assert next_rage.is_enabled()
        slider = page.get_by_label("Position in the recording")
        assert float(slider.input_value()) == 0
        next_rage.click()
        page.wait_for_function(
            "(min) => Number(document.querySelector("
            "'input[aria-label=\"Position in the recording\"]').value) > min",
            arg=0,
        )
        position = float(slider.input_value())
        assert abs(position - expected_ms) <= POSITION_TOLERANCE_MS, (position, expected_ms)
        # The four clicks are one burst: there is no later rage click to go to.
        assert not next_rage.is_enabled()
        page.wait_for_function(
            f"() => {{ const b = ({BUY_IN_PLAYER})(); return b && b.width > 0; }}"
        )
        buy = page.evaluate(BUY_IN_PLAYER)
        assert buy["text"] == "Buy now" and buy["height"] > 0, buy
        # The replayer itself is there: it draws the visitor's pointer on the button.
        pointer = page.evaluate(MOUSE)
        assert pointer is not None
        assert all(abs(a - b) <= 1 for a, b in zip(pointer, visit.buy_point, strict=True)), (
            pointer,
            visit.buy_point,
        )
        screenshot(page, "session-replay.png", height=1500)
