"""The dashboard in real Chromium, signed in as a person does: the sign-in page (a
good token, a malformed one, one the API refuses), the Overview's numbers against the
API's own answers for the same days (before and after a click on a top-pages row
filters the whole dashboard), and the Errors page against the API's error groups, with
its link to an example session.

Screenshots: test-artifacts/dashboard-e2e/overview.png and errors.png.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from playwright.sync_api import Browser, Page

from tests.api.query_support import FakeClock, claims
from tests.e2e.dashboard_harness import (
    DEMO_SITE,
    SCREEN,
    Stack,
    default_days,
    screenshot,
    signed_in,
)

pytest_plugins = ["tests.e2e.dashboard_harness"]

SETTLE_S = 15.0  # how long a panel may take to show a new answer (retries included)
NO_FIGURE = "–"


# --- formats, as the dashboard writes figures (dashboard/src/lib/format.ts) ----------


def _to_fixed(value: float, places: int) -> str:
    """JavaScript's Number.prototype.toFixed: the double's exact value, ties away from 0."""
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))


def format_count(value: int) -> str:
    return f"{value:,}"


def format_percent(share: float) -> str:
    return f"{_to_fixed(share * 100, 1)}%"


def format_ratio(value: float) -> str:
    return _to_fixed(value, 2)


def format_duration(seconds: float) -> str:
    total = int(Decimal(seconds).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60:02d}s"
    return f"{total // 3600}h {(total % 3600) // 60:02d}m"


def _per_session(row: dict[str, Any], key: str, fmt: Any) -> str:
    return fmt(row[key]) if row["sessions"] > 0 else NO_FIGURE


# --- what the API says each panel must show (dashboard/src/pages/overview/) ---------


def expected_kpis(stats: dict[str, Any]) -> list[list[str]]:
    return [
        ["Visitors", format_count(stats["visitors"])],
        ["Page views", format_count(stats["pageviews"])],
        ["Sessions", format_count(stats["sessions"])],
        ["Bounce rate", _per_session(stats, "bounce_rate", format_percent)],
        ["Pages per session", _per_session(stats, "pages_per_session", format_ratio)],
        ["Average duration", _per_session(stats, "avg_duration_seconds", format_duration)],
    ]


def expected_rows(by: str, rows: list[dict[str, Any]]) -> list[list[str]]:
    def shown(value: str) -> str:
        return value or ("Direct or none" if by == "referrer" else "Unknown")

    def exit_rate(row: dict[str, Any]) -> str:
        if row["pageviews"] == 0:
            return NO_FIGURE
        return format_percent(min(1.0, row["sessions"] / row["pageviews"]))

    columns = {
        "page": lambda r: [format_count(r["visitors"]), format_count(r["pageviews"])],
        "entry_page": lambda r: [
            format_count(r["sessions"]),
            _per_session(r, "bounce_rate", format_percent),
        ],
        "exit_page": lambda r: [format_count(r["sessions"]), exit_rate(r)],
        "referrer": lambda r: [format_count(r["sessions"]), format_count(r["visitors"])],
        "device": lambda r: [
            format_count(r["visitors"]),
            format_count(r["pageviews"]),
            _per_session(r, "avg_duration_seconds", format_duration),
        ],
        "country": lambda r: [format_count(r["visitors"]), format_count(r["pageviews"])],
    }[by]
    return [[shown(row["value"]), *columns(row)] for row in rows]


BREAKDOWNS = ("page", "entry_page", "exit_page", "referrer", "device", "country")


def expected_overview(dashboard_stack: Stack, site: str, **filters: str) -> dict[str, Any]:
    read = {**default_days(), **filters}
    base = f"/v1/sites/{site}"
    series = dashboard_stack.api(f"{base}/stats/timeseries", interval="day", **read)
    return {
        "kpis": expected_kpis(dashboard_stack.api(f"{base}/stats", **read)),
        "chart": [
            [
                _utc(point["start"]),
                format_count(point["pageviews"]),
                format_count(point["visitors"]),
            ]
            for point in series["points"]
        ],
        **{
            by: expected_rows(
                by, dashboard_stack.api(f"{base}/stats/breakdown", by=by, limit=10, **read)["rows"]
            )
            for by in BREAKDOWNS
        },
    }


def _utc(iso: str) -> str:
    """dashboard/src/lib/dates.ts formatUtc: "2026-11-25 11:02 UTC"."""
    instant = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return f"{instant:%Y-%m-%d %H:%M} UTC"


# --- what the page shows ------------------------------------------------------------

READ_OVERVIEW = """
() => {
  const cells = (row) => [...row.querySelectorAll('td')].map((td) => td.textContent.trim());
  const table = (selector) => [...document.querySelectorAll(`${selector} tbody tr`)].map(cells);
  const shown = {
    kpis: [...document.querySelectorAll('section[aria-label="Key figures"] dl > div')].map(
      (card) => [card.querySelector('dt').textContent.trim(),
                 card.querySelector('dd').textContent.trim()]),
    // The chart's figures as a table (uPlot's legend is a table too).
    chart: table('section[aria-labelledby="traffic-title"] details'),
  };
  for (const by of BY) shown[by] = table(`section[aria-labelledby="breakdown-${by}"]`);
  return shown;
}
"""


def shown_overview(page: Page) -> dict[str, Any]:
    script = READ_OVERVIEW.replace("BY", repr(list(BREAKDOWNS)))
    shown: dict[str, Any] = page.evaluate(script)
    return shown


def wait_until_shown(page: Page, expected: dict[str, Any]) -> None:
    """Until every panel shows what the API answers (a panel may still be loading)."""
    deadline = time.monotonic() + SETTLE_S
    shown = shown_overview(page)
    while shown != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        shown = shown_overview(page)
    differing = {
        key: (shown.get(key), value) for key, value in expected.items() if shown.get(key) != value
    }
    assert not differing, f"panels differing from the API (shown, API): {differing}"


# --- the tests ----------------------------------------------------------------------


def test_sign_in_with_a_pasted_token_and_refusals(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    context = dashboard_browser.new_context(viewport=SCREEN)
    page = context.new_page()
    try:
        page.goto(f"{dashboard_stack.base_url}/errors?site={DEMO_SITE}")
        page.wait_for_url(lambda url: urlsplit(url).path == "/sign-in")
        field = page.get_by_label("API token")
        # Not a token at all: refused in the page, with the reason, and nothing is sent.
        field.fill("not-a-token")
        page.get_by_role("button", name="Sign in").click()
        alert = page.get_by_role("alert")
        assert "three parts separated by dots" in alert.inner_text()
        assert urlsplit(page.url).path == "/sign-in"
        # Well formed but signed with another key: the API refuses it (401), and the
        # dashboard comes back here with the API's reason.
        forged = jwt.encode(
            claims(FakeClock(time.time()), sites=[DEMO_SITE]),
            "another-secret-0123456789abcdef-0123456789",
            algorithm="HS256",
        )
        field.fill(forged)
        page.get_by_role("button", name="Sign in").click()
        notice = page.get_by_text("The API refused the token")
        notice.wait_for()
        assert "Sign in again" in notice.inner_text()
        assert urlsplit(page.url).path == "/sign-in"
        # The right token: the page asked for opens, the token's sites are offered.
        page.get_by_label("API token").fill(dashboard_stack.token)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Errors", level=1).wait_for()
        assert urlsplit(page.url).path == "/errors"
        stored = page.evaluate(
            "() => [sessionStorage.length, localStorage.length, document.cookie]"
        )
        assert stored[1:] == [0, ""], stored
    finally:
        context.close()


def test_overview_shows_the_apis_figures_and_a_top_page_filters_everything(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    with signed_in(dashboard_browser, dashboard_stack, f"/?site={DEMO_SITE}") as page:
        page.get_by_role("heading", name="Overview", level=1).wait_for()
        page.get_by_text("The figures as a table").click()  # the chart's figures, as text
        unfiltered = expected_overview(dashboard_stack, DEMO_SITE)
        wait_until_shown(page, unfiltered)
        screenshot(page, "overview.png")

        top_pages = page.locator('section[aria-labelledby="breakdown-page"]')
        path = top_pages.locator("tbody tr").nth(0).get_by_role("button").inner_text()
        assert path.startswith("/"), path
        top_pages.get_by_role("button", name=path, exact=True).click()
        page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("path") == [path])
        filtered = expected_overview(dashboard_stack, DEMO_SITE, path=path)
        assert filtered["kpis"] != unfiltered["kpis"]  # a test that can tell them apart
        wait_until_shown(page, filtered)
        assert (
            top_pages.get_by_role("button", name=path, exact=True).get_attribute("aria-pressed")
            == "true"
        )
        # The filter follows the navigation: the Errors page reads the same page.
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Errors").click()
        page.get_by_role("heading", name="Errors", level=1).wait_for()
        assert parse_qs(urlsplit(page.url).query).get("path") == [path]


READ_ERRORS = """
() => [...document.querySelectorAll('main table tbody tr')].map((row) => {
  const td = [...row.querySelectorAll('td')];
  const spans = td[0].querySelectorAll('span');
  return [spans[0].textContent.trim(), spans[1].textContent.trim(),
          ...td.slice(1, 6).map((cell) => cell.textContent.trim())];
})
"""


def test_errors_lists_the_apis_groups_and_opens_an_example_session(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    answer = dashboard_stack.api(f"/v1/sites/{DEMO_SITE}/errors", limit=100, **default_days())
    groups = answer["groups"]
    assert groups, "the demo's data has errors"
    expected = [
        [
            group["error_class"] or "unclassified",
            group["message"] or "(no message)",
            format_count(group["occurrences"]),
            format_count(group["sessions"]),
            _utc(group["first_seen"]),
            _utc(group["last_seen"]),
            group["example_path"] or NO_FIGURE,
        ]
        for group in groups
    ]
    with signed_in(dashboard_browser, dashboard_stack, f"/errors?site={DEMO_SITE}") as page:
        page.get_by_role("heading", name="Errors", level=1).wait_for()
        page.locator("main table tbody tr").first.wait_for()
        assert page.evaluate(READ_ERRORS) == expected
        occurrences = sum(group["occurrences"] for group in groups)
        caption = page.locator("main table caption").inner_text()
        assert caption.startswith(
            f"{format_count(len(groups))} error groups, {format_count(occurrences)} occurrences"
        ), caption
        screenshot(page, "errors.png")

        index, session_id = next(
            (i, g["example_session_id"])
            for i, g in enumerate(groups)
            if g.get("example_session_id")
        )
        row = page.locator("main table tbody tr").nth(index)
        row.get_by_role("link", name="View session").click()
        page.wait_for_url(lambda url: urlsplit(url).path == f"/sessions/{session_id}")
        assert parse_qs(urlsplit(page.url).query).get("site") == [DEMO_SITE]
        # The session's page shows that session (its summary from the API).
        session = dashboard_stack.api(f"/v1/sites/{DEMO_SITE}/sessions/{session_id}")
        summary = page.locator('section[aria-labelledby="session-summary"]')
        summary.wait_for()
        assert _utc(session["session"]["start_time"]) in summary.inner_text()
