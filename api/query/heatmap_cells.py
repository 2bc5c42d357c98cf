"""Reading heatmaps back from ClickHouse: cell counts, scroll depth, the busiest page.

``heatmap_aggregates`` holds, per (site, path, device, UTC day, interaction type,
grid_x, grid_y), partial sums of ``interaction_count``: a SummingMergeTree adds rows
with equal keys only when parts merge, at an unknown later time, so every read here
sums and groups. The grid:

- ``grid_x = min(99, floor(100 * x / vw))``: percent of the viewport width, 0..99;
- ``grid_y = floor(y / cell_height)``: the row, ``cell_height`` page pixels tall
  (:data:`DEFAULT_CELL_HEIGHT_PX` unless the pipeline was configured otherwise);
- ``scroll`` rows count, per page view, one at the row of the deepest point the
  viewport bottom reached, so the views reaching row ``r`` are the sum over rows
  ``r`` and below.

Every value from a caller is bound as a server-side parameter (``{name:Type}``);
optional filters are written as ``({p:Nullable(T)} IS NULL OR column = {p:...})``,
which ClickHouse folds to a constant before reading, so the primary key still prunes.

This module is shared by the command line and the query API: it raises ``ValueError``
for bad filters and the connector's ``ClickHouseError`` for engine failures, and prints
nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from api.query.crowd import Suppressed, shown_sql, suppressed_from, suppressed_sql
from foundation.settings import SITE_ID_PATTERN

if TYPE_CHECKING:  # the client only passes through; the CLI imports this module on start
    from connectors.clickhouse import ClickHouseClient

# Page pixels per grid row when the pipeline runs with its default settings.
DEFAULT_CELL_HEIGHT_PX = 16
# Columns of the grid: grid_x is a percent of the viewport width.
GRID_COLUMNS = 100

INTERACTION_TYPES: tuple[str, ...] = (
    "click",
    "move",
    "rage_click",
    "click_fixed",
    "move_fixed",
    "rage_click_fixed",
    "scroll",
)
# The enrich stage's device classes (operators.user_agent.DEVICE_TYPES), repeated here so
# the query layer does not import the user-agent parser; a test keeps the two equal.
DEVICE_TYPES: tuple[str, ...] = ("desktop", "mobile", "tablet", "other")

_TABLE = "heatmap_aggregates"

# Shared WHERE clause of the per-page reads. The device and date filters are optional:
# a NULL parameter turns its condition into TRUE.
_PAGE_CONDITIONS = """
    site_id = {site_id:String}
    AND url_path = {url_path:String}
    AND interaction_type = {interaction_type:String}
    AND ({device_type:Nullable(String)} IS NULL OR device_type = {device_type:Nullable(String)})
    AND ({date_from:Nullable(Date)} IS NULL OR date_bucket >= {date_from:Nullable(Date)})
    AND ({date_to:Nullable(Date)} IS NULL OR date_bucket <= {date_to:Nullable(Date)})
