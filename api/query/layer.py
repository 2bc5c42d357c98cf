"""The query layer: every read the API offers, over ClickHouse, shared by REST and GraphQL.

Rules every query here follows:

- values are bound as server-side parameters (``{name:Type}``); the SQL text is built
  only from constant fragments chosen by which filters are present, never from
  request text;
- ``sessions`` is read with ``FINAL`` (a live row and the final row of one session
  collapse to the highest ``version``; filters on non-key columns apply after the
  collapse); ``events`` counts are ``uniqExact(event_id)`` per day (a redelivered event
  counts once, as with FINAL, at a quarter of the cost) and one session's events are
  read with ``FINAL``; ``heatmap_aggregates`` always through
  ``sum(interaction_count) ... GROUP BY``;
- dates are inclusive UTC days; missing ones default to the 30 days ending today (by
  the injected clock), and a range is capped at ``max_range_days``.

Definitions (also in docs/api.md):

- page views: distinct ``pageview`` events;
- visitors: distinct ``ip_hash`` among page views per UTC day, summed over the days of
  the range or bucket. The hash's key rotates daily, so one person seen on two days
  counts twice and hashes of different days cannot be joined; within a day they can;
- sessions, bounce rate (share of sessions with ``page_count <= 1``) and average
  duration come from ``sessions`` by their start time; a page filter or breakdown
  selects sessions by their entry page.

ClickHouse calls are blocking; each runs in a worker thread on a client borrowed from
a small pool, so the event loop keeps serving cached answers meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar

import anyio.to_thread
import orjson

from api.query.cache import Codec, ResponseCache, cache_key
from api.query.guards import QUERY_SLOTS
from api.query.models import (
    Answer,
    Breakdown,
    BreakdownQuery,
    BreakdownRow,
    ErrorGroup,
    ErrorsAnswer,
    ErrorsQuery,
    HeatmapAnswer,
    HeatmapCells,
    HeatmapImageQuery,
    HeatmapQuery,
    ScrollDepthAnswer,
    ScrollDepthPoint,
    ScrollDepthQuery,
    Session,
    SessionDetail,
    SessionEvent,
    SessionsPage,
    SessionsQuery,
    StatsPoint,
    StatsQuery,
    StatsSummary,
    Timeseries,
    TimeseriesQuery,
    is_site_id,
)
from connectors.clickhouse import ClickHouseClient
from insightlite.heatmaps import (
    GRID_COLUMNS,
    HeatmapFilter,
    fetch_cells,
    fetch_scroll_depth,
)

Clock = Callable[[], float]
A = TypeVar("A", bound=Answer)
R = TypeVar("R")

DEFAULT_RANGE_DAYS: Final = 30
# Hourly series over longer ranges would return thousands of mostly empty points.
MAX_HOURLY_RANGE_DAYS: Final = 31
# ClickHouse's Date type starts at 1970; far-future days only make pointless scans.
EARLIEST_DAY: Final = date(1970, 1, 1)
LATEST_DAY: Final = date(2105, 12, 31)
MAX_ERROR_MESSAGE_CHARS: Final = 500

_UTC_DATETIME: Final = "DateTime64(3, 'UTC')"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidQuery(ValueError):
    """A parameter is outside what the API serves (HTTP 422)."""


class InvalidCursor(ValueError):
    """A pagination cursor is not one this API made (HTTP 400)."""


# --- ClickHouse clients ----------------------------------------------------------------


class ClientPool:
    """Up to ``size`` ClickHouse clients, lent to one thread at a time.

    Each client serialises its own calls; several of them let several queries run at
    once (chdb clients over one directory share the process's engine).
    """

    def __init__(self, factory: Callable[[], ClickHouseClient], size: int) -> None:
        if size < 1:
            raise ValueError("a client pool needs at least one client")
        self._factory = factory
        self._idle: queue.LifoQueue[ClickHouseClient] = queue.LifoQueue()
        self._created: list[ClickHouseClient] = []
        self._size = size
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def client(self) -> Iterator[ClickHouseClient]:
        borrowed = self._borrow()
        try:
            yield borrowed
        finally:
            self._idle.put(borrowed)

    def _borrow(self) -> ClickHouseClient:
        with contextlib.suppress(queue.Empty):
            return self._idle.get_nowait()
        with self._lock:
            if len(self._created) < self._size:
                created = self._factory()
                self._created.append(created)
                return created
        return self._idle.get()

    def close(self) -> None:
        """Close every client (chdb frees its directory once all are closed).

        Call it when no query runs; a later borrow opens new clients.
        """
        with self._lock:
            created, self._created = self._created, []
            while True:
                try:
                    self._idle.get_nowait()
                except queue.Empty:
                    break
        for client in created:
            client.close()


# --- dates and cursors -----------------------------------------------------------------


@dataclass(frozen=True)
class DayRange:
    """Inclusive UTC days, resolved and checked."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last day (exclusive bound)."""
        following = self.last + timedelta(days=1)
        return datetime(following.year, following.month, following.day, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def resolve_days(
    date_from: date | None, date_to: date | None, today: date, max_days: int
) -> DayRange:
    """The request's day range with defaults applied; InvalidQuery when out of bounds."""
    last = date_to or today
    first = date_from or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidQuery(f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}")
    if first > last:
        raise InvalidQuery("from is after to")
    days = DayRange(first, last)
    if days.days > max_days:
        raise InvalidQuery(f"the date range is longer than {max_days} days")
    return days


def encode_cursor(start_time: datetime, session_id: str) -> str:
    """The opaque cursor after a session: its start (epoch ms) and id."""
    millis = (start_time - _EPOCH) // timedelta(milliseconds=1)
    payload = orjson.dumps({"v": 1, "t": millis, "id": session_id})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """(start time, session id) of a cursor; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
        millis = payload["t"]
        session_id = uuid.UUID(payload["id"])
        if payload.get("v") != 1 or isinstance(millis, bool) or not isinstance(millis, int):
            raise ValueError("bad cursor fields")
        # Integer arithmetic: a float division could land a microsecond below the
        # millisecond, which the DateTime64(3) parameter would truncate to the one before.
        start_time = _EPOCH + timedelta(milliseconds=millis)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, binascii.Error):
        raise InvalidCursor("cursor is not valid") from None
    if not EARLIEST_DAY <= start_time.date() <= LATEST_DAY:
        raise InvalidCursor("cursor is not valid")
    # Only the exact text this API hands out is accepted (base64 decoding alone ignores
    # stray characters and padding).
    if encode_cursor(start_time, str(session_id)) != cursor:
        raise InvalidCursor("cursor is not valid")
    return start_time, session_id


# --- SQL fragments ---------------------------------------------------------------------

_EVENT_RANGE = (
    "site_id = {site:String}",
    "toDate(timestamp) >= {date_from:Date}",
    "toDate(timestamp) <= {date_to:Date}",
)
_SESSION_RANGE = (
    "site_id = {site:String}",
    f"start_time >= {{start:{_UTC_DATETIME}}}",
    f"start_time < {{end:{_UTC_DATETIME}}}",
)
# The heatmaps module's conditions, the optional device added only when given.
_HEATMAP_CONDITIONS = (
    "site_id = {site_id:String}",
    "url_path = {url_path:String}",
    "interaction_type = {interaction_type:String}",
    "date_bucket >= {date_from:Date}",
    "date_bucket <= {date_to:Date}",
)
# Filter -> condition, per table. A page filter selects sessions by their entry page.
_EVENT_FILTERS: Final = {
    "path": "url_path = {path:String}",
    "device": "device_type = {device:String}",
    "country": "country_code = {country:String}",
}
# The session list's filters (min_duration apart: its default 0 means no filter).
_SESSION_LIST_FILTERS: Final = {
    "device": "device_type = {device:String}",
    "country": "country_code = {country:String}",
    "has_errors": "has_errors = {has_errors:Bool}",
    "has_rage_clicks": "has_rage_clicks = {has_rage_clicks:Bool}",
}
_SESSION_FILTERS: Final = {
    "path": "entry_path = {path:String}",
    "device": "device_type = {device:String}",
    "country": "country_code = {country:String}",
}
_EVENT_BUCKETS: Final = {
    "hour": "toStartOfHour(timestamp)",
    "day": "toStartOfDay(timestamp)",
    "week": "toDateTime(toStartOfWeek(timestamp, 1), 'UTC')",
}
_SESSION_BUCKETS: Final = {
    "hour": "toStartOfHour(start_time)",
    "day": "toStartOfDay(start_time)",
    "week": "toDateTime(toStartOfWeek(start_time, 1), 'UTC')",
}
_EVENT_DIMENSIONS: Final = {"page": "url_path", "device": "device_type", "country": "country_code"}
_SESSION_DIMENSIONS: Final = {
    "page": "entry_path",
    "device": "device_type",
    "country": "country_code",
}

# Page views and visitors of one group of events, counted exactly without FINAL: an
# event stored twice (a redelivery not merged yet) has one event_id, and one day, as
# FINAL's key has (FINAL costs about four times as much here). Visitors are the distinct
# IP hashes among page views (every visit starts with one), so the scan reads page
# views only.
_PAGEVIEWS: Final = "event_type = 'pageview'"
_PAGEVIEW_FIGURES: Final = "uniqExact(event_id) AS pageviews, uniqExact(ip_hash) AS visitors"

# Sessions, bounces and average duration of one group of sessions (see _bounce_rate).
_SESSION_FIGURES: Final = "count(), countIf(page_count <= 1), ifNotFinite(avg(duration_seconds), 0)"

_SESSION_COLUMNS: Final = (
    "toString(session_id), start_time, end_time, duration_seconds, page_count, event_count, "
    "device_type, country_code, has_errors, has_rage_clicks, entry_path, exit_path, "
    "rage_click_count, error_count"
)


def _where(conditions: list[str]) -> str:
    return " AND ".join(f"({condition})" for condition in conditions)


def _rows(client: ClickHouseClient, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, its ``{database}`` naming the client's database."""
    return client.query(sql.replace("{database}", client.database), params).rows


FilteredQuery = StatsQuery | TimeseriesQuery | BreakdownQuery | ErrorsQuery
DatedQuery = HeatmapQuery | HeatmapImageQuery | ScrollDepthQuery | SessionsQuery | FilteredQuery


def _filters(
    query: SessionsQuery | FilteredQuery,
    fragments: Mapping[str, str],
) -> tuple[list[str], dict[str, Any]]:
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for name, fragment in fragments.items():
        value = getattr(query, name)
        if value is not None:
            conditions.append(fragment)
            params[name] = value
    return conditions, params


def _session(row: tuple[Any, ...]) -> Session:
    return Session(
        id=str(row[0]),
        start_time=row[1],
        end_time=row[2],
        duration_seconds=int(row[3]),
        page_count=int(row[4]),
        event_count=int(row[5]),
        device=str(row[6]),
        country=str(row[7]),
        has_errors=bool(row[8]),
        has_rage_clicks=bool(row[9]),
        entry_path=str(row[10]),
        exit_path=str(row[11]),
        rage_click_count=int(row[12]),
        error_count=int(row[13]),
    )


def _event_data(text: str) -> dict[str, Any]:
    try:
        data = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _bucket_starts(days: DayRange, interval: str) -> list[datetime]:
    """Every bucket start of the range, so a series has no gaps."""
    if interval == "hour":
        step = timedelta(hours=1)
        current = days.start
    elif interval == "day":
        step = timedelta(days=1)
        current = days.start
    else:
        step = timedelta(weeks=1)
        current = days.start - timedelta(days=days.first.weekday())
    starts = []
    while current < days.end:
        starts.append(current)
        current += step
    return starts


def _as_utc(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _bounce_rate(sessions: int, bounces: int) -> float:
    return round(bounces / sessions, 4) if sessions else 0.0


def _model_codec(model: type[A]) -> Codec[A]:
    return Codec(lambda value: value.json_bytes(), model.model_validate_json)


_BYTES_CODEC: Codec[bytes] = Codec(lambda value: value, lambda data: data)


# --- the layer -------------------------------------------------------------------------


class QueryLayer:
    """The reads of the API (see the module doc). Every method validates its site."""

    def __init__(
        self,
        pool: ClientPool,
        cache: ResponseCache,
        *,
        cell_height_px: int = 16,
        max_range_days: int = 366,
        clock: Clock = time.time,
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._cell_height_px = cell_height_px
        self._max_range_days = max_range_days
        self._clock = clock

    @property
    def cache(self) -> ResponseCache:
        return self._cache

    def close(self) -> None:
        self._pool.close()

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), tz=UTC).date()

    def _days(self, query: DatedQuery) -> DayRange:
        return resolve_days(query.date_from, query.date_to, self._today(), self._max_range_days)

    @staticmethod
    def _check_site(site: str) -> None:
        if not isinstance(site, str) or not is_site_id(site):
            raise InvalidQuery("site is not a site id (1-64 of A-Za-z0-9._-)")

    async def _run(self, work: Callable[[ClickHouseClient], R]) -> R:
        def borrow_and_run() -> R:
            with self._pool.client() as client:
                return work(client)

        # The request's token runs at most a few queries at once (api.query.guards).
        slots = QUERY_SLOTS.get()
        if slots is None:
            return await anyio.to_thread.run_sync(borrow_and_run)
        async with slots:
            return await anyio.to_thread.run_sync(borrow_and_run)

    async def _cached(
        self,
        site: str,
        kind: str,
        days: DayRange,
        query: DatedQuery,
        work: Callable[[ClickHouseClient], R],
        codec: Codec[R],
    ) -> R:
        """The answer to ``query`` from the cache, or from ``work`` on a miss.

        The key holds the resolved days rather than the query's own: a range left to
        its default moves with the clock.
        """
        params = query.model_dump(exclude={"date_from", "date_to"})
        params.update(date_from=days.first.isoformat(), date_to=days.last.isoformat())
        return await self._cache.get_or_compute(
            cache_key(site, kind, params), kind, lambda: self._run(work), codec
        )

    async def ping(self) -> None:
        """Raise the connector's error unless ClickHouse answers ``SELECT 1``."""
        await self._run(lambda client: client.query("SELECT 1"))

    # --- heatmaps ----------------------------------------------------------------------

    def _heatmap_filter(
        self, site: str, path: str, interaction_type: str, device: str | None, days: DayRange
    ) -> HeatmapFilter:
        try:
            return HeatmapFilter(
                site_id=site,
                url_path=path,
                interaction_type=interaction_type,
                device_type=device,
                date_from=days.first,
                date_to=days.last,
            )
        except ValueError as exc:
            raise InvalidQuery(str(exc)) from None

    async def heatmap(self, site: str, query: HeatmapQuery) -> HeatmapAnswer:
        """The page's cells of one interaction type, summed over devices and days."""
        self._check_site(site)
        days = self._days(query)
        flt = self._heatmap_filter(site, query.path, query.type, query.device, days)

        conditions = list(_HEATMAP_CONDITIONS)
        if query.device is not None:
            conditions.append("device_type = {device_type:String}")
        sql = (
            "SELECT grid_x, grid_y, sum(interaction_count) AS total "
            f"FROM {{database}}.heatmap_aggregates WHERE {_where(conditions)} "
            "GROUP BY grid_x, grid_y HAVING total > 0 ORDER BY grid_y, grid_x"
        )
        params = flt.query_params()

        def work(client: ClickHouseClient) -> HeatmapAnswer:
            # Arrow, not row tuples: a busy page has tens of thousands of cells, and
            # columns convert to lists at C speed.
            table = client.query_arrow(sql.replace("{database}", client.database), params)
            columns: list[list[int]] = [[], [], []]
            if table.num_rows:
                columns = [table.column(name).to_pylist() for name in ("grid_x", "grid_y", "total")]
            return HeatmapAnswer(
                site=site,
                path=query.path,
                type=query.type,
                device=query.device,
                date_from=days.first,
                date_to=days.last,
                cell_height_px=self._cell_height_px,
                columns=GRID_COLUMNS,
                total=sum(columns[2]),
                cells=HeatmapCells(x=columns[0], y=columns[1], count=columns[2]),
            )

        return await self._cached(site, "heatmap", days, query, work, _model_codec(HeatmapAnswer))

    async def scroll_depth(self, site: str, query: ScrollDepthQuery) -> ScrollDepthAnswer:
        """The share of page views that reached each row of the page."""
        self._check_site(site)
        days = self._days(query)
        flt = self._heatmap_filter(site, query.path, "scroll", query.device, days)

        def work(client: ClickHouseClient) -> ScrollDepthAnswer:
            points = fetch_scroll_depth(client, flt)
            return ScrollDepthAnswer(
                site=site,
                path=query.path,
                device=query.device,
                date_from=days.first,
                date_to=days.last,
                cell_height_px=self._cell_height_px,
                total_views=points[0].views_reaching if points else 0,
                points=[
                    ScrollDepthPoint(
                        row=point.grid_y,
                        depth_px=point.grid_y * self._cell_height_px,
                        views_reaching=point.views_reaching,
                        share=round(point.share, 6),
                    )
                    for point in points
                ],
            )

        return await self._cached(
            site, "scroll_depth", days, query, work, _model_codec(ScrollDepthAnswer)
        )

    async def heatmap_png(self, site: str, query: HeatmapImageQuery) -> bytes:
        """The heatmap (or, for ``scroll``, the depth curve) drawn as a PNG."""
        from insightlite.heatmap_image import (
            describe_filter,
            render_heatmap_png,
            render_scroll_depth_png,
        )

        self._check_site(site)
        days = self._days(query)
        flt = self._heatmap_filter(site, query.path, query.type, query.device, days)
        title = describe_filter(flt)

        def work(client: ClickHouseClient) -> bytes:
            if flt.interaction_type == "scroll":
                points = fetch_scroll_depth(client, flt)
                return render_scroll_depth_png(
                    points, title=title, cell_height_px=self._cell_height_px
                )
            cells = fetch_cells(client, flt)
            return render_heatmap_png(cells, title=title, cell_height_px=self._cell_height_px)

        return await self._cached(site, "heatmap_png", days, query, work, _BYTES_CODEC)

    # --- sessions ----------------------------------------------------------------------

    async def sessions(self, site: str, query: SessionsQuery) -> SessionsPage:
        """Sessions started in the range, newest first, one page after ``cursor``.

        Keyset pagination on (start_time, session_id): a page continues strictly after
        the previous page's last session, so sessions arriving meanwhile never shift it.
        """
        self._check_site(site)
        days = self._days(query)
        filters, params = _filters(query, _SESSION_LIST_FILTERS)
        conditions = [*_SESSION_RANGE, *filters]
        params.update(site=site, start=days.start, end=days.end)
        if query.min_duration:
            conditions.append("duration_seconds >= {min_duration:UInt32}")
            params["min_duration"] = query.min_duration
        if query.cursor is not None:
            cursor_time, cursor_id = decode_cursor(query.cursor)
            conditions.append(
                f"start_time < {{cursor_time:{_UTC_DATETIME}}} OR "
                f"(start_time = {{cursor_time:{_UTC_DATETIME}}} "
                "AND session_id < {cursor_id:UUID})"
            )
            params.update(cursor_time=cursor_time, cursor_id=cursor_id)
        params["limit"] = query.limit + 1
        sql = (
            f"SELECT {_SESSION_COLUMNS} FROM {{database}}.sessions FINAL "
            f"WHERE {_where(conditions)} "
            "ORDER BY start_time DESC, session_id DESC LIMIT {limit:UInt32}"
        )

        def work(client: ClickHouseClient) -> SessionsPage:
            rows = _rows(client, sql, params)
            sessions = [_session(row) for row in rows[: query.limit]]
            next_cursor = None
            if len(rows) > query.limit:
                last = sessions[-1]
                next_cursor = encode_cursor(last.start_time, last.id)
            return SessionsPage(
                date_from=days.first, date_to=days.last, sessions=sessions, next_cursor=next_cursor
            )

        return await self._run(work)

    async def session(
        self, site: str, session_id: uuid.UUID, events_limit: int
    ) -> SessionDetail | None:
        """One session and its events in time order, or None when the site has no such id.

        Events are those carrying the session id between the session's start and end
        (a later part of a long or interrupted visit is a session of its own).
        """
        self._check_site(site)
        session_sql = (
            f"SELECT {_SESSION_COLUMNS} FROM {{database}}.sessions FINAL "
            "WHERE site_id = {site:String} AND session_id = {session_id:UUID}"
        )
        events_sql = (
            "SELECT toString(event_id), timestamp, event_type, url_path, referrer, device_type, "
            "country_code, viewport_width, viewport_height, error_class, event_data "
            "FROM {database}.events FINAL "
            "WHERE site_id = {site:String} AND session_id = {session_id:UUID} "
            f"AND toDate(timestamp) >= toDate({{start:{_UTC_DATETIME}}}) "
            f"AND toDate(timestamp) <= toDate({{end:{_UTC_DATETIME}}}) "
            f"AND timestamp >= {{start:{_UTC_DATETIME}}} AND timestamp <= {{end:{_UTC_DATETIME}}} "
            "ORDER BY timestamp, event_id LIMIT {limit:UInt32}"
        )

        def work(client: ClickHouseClient) -> SessionDetail | None:
            params: dict[str, Any] = {"site": site, "session_id": session_id}
            rows = _rows(client, session_sql, params)
            if not rows:
                return None
            found = _session(rows[0])
            params.update(start=found.start_time, end=found.end_time, limit=events_limit + 1)
            event_rows = _rows(client, events_sql, params)
            events = [
                SessionEvent(
                    id=str(row[0]),
                    timestamp=row[1],
                    type=str(row[2]),
                    path=str(row[3]),
                    referrer=str(row[4]),
                    device=str(row[5]),
                    country=str(row[6]),
                    viewport_width=int(row[7]),
                    viewport_height=int(row[8]),
                    error_class=str(row[9]),
                    data=_event_data(str(row[10])),
                )
                for row in event_rows[:events_limit]
            ]
            return SessionDetail(
                session=found, events=events, events_truncated=len(event_rows) > events_limit
            )

        return await self._run(work)

    # --- stats -------------------------------------------------------------------------

    def _event_where(
        self, site: str, days: DayRange, query: FilteredQuery
    ) -> tuple[str, dict[str, Any]]:
        conditions, params = _filters(query, _EVENT_FILTERS)
        params.update(site=site, date_from=days.first, date_to=days.last)
        return _where([*_EVENT_RANGE, *conditions]), params

    def _session_where(
        self, site: str, days: DayRange, query: FilteredQuery
    ) -> tuple[str, dict[str, Any]]:
        conditions, params = _filters(query, _SESSION_FILTERS)
        params.update(site=site, start=days.start, end=days.end)
        return _where([*_SESSION_RANGE, *conditions]), params

    async def stats(self, site: str, query: StatsQuery) -> StatsSummary:
        """Totals over the range: page views, visitors, sessions, bounce rate, duration."""
        self._check_site(site)
        days = self._days(query)
        event_where, event_params = self._event_where(site, days, query)
        session_where, session_params = self._session_where(site, days, query)
        events_sql = (
            "SELECT sum(pageviews), sum(visitors) FROM ("
            f"SELECT toDate(timestamp) AS day, {_PAGEVIEW_FIGURES} "
            f"FROM {{database}}.events PREWHERE {_PAGEVIEWS} WHERE {event_where} GROUP BY day)"
        )
        sessions_sql = (
            f"SELECT {_SESSION_FIGURES} FROM {{database}}.sessions FINAL WHERE {session_where}"
        )

        def work(client: ClickHouseClient) -> StatsSummary:
            pageviews, visitors = _rows(client, events_sql, event_params)[0]
            sessions, bounces, duration = _rows(client, sessions_sql, session_params)[0]
            return StatsSummary(
                date_from=days.first,
                date_to=days.last,
                pageviews=int(pageviews or 0),
                sessions=int(sessions),
                visitors=int(visitors or 0),
                bounce_rate=_bounce_rate(int(sessions), int(bounces)),
                avg_duration_seconds=round(float(duration), 2),
            )

        return await self._cached(site, "stats", days, query, work, _model_codec(StatsSummary))

    async def timeseries(self, site: str, query: TimeseriesQuery) -> Timeseries:
        """The stats per hour, day or week (weeks start on Monday, UTC), gaps as zeros."""
        self._check_site(site)
        days = self._days(query)
        if query.interval == "hour" and days.days > MAX_HOURLY_RANGE_DAYS:
            raise InvalidQuery(f"hourly series cover at most {MAX_HOURLY_RANGE_DAYS} days")
        event_where, event_params = self._event_where(site, days, query)
        session_where, session_params = self._session_where(site, days, query)
        events_sql = (
            "SELECT bucket, sum(pageviews), sum(visitors) FROM ("
            f"SELECT {_EVENT_BUCKETS[query.interval]} AS bucket, toDate(timestamp) AS day, "
            f"{_PAGEVIEW_FIGURES} FROM {{database}}.events PREWHERE {_PAGEVIEWS} "
            f"WHERE {event_where} GROUP BY bucket, day) "
            "GROUP BY bucket"
        )
        sessions_sql = (
            f"SELECT {_SESSION_BUCKETS[query.interval]} AS bucket, {_SESSION_FIGURES} "
            f"FROM {{database}}.sessions FINAL WHERE {session_where} GROUP BY bucket"
        )

        def work(client: ClickHouseClient) -> Timeseries:
            traffic = {
                _as_utc(row[0]): (int(row[1]), int(row[2]))
                for row in _rows(client, events_sql, event_params)
            }
            visits = {
                _as_utc(row[0]): (int(row[1]), int(row[2]), float(row[3]))
                for row in _rows(client, sessions_sql, session_params)
            }
            points = []
            for start in _bucket_starts(days, query.interval):
                pageviews, visitors = traffic.get(start, (0, 0))
                sessions, bounces, duration = visits.get(start, (0, 0, 0.0))
                points.append(
                    StatsPoint(
                        start=start,
                        pageviews=pageviews,
                        sessions=sessions,
                        visitors=visitors,
                        bounce_rate=_bounce_rate(sessions, bounces),
                        avg_duration_seconds=round(duration, 2),
                    )
                )
            return Timeseries(
                interval=query.interval, date_from=days.first, date_to=days.last, points=points
            )

        return await self._cached(site, "timeseries", days, query, work, _model_codec(Timeseries))

    async def breakdown(self, site: str, query: BreakdownQuery) -> Breakdown:
        """The stats per page, device class or country, by page views, top ``limit``."""
        self._check_site(site)
        days = self._days(query)
        event_where, event_params = self._event_where(site, days, query)
        session_where, session_params = self._session_where(site, days, query)
        event_key = _EVENT_DIMENSIONS[query.by]
        session_key = _SESSION_DIMENSIONS[query.by]
        events_sql = (
            "SELECT key, sum(pageviews) AS total_pageviews, sum(visitors) AS total_visitors FROM ("
            f"SELECT {event_key} AS key, toDate(timestamp) AS day, {_PAGEVIEW_FIGURES} "
            f"FROM {{database}}.events PREWHERE {_PAGEVIEWS} WHERE {event_where} "
            "GROUP BY key, day) "
            "GROUP BY key ORDER BY total_pageviews DESC, total_visitors DESC, key "
            "LIMIT {limit:UInt32}"
        )
        sessions_sql = (
            f"SELECT {session_key} AS key, {_SESSION_FIGURES} "
            f"FROM {{database}}.sessions FINAL WHERE {session_where} "
            f"AND {session_key} IN {{keys:Array(String)}} GROUP BY key"
        )

        def work(client: ClickHouseClient) -> Breakdown:
            ranked = _rows(client, events_sql, {**event_params, "limit": query.limit})
            keys = [str(row[0]) for row in ranked]
            visits: dict[str, tuple[int, int, float]] = {}
            if keys:
                visits = {
                    str(row[0]): (int(row[1]), int(row[2]), float(row[3]))
                    for row in _rows(client, sessions_sql, {**session_params, "keys": keys})
                }
            rows = []
            for key, pageviews, visitors in ranked:
                sessions, bounces, duration = visits.get(str(key), (0, 0, 0.0))
                rows.append(
                    BreakdownRow(
                        value=str(key),
                        pageviews=int(pageviews),
                        visitors=int(visitors),
                        sessions=sessions,
                        bounce_rate=_bounce_rate(sessions, bounces),
                        avg_duration_seconds=round(duration, 2),
                    )
                )
            return Breakdown(by=query.by, date_from=days.first, date_to=days.last, rows=rows)

        return await self._cached(site, "breakdown", days, query, work, _model_codec(Breakdown))

    async def errors(self, site: str, query: ErrorsQuery) -> ErrorsAnswer:
        """Error events grouped by class and message, most frequent first."""
        self._check_site(site)
        days = self._days(query)
        event_where, params = self._event_where(site, days, query)
        sql = (
            "SELECT error_class, "
            f"substringUTF8(JSONExtractString(event_data, 'error', 'message'), 1, "
            f"{MAX_ERROR_MESSAGE_CHARS}) AS message, "
            "uniqExact(event_id) AS occurrences, uniqExact(session_id) AS affected_sessions, "
            "min(timestamp), max(timestamp), argMin(url_path, timestamp) "
            f"FROM {{database}}.events PREWHERE event_type = 'error' WHERE {event_where} "
            "GROUP BY error_class, message "
            "ORDER BY occurrences DESC, error_class, message LIMIT {limit:UInt32}"
        )

        def work(client: ClickHouseClient) -> ErrorsAnswer:
            rows = _rows(client, sql, {**params, "limit": query.limit})
            groups = [
                ErrorGroup(
                    error_class=str(row[0]),
                    message=str(row[1]),
                    occurrences=int(row[2]),
                    sessions=int(row[3]),
                    first_seen=row[4],
                    last_seen=row[5],
                    example_path=str(row[6]),
                )
                for row in rows
            ]
            return ErrorsAnswer(date_from=days.first, date_to=days.last, groups=groups)

        return await self._cached(site, "errors", days, query, work, _model_codec(ErrorsAnswer))
