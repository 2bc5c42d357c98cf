"""The GraphQL types of the query API: objects generated from the answer models of
:mod:`api.query.models`, and the enums of the arguments."""

from __future__ import annotations

import enum

import strawberry
from strawberry.experimental.pydantic import type as pydantic_type
from strawberry.scalars import JSON

from api.query import crowd, models


@pydantic_type(
    model=crowd.Suppressed,
    all_fields=True,
    description="What the minimum crowd held back: rows from fewer than k sessions.",
)
class Suppressed:
    pass


@pydantic_type(model=models.HeatmapCells, all_fields=True)
class HeatmapCells:
    pass


@pydantic_type(model=models.HeatmapAnswer, all_fields=True)
class Heatmap:
    pass


@pydantic_type(model=models.ScrollDepthPoint, all_fields=True)
class ScrollDepthPoint:
    pass


@pydantic_type(model=models.ScrollDepthAnswer, all_fields=True)
class ScrollDepth:
    pass


@pydantic_type(model=models.Session, all_fields=True)
class Session:
    pass


@pydantic_type(model=models.SessionsPage, all_fields=True)
class SessionsPage:
    pass


@pydantic_type(model=models.SessionEvent)
class SessionEvent:
    id: strawberry.auto
    timestamp: strawberry.auto
    type: strawberry.auto
    path: strawberry.auto
    referrer: strawberry.auto
    device: strawberry.auto
    country: strawberry.auto
    viewport_width: strawberry.auto
    viewport_height: strawberry.auto
    error_class: strawberry.auto
    data: JSON


@pydantic_type(model=models.SessionDetail, all_fields=True)
class SessionDetail:
    pass


@pydantic_type(model=models.Replay, all_fields=True)
class Replay:
    pass


@pydantic_type(model=models.ReplaysPage, all_fields=True)
class ReplaysPage:
    pass


@pydantic_type(model=models.StatsSummary, all_fields=True)
class StatsSummary:
    pass


@pydantic_type(model=models.StatsPoint, all_fields=True)
class StatsPoint:
    pass


@pydantic_type(model=models.Timeseries, all_fields=True)
class Timeseries:
    pass


@pydantic_type(model=models.BreakdownRow, all_fields=True)
class BreakdownRow:
    pass


@pydantic_type(model=models.Breakdown, all_fields=True)
class Breakdown:
    pass


@pydantic_type(model=models.ErrorGroup, all_fields=True)
class ErrorGroup:
    pass


@strawberry.enum(description="Interaction type of a heatmap.")
class HeatmapType(enum.Enum):
    CLICK = "click"
    MOVE = "move"
    RAGE_CLICK = "rage_click"
    CLICK_FIXED = "click_fixed"
    MOVE_FIXED = "move_fixed"
    RAGE_CLICK_FIXED = "rage_click_fixed"


@strawberry.enum(description="Device class from the user agent.")
class Device(enum.Enum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"


@strawberry.enum(description="Bucket of a time series (UTC; weeks start on Monday).")
class Interval(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@strawberry.enum(description="What a breakdown groups by.")
class Dimension(enum.Enum):
    PAGE = "page"
    DEVICE = "device"
    COUNTRY = "country"
    ENTRY_PAGE = "entry_page"
    EXIT_PAGE = "exit_page"
    REFERRER = "referrer"
