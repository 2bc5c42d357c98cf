"""PNG pictures of heatmaps and scroll-depth curves, drawn with Pillow.

A heatmap is the 100-column grid of a page (one column per percent of the viewport
width, one row per ``cell_height_px`` page pixels), rows top to bottom as on the page,
each cell filled with a colour of a viridis ramp on a log scale of its count (click
counts are heavy-tailed: on a linear scale all but the hottest few cells look empty).
Empty cells keep the dark panel colour. Around the grid: the caller's title, a summary
line with the total, a legend bar with the smallest and largest counts, the percent of
the viewport width on top and page pixels on the left.

A page deeper than :data:`MAX_GRID_HEIGHT_PX` image pixels allows at one pixel per row
has neighbouring rows merged into bands (counts summed), which the legend states.

The same input always gives the same bytes (no timestamps or metadata in the PNG).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from api.query.heatmap_cells import (
    DEFAULT_CELL_HEIGHT_PX,
    GRID_COLUMNS,
    HeatmapCell,
    HeatmapFilter,
    ScrollDepthPoint,
)

Rgb = tuple[int, int, int]
Font = ImageFont.ImageFont | ImageFont.FreeTypeFont

CELL_WIDTH_PX = 8
# A row 10 px tall next to 8 px columns gives a 1280 px wide desktop page, whose 1%
# columns are 12.8 px and rows 16 px, about its true proportions.
PREFERRED_ROW_HEIGHT_PX = 10
# The grid's largest height; with the header the image stays near 4000 px.
MAX_GRID_HEIGHT_PX = 3600
# Fewer rows than this would make a sliver of an image for a page with a single row.
MIN_ROWS = 12

MARGIN_PX = 12
AXIS_WIDTH_PX = 64
LEGEND_WIDTH_PX = 240
LEGEND_HEIGHT_PX = 12
FONT_SIZE = 12
LINE_HEIGHT_PX = 16
MIN_TICK_SPACING_PX = 48
# Candidate page-pixel steps between y-axis labels; the smallest that keeps labels
# MIN_TICK_SPACING_PX apart is used.
TICK_STEPS_PX: tuple[int, ...] = (
    50,
    100,
    200,
    250,
    500,
    1000,
    2000,
    2500,
    5000,
    10_000,
    20_000,
    25_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
)

BACKGROUND: Rgb = (17, 20, 24)
EMPTY_CELL: Rgb = (36, 40, 47)
TEXT: Rgb = (232, 234, 237)
MUTED_TEXT: Rgb = (150, 156, 163)
AXIS: Rgb = (110, 116, 124)

# Viridis (matplotlib's perceptually uniform, colour-blind-safe map) at nine evenly
# spaced points, interpolated linearly in between. Its dark end stands out from
# EMPTY_CELL, so a cell with a single count is still visible.
VIRIDIS_STOPS: tuple[Rgb, ...] = (
    (68, 1, 84),
    (71, 45, 123),
    (59, 82, 139),
    (44, 114, 142),
    (33, 145, 140),
    (40, 174, 128),
    (94, 201, 98),
    (173, 220, 48),
    (253, 231, 37),
)
HOTTEST: Rgb = VIRIDIS_STOPS[-1]
COLDEST: Rgb = VIRIDIS_STOPS[0]


def ramp_colour(position: float) -> Rgb:
    """The colour at ``position`` (0 coldest .. 1 hottest, clamped) of the ramp."""
    position = min(1.0, max(0.0, position))
    scaled = position * (len(VIRIDIS_STOPS) - 1)
    lower = min(int(scaled), len(VIRIDIS_STOPS) - 2)
    fraction = scaled - lower
    start, end = VIRIDIS_STOPS[lower], VIRIDIS_STOPS[lower + 1]
    red, green, blue = (round(a + (b - a) * fraction) for a, b in zip(start, end, strict=True))
    return red, green, blue


def log_position(count: int, smallest: int, largest: int) -> float:
    """Where ``count`` sits between the smallest and largest positive counts, log scale."""
    if largest <= smallest:
        return 1.0
    return (math.log(count) - math.log(smallest)) / (math.log(largest) - math.log(smallest))


def describe_filter(flt: HeatmapFilter) -> str:
    """A one-line title for a filter: site and path, type, devices, days."""
    device = flt.device_type or "all devices"
    if flt.date_from and flt.date_to:
        days = f"{flt.date_from.isoformat()} to {flt.date_to.isoformat()}"
    elif flt.date_from:
        days = f"from {flt.date_from.isoformat()}"
    elif flt.date_to:
        days = f"until {flt.date_to.isoformat()}"
    else:
        days = "all days"
    return f"{flt.site_id} {flt.url_path} · {flt.interaction_type} · {device} · {days}"


@dataclass(frozen=True)
class GridGeometry:
    """Where the grid sits in the image and how page rows map to image rows.

    ``rows_per_band`` page rows share one band ``band_height`` image pixels tall (one
    row per band unless the page is too deep for :data:`MAX_GRID_HEIGHT_PX`).
    """

    left: int
    top: int
    columns: int
    cell_width: int
    bands: int
    band_height: int
    rows_per_band: int
    cell_height_px: int
    image_width: int
    image_height: int

    @property
    def width(self) -> int:
        return self.columns * self.cell_width

    @property
    def height(self) -> int:
        return self.bands * self.band_height

    def cell_box(self, grid_x: int, grid_y: int) -> tuple[int, int, int, int]:
        """Image box (left, top, right, bottom; right and bottom exclusive) of a cell."""
        band = grid_y // self.rows_per_band
        x0 = self.left + grid_x * self.cell_width
        y0 = self.top + band * self.band_height
        return x0, y0, x0 + self.cell_width, y0 + self.band_height

    def y_for_page_px(self, page_px: float) -> float:
        """Image y of a depth in page pixels."""
        page_px_per_band = self.rows_per_band * self.cell_height_px
        return self.top + page_px / page_px_per_band * self.band_height


def _font() -> Font:
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except TypeError:  # Pillow before 10.1 has only the fixed-size bitmap font
        return ImageFont.load_default()


def _text_size(font: Font, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return int(right - left), int(bottom - top)


def _fit(font: Font, text: str, width: int) -> str:
    """``text`` cut with an ellipsis to at most ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _header_lines(title: str, summary: str, font: Font, width: int) -> list[str]:
    lines = [line for line in title.splitlines() if line.strip()] or [""]
    return [_fit(font, line, width) for line in [*lines, summary]]


