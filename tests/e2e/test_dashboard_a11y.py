"""The dashboard's accessibility in real Chromium: axe-core finds no critical violation
on any page (Overview, Heatmaps, Sessions and one session with its player, Errors,
Live; serious ones are printed), and the keyboard alone reaches the Sessions page
through the navigation and presses a date range preset.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page

from tests.e2e.dashboard_harness import DEMO_SITE, SHOP_SITE, Stack, axe_violations, signed_in

pytest_plugins = ["tests.e2e.dashboard_harness"]

MAX_TABS = 40  # more presses than the controls before the one looked for


def _page_ready(page: Page, heading: str, ready: str) -> None:
    page.get_by_role("heading", name=heading, level=1).wait_for()
    page.locator(ready).first.wait_for()
    # Nothing is loading any more (a panel's "Loading ..." status is gone).
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[role=status]')].some("
        "(s) => /Loading|Connecting/.test(s.textContent))"
    )


def _summary(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"][:3])
        for v in violations
    ]


def test_no_critical_axe_violation_on_any_page(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    session = dashboard_stack.visit.session_id
    pages = [
        ("Overview", f"/?site={DEMO_SITE}", 'section[aria-labelledby="breakdown-page"] tbody tr'),
        ("Heatmaps", f"/heatmaps?site={SHOP_SITE}", '[aria-roledescription="heatmap"] canvas'),
        ("Sessions", f"/sessions?site={DEMO_SITE}", 'main tbody tr a[href^="/sessions/"]'),
        ("Session", f"/sessions/{session}?site={SHOP_SITE}", '[data-testid="replay-stage"] iframe'),
        ("Errors", f"/errors?site={DEMO_SITE}", "main table tbody tr"),
        ("Live", f"/live?site={SHOP_SITE}", "text=Live: events appear as the site receives them."),
    ]
    critical: dict[str, list[str]] = {}
    with signed_in(dashboard_browser, dashboard_stack, pages[0][1]) as page:
        for heading, path, ready in pages:
            page.goto(f"{dashboard_stack.base_url}{path}")
            _page_ready(page, heading, ready)
            violations = axe_violations(page)
            for line in _summary([v for v in violations if v["impact"] == "serious"]):
                print(f"axe, {heading}: {line}")
            found = _summary([v for v in violations if v["impact"] == "critical"])
            if found:
                critical[heading] = found
            print(f"axe, {heading}: {len(violations)} violations, {len(found)} critical")
    assert not critical, critical


def _focused(page: Page) -> dict[str, Any]:
    focused: dict[str, Any] = page.evaluate(
        """() => { const e = document.activeElement;
            return {tag: e.tagName, text: e.textContent.trim(), inNav: !!e.closest('nav'),
                    pressed: e.getAttribute('aria-pressed')}; }"""
    )
    return focused


def _tab_to(page: Page, wanted: str, *, tag: str) -> list[str]:
    """Press Tab until the focused ``tag`` reads ``wanted``; the texts passed on the way."""
    passed: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused["tag"] == tag and focused["text"] == wanted:
            return passed
        passed.append(focused["text"])
    raise AssertionError(f"Tab never reached {wanted!r}; it passed {passed}")


def test_the_keyboard_reaches_sessions_and_the_date_presets(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    with signed_in(dashboard_browser, dashboard_stack, f"/?site={DEMO_SITE}") as page:
        page.get_by_role("heading", name="Overview", level=1).wait_for()
        page.locator("body").focus()
        passed = _tab_to(page, "Sessions", tag="A")
        # The page begins with the skip link, then the navigation in its order.
        assert passed[0] == "Skip to the page" and passed[-2:] == ["Overview", "Heatmaps"], passed
        assert _focused(page)["inNav"]
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: urlsplit(url).path == "/sessions")
        page.get_by_role("heading", name="Sessions", level=1).wait_for()

        _tab_to(page, "7 days", tag="BUTTON")
        assert _focused(page)["pressed"] == "false"
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("range") == ["7d"])
        # Focus stays on the preset, now pressed.
        page.wait_for_function(
            "() => document.activeElement.getAttribute('aria-pressed') === 'true'"
        )
        assert _focused(page)["text"] == "7 days"
        assert urlsplit(page.url).path == "/sessions"
        # Space presses a preset too.
        page.keyboard.press("Shift+Tab")
        assert _focused(page)["text"] == "Today"
        page.keyboard.press("Space")
        page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("range") == ["today"])
