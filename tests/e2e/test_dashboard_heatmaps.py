"""The Heatmaps page in real Chromium, over the recording made on the shop page: the
grid is drawn over the page as the recording rebuilt it (its heading in the picture's
frame, a drawn canvas), and the cell of the Buy button, pointed at with the mouse and
reached by keyboard, says the count the API's heatmap answer has for it (the four
clicks made on it).

Screenshot: test-artifacts/dashboard-e2e/heatmaps.png.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page

from tests.e2e.dashboard_harness import (
    BUY_CLICKS,
    CELL_PX,
    CROWDED_OUT_K,
    CROWDED_OUT_SITE,
    DEMO_SITE,
    SHOP_SITE,
    SHOP_VIEWPORT,
    Stack,
    default_days,
    screenshot,
    signed_in,
)

pytest_plugins = ["tests.e2e.dashboard_harness"]

SURFACE = '[role="application"][aria-roledescription="heatmap"]'
PICTURE_HEADING = """
(heading) => {
  const frame = document.querySelector('[data-testid="page-picture"] iframe');
  const doc = frame && frame.contentDocument;
  const h1 = doc && doc.querySelector('h1');
  return h1 !== null && h1 !== undefined && h1.textContent.trim() === heading;
}
"""
# The canvas's colour (RGBA) at the centre of a cell: page px scaled to canvas px.
CELL_COLOUR = """
([selector, column, row, pageWidth, cellPx]) => {
  const canvas = document.querySelector(`${selector} canvas`);
  if (!canvas || !canvas.width || !canvas.height) return null;
  const pixels = canvas.width / pageWidth;
  const x = Math.floor((column + 0.5) * (pageWidth / 100) * pixels);
  const y = Math.floor((row + 0.5) * cellPx * pixels);
  return [...canvas.getContext('2d').getImageData(x, y, 1, 1).data];
}
"""
CLICKS = re.compile(r"page: (\d[\d,]*) clicks? \(")


def _api_cell_count(dashboard_stack: Stack, cell: tuple[int, int]) -> int:
    answer = dashboard_stack.api(
        f"/v1/sites/{SHOP_SITE}/heatmap", path="/", type="click", device="desktop", **default_days()
    )
    cells = answer["cells"]
    counts = {(x, y): n for x, y, n in zip(cells["x"], cells["y"], cells["count"], strict=True)}
    return counts.get(cell, 0)


def _tooltip(page: Page) -> str:
    tip = page.locator(f"{SURFACE} [role='tooltip']")
    tip.wait_for()
    return tip.inner_text()


def test_heatmap_over_the_rebuilt_page_with_the_cells_count(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    visit = dashboard_stack.visit
    column, row = visit.buy_cell
    expected = _api_cell_count(dashboard_stack, (column, row))
    assert expected == BUY_CLICKS  # the four clicks on Buy, one cell

    with signed_in(dashboard_browser, dashboard_stack, f"/heatmaps?site={DEMO_SITE}") as page:
        page.get_by_role("heading", name="Heatmaps", level=1).wait_for()
        # The shop: its site, then its page.
        page.get_by_label("Site").select_option(SHOP_SITE)
        page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("site") == [SHOP_SITE])
        page_picker = page.get_by_label("Page to show")
        page_picker.locator("option[value='/']").wait_for(state="attached")
        page_picker.select_option("/")
        page.get_by_role("heading", name="Clicks on /").wait_for()

        # The grid lies over the page as recorded: the picture's frame holds its heading.
        page.wait_for_function(PICTURE_HEADING, arg=visit.heading)
        surface = page.locator(SURFACE)
        surface.scroll_into_view_if_needed()
        # The canvas is drawn: the Buy button's cell is coloured, an empty cell of the same
        # row is left clear (the page shows through).
        args = [SURFACE, column, row, SHOP_VIEWPORT["width"], CELL_PX]
        page.wait_for_function(
            f"(args) => {{ const c = ({CELL_COLOUR})(args); return c && c[3] > 0; }}", arg=args
        )
        hot = page.evaluate(CELL_COLOUR, args)
        empty = page.evaluate(CELL_COLOUR, [SURFACE, (column + 50) % 100, row, *args[3:]])
        assert hot[3] > 0 and empty[3] == 0, (hot, empty)

        # The pointer over the Buy button's cell: the page's count for that cell.
        box = surface.bounding_box()
        assert box is not None
        scale = box["width"] / SHOP_VIEWPORT["width"]
        x = box["x"] + (column + 0.5) * box["width"] / 100
        y = box["y"] + (row + 0.5) * CELL_PX * scale
        page.mouse.move(x, y)
        hovered = _tooltip(page)
        place = f"{column}–{column + 1} % across, {row * CELL_PX:,}–{(row + 1) * CELL_PX:,} px down"
        assert hovered.startswith(place), (hovered, place)
        shown = CLICKS.search(hovered)
        assert shown is not None, hovered
        assert int(shown.group(1).replace(",", "")) == expected, hovered

        # By keyboard: focus starts on the busiest cell, the same one.
        page.mouse.move(box["x"] - 40, box["y"] - 40)  # the pointer leaves the drawing
        surface.focus()
        focused = _tooltip(page)
        assert focused == hovered, (focused, hovered)
        screenshot(page, "heatmaps.png", height=1200)


def test_rows_under_the_minimum_crowd_are_hidden_and_counted(
    dashboard_browser: Browser, dashboard_stack: Stack
) -> None:
    """A site whose minimum crowd no row reaches: the API sends no page row, and the
    dashboard says how many it held back, as the API counts them."""
    answer = dashboard_stack.api(
        f"/v1/sites/{CROWDED_OUT_SITE}/stats/breakdown", by="page", limit=10, **default_days()
    )
    held = answer["suppressed"]
    assert answer["rows"] == [] and held["min_crowd"] == CROWDED_OUT_K and held["rows"] > 0
    note = f"{held['rows']:,} rows from fewer than {CROWDED_OUT_K:,} visitors hidden"
    with signed_in(dashboard_browser, dashboard_stack, f"/?site={CROWDED_OUT_SITE}") as page:
        pages = page.get_by_role("region", name="Top pages")
        pages.get_by_text("No data for these days.").wait_for()
        pages.get_by_text(note).wait_for()
        screenshot(page, "minimum-crowd.png", height=1200)