def _geometry(row_count: int, header_lines: int, cell_height_px: int, columns: int) -> GridGeometry:
    rows = max(row_count, MIN_ROWS)
    rows_per_band = math.ceil(rows / MAX_GRID_HEIGHT_PX)
    bands = math.ceil(rows / rows_per_band)
    band_height = max(1, min(PREFERRED_ROW_HEIGHT_PX, MAX_GRID_HEIGHT_PX // bands))
    header_height = header_lines * LINE_HEIGHT_PX + 8 + LEGEND_HEIGHT_PX + LINE_HEIGHT_PX + 8
    top = MARGIN_PX + header_height + LINE_HEIGHT_PX  # the x-axis labels sit above the grid
    left = MARGIN_PX + AXIS_WIDTH_PX
    width = left + columns * CELL_WIDTH_PX + MARGIN_PX
    height = top + bands * band_height + MARGIN_PX
    return GridGeometry(
        left=left,
        top=top,
        columns=columns,
        cell_width=CELL_WIDTH_PX,
        bands=bands,
        band_height=band_height,
        rows_per_band=rows_per_band,
        cell_height_px=cell_height_px,
        image_width=width,
        image_height=height,
    )


def _check_sizes(cell_height_px: int, columns: int) -> None:
    if cell_height_px < 1:
        raise ValueError(f"cell_height_px must be at least 1, got {cell_height_px}")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")


def heatmap_geometry(
    cells: Sequence[HeatmapCell],
    *,
    title: str,
    cell_height_px: int = DEFAULT_CELL_HEIGHT_PX,
    columns: int = GRID_COLUMNS,
) -> GridGeometry:
    """The layout :func:`render_heatmap_png` uses for these arguments (for image maps
    and tests that look up a cell's pixels)."""
    _check_sizes(cell_height_px, columns)
    row_count = max((cell.grid_y for cell in cells), default=-1) + 1
    return _geometry(row_count, _title_line_count(title), cell_height_px, columns)


def _title_line_count(title: str) -> int:
    # The caller's non-blank lines (at least one) plus the summary line.
    return max(1, sum(1 for line in title.splitlines() if line.strip())) + 1


def _draw_header(draw: ImageDraw.ImageDraw, lines: list[str], font: Font) -> int:
    """Title lines (the last one, the summary, muted); returns the y below them."""
    y = MARGIN_PX
    for index, line in enumerate(lines):
        colour = MUTED_TEXT if index == len(lines) - 1 else TEXT
        draw.text((MARGIN_PX, y), line, font=font, fill=colour)
        y += LINE_HEIGHT_PX
    return y + 8


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    top: int,
    font: Font,
    low_label: str,
    high_label: str,
    caption: str,
    *,
    empty: bool,
    middle_label: str = "",
) -> None:
    left = MARGIN_PX + AXIS_WIDTH_PX
    for offset in range(LEGEND_WIDTH_PX):
        colour = EMPTY_CELL if empty else ramp_colour(offset / (LEGEND_WIDTH_PX - 1))
        draw.line([(left + offset, top), (left + offset, top + LEGEND_HEIGHT_PX - 1)], fill=colour)
    draw.text((left + LEGEND_WIDTH_PX + 10, top), caption, font=font, fill=MUTED_TEXT)
    label_y = top + LEGEND_HEIGHT_PX + 2
    draw.text((left, label_y), low_label, font=font, fill=TEXT)
    high_width, _ = _text_size(font, high_label)
    draw.text((left + LEGEND_WIDTH_PX - high_width, label_y), high_label, font=font, fill=TEXT)
    if middle_label:
        middle_width, _ = _text_size(font, middle_label)
        middle_x = left + (LEGEND_WIDTH_PX - middle_width) // 2
        draw.text((middle_x, label_y), middle_label, font=font, fill=TEXT)


def _draw_x_axis(
    draw: ImageDraw.ImageDraw, geometry: GridGeometry, font: Font, columns: int
) -> None:
    """Percent of the viewport width above the grid, at 0, 25, 50, 75 and 100 %."""
    label_y = geometry.top - LINE_HEIGHT_PX
    for percent in (0, 25, 50, 75, 100):
        x = geometry.left + round(percent / 100 * columns) * geometry.cell_width
        label = f"{percent}%"
        width, _ = _text_size(font, label)
        text_x = min(max(x - width // 2, geometry.left), geometry.left + geometry.width - width)
        draw.text((text_x, label_y), label, font=font, fill=MUTED_TEXT)
        draw.line([(x, geometry.top - 3), (x, geometry.top - 1)], fill=AXIS)


def _tick_step(geometry: GridGeometry) -> int:
    image_px_per_page_px = geometry.band_height / (geometry.rows_per_band * geometry.cell_height_px)
    for step in TICK_STEPS_PX:
        if step * image_px_per_page_px >= MIN_TICK_SPACING_PX:
            return step
    return TICK_STEPS_PX[-1]


def _draw_y_axis(draw: ImageDraw.ImageDraw, geometry: GridGeometry, font: Font) -> None:
    """Page pixels (row × cell height) left of the grid, every round number of pixels."""
    page_height = geometry.bands * geometry.rows_per_band * geometry.cell_height_px
    step = _tick_step(geometry)
    for page_px in range(0, page_height + 1, step):
        y = round(geometry.y_for_page_px(page_px))
        label = f"{page_px:,} px"
        width, height = _text_size(font, label)
        _, offset_top, _, _ = font.getbbox(label)
        label_top = min(max(y - height // 2 - offset_top, geometry.top - offset_top), y)
        draw.text((geometry.left - 8 - width, label_top), label, font=font, fill=MUTED_TEXT)
        draw.line([(geometry.left - 5, y), (geometry.left - 1, y)], fill=AXIS)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _banded_counts(
    cells: Sequence[HeatmapCell], columns: int, rows_per_band: int
) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for cell in cells:
        if not 0 <= cell.grid_x < columns:
            raise ValueError(f"cell grid_x {cell.grid_x} is outside the grid's 0..{columns - 1}")
        if cell.grid_y < 0:
            raise ValueError(f"cell grid_y {cell.grid_y} is negative")
        if cell.count < 0:
            raise ValueError(f"cell ({cell.grid_x}, {cell.grid_y}) has a negative count")
        if cell.count:
            key = (cell.grid_x, cell.grid_y // rows_per_band)
            counts[key] = counts.get(key, 0) + cell.count
    return counts


def render_heatmap_png(
    cells: Sequence[HeatmapCell],
    *,
    title: str,
    cell_height_px: int = DEFAULT_CELL_HEIGHT_PX,
    columns: int = GRID_COLUMNS,
) -> bytes:
    """A PNG of the grid of ``cells`` (see the module docstring for what it shows).

    ``title`` may hold several lines; a summary line with the total count follows it.
    Cells may repeat (their counts add up); no cells gives an empty grid marked "no data".
    Raises ValueError for a cell outside the grid or a negative count.
    """
    geometry = heatmap_geometry(cells, title=title, cell_height_px=cell_height_px, columns=columns)
    counts = _banded_counts(cells, columns, geometry.rows_per_band)
    total = sum(cell.count for cell in cells)
    smallest = min(counts.values(), default=0)
    largest = max(counts.values(), default=0)

    font = _font()
    if counts:
        summary = f"total {total:,} · {len(counts):,} cells with data · hottest cell {largest:,}"
    else:
        summary = "no data"
    image = Image.new("RGB", (geometry.image_width, geometry.image_height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    text_width = geometry.image_width - 2 * MARGIN_PX
    legend_top = _draw_header(draw, _header_lines(title, summary, font, text_width), font)
    band_px = geometry.rows_per_band * cell_height_px
    caption = f"count per cell (1% x {band_px:,} px), log scale"
    if geometry.rows_per_band > 1:
        caption += f", {geometry.rows_per_band} rows merged per band"
    _draw_legend(
        draw,
        legend_top,
        font,
        f"{smallest:,}",
        f"{largest:,}",
        caption,
        empty=not counts,
        # On a log scale the bar's middle is the geometric mean of its ends.
        middle_label=f"{round(math.sqrt(smallest * largest)):,}" if largest > smallest else "",
    )

    # One pixel per cell, then scaled up with nearest-neighbour: every cell becomes an
    # exact cell_width × band_height rectangle of its colour, in one call.
    grid = Image.new("RGB", (columns, geometry.bands), EMPTY_CELL)
    for (grid_x, band), count in sorted(counts.items()):
        grid.putpixel((grid_x, band), ramp_colour(log_position(count, smallest, largest)))
    grid = grid.resize((geometry.width, geometry.height), Image.Resampling.NEAREST)
    image.paste(grid, (geometry.left, geometry.top))

    _draw_x_axis(draw, geometry, font, columns)
    _draw_y_axis(draw, geometry, font)
    return _png_bytes(image)


def scroll_depth_geometry(
    points: Sequence[ScrollDepthPoint],
    *,
    title: str,
    cell_height_px: int = DEFAULT_CELL_HEIGHT_PX,
) -> GridGeometry:
    """The layout :func:`render_scroll_depth_png` uses for these arguments."""
    _check_sizes(cell_height_px, GRID_COLUMNS)
    row_count = max((point.grid_y for point in points), default=-1) + 1
    return _geometry(row_count, _title_line_count(title), cell_height_px, GRID_COLUMNS)


def _depth_reached_by(points: Sequence[ScrollDepthPoint], share: float) -> int | None:
    """The deepest row at least ``share`` of the page views reached, if any."""
    rows = [point.grid_y for point in points if point.share >= share]
    return max(rows) if rows else None


def render_scroll_depth_png(
    points: Sequence[ScrollDepthPoint],
    *,
    title: str,
    cell_height_px: int = DEFAULT_CELL_HEIGHT_PX,
) -> bytes:
    """A PNG of how far page views scrolled: one horizontal bar per row, as long (and as
    warm) as the share of views that reached it, rows top to bottom as on the page,
    with markers where 75 %, 50 % and 25 % of the views stop.

    ``points`` as :func:`api.query.heatmap_cells.fetch_scroll_depth` returns them; no points
    gives an empty chart marked "no data".
    """
    geometry = scroll_depth_geometry(points, title=title, cell_height_px=cell_height_px)
    share_by_band: dict[int, float] = {}
    for point in points:
        if point.grid_y < 0:
            raise ValueError(f"scroll point grid_y {point.grid_y} is negative")
        if not 0.0 <= point.share <= 1.0:
            raise ValueError(f"scroll point share {point.share} is outside 0..1")
        band = point.grid_y // geometry.rows_per_band
        # A band's bar shows the views reaching its top row, the most of its rows.
        share_by_band[band] = max(share_by_band.get(band, 0.0), point.share)

    font = _font()
    total_views = max((point.views_reaching for point in points), default=0)
    if points:
        half_row = _depth_reached_by(points, 0.5)
        half_px = 0 if half_row is None else half_row * cell_height_px
        summary = f"{total_views:,} page views · half of them reach {half_px:,} px"
    else:
        summary = "no data"
    image = Image.new("RGB", (geometry.image_width, geometry.image_height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    text_width = geometry.image_width - 2 * MARGIN_PX
    legend_top = _draw_header(draw, _header_lines(title, summary, font, text_width), font)
    _draw_legend(
        draw,
        legend_top,
        font,
        "0%",
        "100%",
        "share of page views that reached this depth",
        empty=not points,
        middle_label="50%",
    )

    grid_right = geometry.left + geometry.width - 1
    grid_bottom = geometry.top + geometry.height - 1
    draw.rectangle([geometry.left, geometry.top, grid_right, grid_bottom], fill=EMPTY_CELL)
    for band, share in sorted(share_by_band.items()):
        length = round(share * geometry.width)
        if length == 0:
            continue
        y0 = geometry.top + band * geometry.band_height
        draw.rectangle(
            [geometry.left, y0, geometry.left + length - 1, y0 + geometry.band_height - 1],
            fill=ramp_colour(share),
        )

    for level in (0.75, 0.5, 0.25):
        row = _depth_reached_by(points, level)
        if row is None:
            continue
        # The views counted at a row reached at least its top; the line goes where the
        # bars drop below the level, under that row.
        depth_px = row * cell_height_px
        y = min(round(geometry.y_for_page_px(depth_px + cell_height_px)), grid_bottom)
        draw.line([(geometry.left, y), (grid_right, y)], fill=TEXT)
        label = f"{round(level * 100)}% reach {depth_px:,} px"
        width, height = _text_size(font, label)
        label_x = geometry.left + geometry.width - width - 4
        label_y = max(geometry.top, y - height - 4)
        draw.text((label_x, label_y), label, font=font, fill=TEXT)

    _draw_x_axis(draw, geometry, font, GRID_COLUMNS)
    _draw_y_axis(draw, geometry, font)
    return _png_bytes(image)
