"""What the query API takes and gives: validated query parameters and answers.

The same models serve REST (query-parameter models and response models, hence the
OpenAPI document), GraphQL (its types are generated from the answers) and the cache
(answers are stored as their JSON). Limits on every parameter live here, so an
oversized or malformed value is refused (422) before any query is built.
The types of the filter fields (page path, device, country) are defined once, in
:mod:`api.query.filters`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from api.query.crowd import Suppressed
from api.query.filters import CountryCode, DeviceType, PagePath

MAX_CURSOR_CHARS = 256

HeatmapType = Literal[
    "click", "move", "rage_click", "click_fixed", "move_fixed", "rage_click_fixed"
]
Interval = Literal["hour", "day", "week"]
Dimension = Literal["page", "device", "country", "entry_page", "exit_page", "referrer"]
ExportKind = Literal["events", "sessions", "heatmap"]
ExportFormat = Literal["parquet", "csv"]
ExportStateName = Literal["queued", "running", "done", "failed"]


class _Query(BaseModel):
    """Parameters of one read; ``from``/``to`` are inclusive UTC days."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    date_from: date | None = Field(
        default=None,
        alias="from",
        description="First UTC day, inclusive (default: 29 days before `to`).",
    )
    date_to: date | None = Field(
        default=None, alias="to", description="Last UTC day, inclusive (default: today)."
    )


class _Filtered(_Query):
    path: PagePath | None = Field(default=None, description="Only this page path.")
    device: DeviceType | None = Field(default=None, description="Only this device class.")
    country: CountryCode | None = Field(default=None, description="Only this ISO country code.")


class HeatmapQuery(_Query):
    path: PagePath = Field(description="Page path, e.g. /pricing.")
    type: HeatmapType = Field(default="click", description="Interaction type.")
    device: DeviceType | None = None


class HeatmapImageQuery(_Query):
    path: PagePath
    type: Literal[
        "click", "move", "rage_click", "click_fixed", "move_fixed", "rage_click_fixed", "scroll"
    ] = Field(default="click", description="Interaction type; scroll draws the depth curve.")
    device: DeviceType | None = None


class ScrollDepthQuery(_Query):
    path: PagePath
    device: DeviceType | None = None


class SessionsQuery(_Query):
    path: PagePath | None = Field(
        default=None, description="Only sessions with a page view of this path."
    )
    device: DeviceType | None = None
    country: CountryCode | None = None
    has_errors: bool | None = None
    has_rage_clicks: bool | None = None
    has_recording: bool | None = Field(
        default=None, description="Only sessions with (true) or without (false) a kept recording."
    )
    min_duration: int = Field(default=0, ge=0, le=10 * 86_400, description="Seconds.")
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_CHARS,
        description="`next_cursor` of the previous page (opaque).",
    )


class ReplaysQuery(_Query):
    """``from``/``to`` are the UTC days a recording started on; without either, every
    recording still kept (see the read)."""

    path: PagePath | None = Field(default=None, description="Only recordings visiting this page.")
    device: DeviceType | None = None
    country: CountryCode | None = None
    has_errors: bool | None = None
    has_rage_clicks: bool | None = None
    min_duration: int = Field(default=0, ge=0, le=10 * 86_400, description="Seconds.")
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_CHARS,
        description="`next_cursor` of the previous page (opaque).",
    )


class StatsQuery(_Filtered):
    pass


class TimeseriesQuery(_Filtered):
    interval: Interval = "day"


class BreakdownQuery(_Filtered):
    by: Dimension = "page"
    limit: int = Field(default=20, ge=1, le=1000)


class ErrorsQuery(_Filtered):
    limit: int = Field(default=50, ge=1, le=1000)


class HeatmapSnapshotQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    path: PagePath = Field(description="Page path, e.g. /pricing.")
    device: DeviceType | None = Field(
        default=None, description="Only recordings of this device class (any when absent)."
    )


class SessionEventsQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    limit: int = Field(default=1000, ge=1, le=10_000, description="Most events returned.")


# --- answers ---------------------------------------------------------------------------


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The answer's JSON, made once: a cached answer is served many times, and a busy
    # heatmap takes milliseconds to serialise.
    _json: bytes | None = PrivateAttr(default=None)

    def json_bytes(self) -> bytes:
        """The answer as JSON (computed on first use, then kept with the answer)."""
        if self._json is None:
            self._json = self.model_dump_json().encode()
        return self._json


class HeatmapCells(Answer):
    """The cells with a positive count, as three parallel lists (cell i is x[i], y[i],
    count[i]), ordered top to bottom then left to right. Columnar because a busy page
    has tens of thousands of cells: a third of the size of one object per cell."""

    x: list[int] = Field(description="Columns: percent of the viewport width, 0..99.")
    y: list[int] = Field(description="Rows: cell_height_px page pixels each, from the top.")
    count: list[int]


class HeatmapAnswer(Answer):
    site: str
    path: str
    type: str
    device: str | None
    date_from: date
    date_to: date
    cell_height_px: int
    columns: int
    total: int
    cells: HeatmapCells
    suppressed: Suppressed = Field(
        default_factory=Suppressed,
        description="What the minimum crowd held back: rows from fewer than k sessions.",
    )


class ScrollDepthPoint(Answer):
    row: int
    depth_px: int
    views_reaching: int
    share: float = Field(description="Share of page views whose viewport reached this row.")