"""


def check_interaction_type(interaction_type: str) -> None:
    """Raise ValueError unless ``interaction_type`` is one of :data:`INTERACTION_TYPES`."""
    if interaction_type not in INTERACTION_TYPES:
        raise ValueError(
            f"interaction_type {interaction_type!r} is not one of " + ", ".join(INTERACTION_TYPES)
        )


@dataclass(frozen=True)
class HeatmapFilter:
    """Which counts to read: one page of one site, one interaction type, optionally one
    device class and an inclusive range of UTC days. Invalid values raise ValueError."""

    site_id: str
    url_path: str
    interaction_type: str = "click"
    device_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.site_id, str) or not SITE_ID_PATTERN.fullmatch(self.site_id):
            raise ValueError(f"site_id {self.site_id!r} is not a site id (1-64 of A-Za-z0-9._-)")
        if not isinstance(self.url_path, str) or not self.url_path:
            raise ValueError("url_path must be a non-empty string, e.g. '/pricing'")
        check_interaction_type(self.interaction_type)
        if self.device_type is not None and self.device_type not in DEVICE_TYPES:
            raise ValueError(
                f"device_type {self.device_type!r} is not one of " + ", ".join(DEVICE_TYPES)
            )
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            # datetime is a date subclass, but its text would not parse as a Date
            # parameter and a time of day has no meaning for daily buckets.
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise ValueError(f"{name} must be a date (not a datetime), got {value!r}")
        if (
            self.date_from is not None
            and self.date_to is not None
            and self.date_from > self.date_to
        ):
            raise ValueError(
                f"date_from {self.date_from.isoformat()} is after date_to "
                f"{self.date_to.isoformat()}"
            )

    def query_params(self) -> dict[str, Any]:
        """The bound parameters of the per-page WHERE clause."""
        return {
            "site_id": self.site_id,
            "url_path": self.url_path,
            "interaction_type": self.interaction_type,
            "device_type": self.device_type,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


@dataclass(frozen=True)
class HeatmapCell:
    """The total count of one grid cell: column ``grid_x`` (percent of the viewport
    width) and row ``grid_y`` (cell-height page pixels each)."""

    grid_x: int
    grid_y: int
    count: int


@dataclass(frozen=True)
class ScrollDepthPoint:
    """How many page views scrolled at least to row ``grid_y``, and their share of all."""

    grid_y: int
    views_reaching: int
    share: float


def crowd_param(min_crowd: int) -> int:
    """The bound ``min_crowd``: 0 when the minimum crowd is off (k = 1), so that rows
    written before the table kept sessions (their state is empty) still show."""
    return min_crowd if min_crowd > 1 else 0


def _cells_grouped(database: str) -> str:
    return f"""
        SELECT grid_x, grid_y, sum(interaction_count) AS total,
            uniqExactMerge(sessions) AS crowd
        FROM {database}.{_TABLE}
        WHERE {_PAGE_CONDITIONS}
        GROUP BY grid_x, grid_y
        HAVING total > 0
    """


def fetch_cells(
    client: ClickHouseClient, flt: HeatmapFilter, *, min_crowd: int
) -> list[HeatmapCell]:
    """Every cell with a positive count for ``flt`` backed by at least ``min_crowd``
    distinct sessions, summed over the filter's devices and days, ordered top to bottom
    then left to right."""
    return fetch_cells_and_suppressed(client, flt, min_crowd)[0]


def fetch_cells_and_suppressed(
    client: ClickHouseClient, flt: HeatmapFilter, min_crowd: int
) -> tuple[list[HeatmapCell], Suppressed]:
    """:func:`fetch_cells`, and what the minimum crowd held back."""
    grouped = _cells_grouped(client.database)
    params = {**flt.query_params(), "min_crowd": crowd_param(min_crowd)}
    result = client.query(shown_sql(grouped, "ORDER BY grid_y, grid_x"), params)
    cells = [HeatmapCell(int(x), int(y), int(total)) for x, y, total, _crowd in result.rows]
    if min_crowd <= 1:
        return cells, Suppressed(min_crowd=min_crowd)
    held = client.query(suppressed_sql(grouped, "total"), params).rows
    return cells, suppressed_from(min_crowd, held[0] if held else None)


def fetch_scroll_depth(
    client: ClickHouseClient, flt: HeatmapFilter, *, min_crowd: int
) -> list[ScrollDepthPoint]:
    """The share of page views that reached each row, from row 0 to the deepest row
    reached by at least ``min_crowd`` distinct sessions."""
    return fetch_scroll_depth_and_suppressed(client, flt, min_crowd)[0]


def fetch_scroll_depth_and_suppressed(
    client: ClickHouseClient, flt: HeatmapFilter, min_crowd: int
) -> tuple[list[ScrollDepthPoint], Suppressed]:
    """The share of page views that reached each row, and what the crowd held back.

    Reads the ``scroll`` rows whatever ``flt.interaction_type`` says (the site, path,
    device and dates of ``flt`` apply). Every row from 0 to the deepest one gets a point,
    so the curve has no gaps; an empty list means no scroll data (or too few sessions).
    The sessions reaching row ``r + 1`` are a subset of those reaching ``r``, so the
    rows the minimum crowd holds back are the curve's deep end.
    """
    scroll_filter = dataclasses.replace(flt, interaction_type="scroll")
    sql = f"""
        SELECT grid_y, sum(interaction_count) AS views
        FROM {client.database}.{_TABLE}
        WHERE {_PAGE_CONDITIONS}
        GROUP BY grid_y
        HAVING views > 0
        ORDER BY grid_y
    """
    result = client.query(sql, scroll_filter.query_params())
    views_ending_at = {int(row): int(views) for row, views in result.rows}
    if not views_ending_at:
        return [], Suppressed(min_crowd=min_crowd)
    total_views = sum(views_ending_at.values())
    deepest = max(views_ending_at)
    # Views reaching row r = views whose deepest row is r or below: a suffix sum.
    points: list[ScrollDepthPoint] = []
    reaching = 0
    for row in range(deepest, -1, -1):
        reaching += views_ending_at.get(row, 0)
        points.append(ScrollDepthPoint(row, reaching, reaching / total_views))
    points.reverse()
    if min_crowd <= 1:
        return points, Suppressed(min_crowd=min_crowd)
    crowds = _sessions_reaching(client, scroll_filter)
    shown = [point for point in points if crowds.get(point.grid_y, 0) >= min_crowd]
    if len(shown) == len(points):
        return points, Suppressed(min_crowd=min_crowd)
    first_held = points[len(shown)]
    return shown, Suppressed(
        min_crowd=min_crowd,
        rows=len(points) - len(shown),
        sessions=crowds.get(first_held.grid_y, 0),
        interactions=first_held.views_reaching,
    )


def _sessions_reaching(client: ClickHouseClient, flt: HeatmapFilter) -> dict[int, int]:
    """Distinct sessions whose viewport reached each row (a stored row ``y`` counts for
    rows 0..y)."""
    sql = f"""
        SELECT reached, uniqExactMerge(sessions) AS crowd FROM (
            SELECT arrayJoin(range(toUInt32(grid_y) + 1)) AS reached, sessions
            FROM {client.database}.{_TABLE}
            WHERE {_PAGE_CONDITIONS} AND interaction_count > 0
        )
        GROUP BY reached
    """
    return {int(row): int(crowd) for row, crowd in client.query(sql, flt.query_params()).rows}


def busiest_page(
    client: ClickHouseClient, interaction_type: str = "click"
) -> tuple[str, str] | None:
    """(site_id, url_path) of the page with the most ``interaction_type`` counts over
    every device and day, ties broken by name; None when there are none."""
    check_interaction_type(interaction_type)
    sql = f"""
        SELECT site_id, url_path, sum(interaction_count) AS total
        FROM {client.database}.{_TABLE}
        WHERE interaction_type = {{interaction_type:String}}
        GROUP BY site_id, url_path
        HAVING total > 0
        ORDER BY total DESC, site_id, url_path
        LIMIT 1
    """
    result = client.query(sql, {"interaction_type": interaction_type})
    if not result.rows:
        return None
    site_id, url_path, _total = result.rows[0]
    return str(site_id), str(url_path)