class ScrollDepthAnswer(Answer):
    site: str
    path: str
    device: str | None
    date_from: date
    date_to: date
    cell_height_px: int
    total_views: int
    points: list[ScrollDepthPoint]
    suppressed: Suppressed = Field(
        default_factory=Suppressed,
        description="What the minimum crowd held back: rows from fewer than k sessions.",
    )


class Session(Answer):
    id: str
    start_time: datetime
    end_time: datetime
    duration_seconds: int
    page_count: int
    event_count: int
    device: str
    country: str
    has_errors: bool
    has_rage_clicks: bool
    entry_path: str
    exit_path: str
    rage_click_count: int
    error_count: int
    has_recording: bool = Field(
        description="A recording of this session id is kept (see GET .../replays/{id})."
    )


class SessionsPage(Answer):
    date_from: date
    date_to: date
    sessions: list[Session]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class SessionEvent(Answer):
    id: str
    timestamp: datetime
    type: str
    path: str
    referrer: str
    device: str
    country: str
    viewport_width: int
    viewport_height: int
    error_class: str
    data: dict[str, Any] = Field(description="The event's kept optional fields (masked).")


class SessionDetail(Answer):
    session: Session
    events: list[SessionEvent]
    events_truncated: bool


class Replay(Answer):
    """One recording's summary; a chunk stored twice counts once in every figure."""

    session_id: str
    start_time: datetime = Field(description="Its first event.")
    end_time: datetime = Field(description="Its last event.")
    duration_seconds: int
    active_seconds: int = Field(
        description="Seconds with pointer, scroll, touch or input activity."
    )
    chunk_count: int
    event_count: int = Field(description="rrweb events.")
    bytes: int = Field(description="Stored size (compressed).")
    pages: list[str] = Field(description="Visited page paths, sorted.")
    click_count: int
    rage_click_count: int
    error_count: int
    device_type: str
    country_code: str = Field(description="ISO code; '' when unknown.")


class HeatmapSnapshot(Answer):
    """A page as a recording captured it: rrweb's Meta and FullSnapshot events, enough
    for rrweb's Replayer to rebuild the page (without its scripts) under a heatmap."""

    session_id: str = Field(description="The recording it was taken from.")
    captured_at: datetime = Field(description="When the snapshot was taken.")
    width: int = Field(description="The viewport width of the Meta event, px.")
    height: int = Field(description="The viewport height of the Meta event, px.")
    events: list[dict[str, Any]] = Field(
        description="[Meta, FullSnapshot] as stored (masked), in that order."
    )


class ReplaysPage(Answer):
    date_from: date
    date_to: date
    replays: list[Replay]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class StatsSummary(Answer):
    date_from: date
    date_to: date
    pageviews: int
    sessions: int
    visitors: int = Field(description="Distinct IP hashes per UTC day, summed over the days.")
    bounce_rate: float = Field(description="Share of sessions with at most one page view.")
    avg_duration_seconds: float
    pages_per_session: float = Field(description="Page views / sessions; 0 without sessions.")


class StatsPoint(Answer):
    start: datetime
    pageviews: int
    sessions: int
    visitors: int
    bounce_rate: float
    avg_duration_seconds: float
    pages_per_session: float = Field(description="Page views / sessions; 0 without sessions.")


class Timeseries(Answer):
    interval: str
    date_from: date
    date_to: date
    points: list[StatsPoint]


class BreakdownRow(Answer):
    value: str = Field(
        description="The page path, device class, country code or referrer host "
        "('' = unknown; for referrer, no referrer)."
    )
    pageviews: int = Field(
        description="Page views of the page (page, entry_page, exit_page), of the device "
        "or country, or of the sessions from the referrer."
    )
    visitors: int
    sessions: int = Field(
        description="Sessions that started on this page / device / country / referrer; "
        "for exit_page, that ended on it."
    )
    bounce_rate: float
    avg_duration_seconds: float


class Breakdown(Answer):
    by: str
    date_from: date
    date_to: date
    rows: list[BreakdownRow]
    suppressed: Suppressed = Field(
        default_factory=Suppressed,
        description="What the minimum crowd held back: rows from fewer than k sessions.",
    )


class ErrorGroup(Answer):
    error_class: str
    message: str
    occurrences: int
    sessions: int = Field(description="Distinct sessions that hit this error.")
    first_seen: datetime
    last_seen: datetime
    example_path: str
    example_session_id: str = Field(
        description="The session id of the most recent occurrence (as the browser sent it)."
    )


class ErrorsAnswer(Answer):
    date_from: date
    date_to: date
    groups: list[ErrorGroup]
    suppressed: Suppressed = Field(
        default_factory=Suppressed,
        description="What the minimum crowd held back: rows from fewer than k sessions.",
    )


# --- exports ---------------------------------------------------------------------------


class ExportRequest(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    kind: ExportKind
    format: ExportFormat = "parquet"
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")


class ExportFile(BaseModel):
    path: str
    rows: int
    bytes: int


class WebhookAttempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: float


class WebhookDelivery(BaseModel):
    url: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttempt] = Field(default_factory=list)


class ExportState(BaseModel):
    id: str
    site: str
    kind: ExportKind
    format: ExportFormat
    date_from: date
    date_to: date
    state: ExportStateName
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    files: list[ExportFile] = Field(default_factory=list)
    rows: int = 0
    error: str | None = None
    webhook: WebhookDelivery | None = None


class ErrorBody(BaseModel):
    """Every error answer: a stable code and a human reason (never internals)."""

    error: str
    message: str
    detail: list[dict[str, Any]] | None = None
