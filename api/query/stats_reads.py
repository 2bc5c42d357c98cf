"""The stats reads: totals and a time series of a site's traffic (the breakdowns are in
:mod:`api.query.breakdown_reads`, over the same figures).

Page views and visitors come from ``events`` (see :data:`PAGEVIEW_FIGURES`);
sessions, bounce rate (share of sessions with ``page_count <= 1``) and average
duration from ``sessions`` by their start time, where a page filter selects sessions
by their entry page. Pages per session is page views / sessions of the same answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from api.query.filters import SESSION_CONDITIONS, DayRange, Filter, InvalidQuery
from api.query.layer_core import SESSION_RANGE, LayerCore, event_where, model_codec, rows, where
from api.query.models import (
    StatsPoint,
    StatsQuery,
    StatsSummary,
    Timeseries,
    TimeseriesQuery,
)
from connectors.clickhouse import ClickHouseClient

# Hourly series over longer ranges would return thousands of mostly empty points.
MAX_HOURLY_RANGE_DAYS: Final = 31

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

# Page views and visitors of one group of events, counted exactly without FINAL: an
# event stored twice (a redelivery not merged yet) has one event_id, and one day, as
# FINAL's key has (FINAL costs about four times as much here). Visitors are the distinct
# IP hashes among page views (every visit starts with one), so the scan reads page
# views only.
PAGEVIEWS: Final = "event_type = 'pageview'"
PAGEVIEW_FIGURES: Final = "uniqExact(event_id) AS pageviews, uniqExact(ip_hash) AS visitors"

# Sessions, bounces and average duration of one group of sessions (see bounce_rate).
SESSION_FIGURES: Final = "count(), countIf(page_count <= 1), ifNotFinite(avg(duration_seconds), 0)"


def session_where(flt: Filter) -> tuple[str, dict[str, Any]]:
    conditions, params = flt.conditions(SESSION_CONDITIONS)
    params.update(site=flt.site, start=flt.days.start, end=flt.days.end)
    return where([*SESSION_RANGE, *conditions]), params


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


def bounce_rate(sessions: int, bounces: int) -> float:
    return round(bounces / sessions, 4) if sessions else 0.0


def pages_per_session(pageviews: int, sessions: int) -> float:
    return round(pageviews / sessions, 2) if sessions else 0.0


class StatsReads(LayerCore):
    async def stats(self, site: str, query: StatsQuery) -> StatsSummary:
        """Totals over the range: page views, visitors, sessions, bounce rate, duration."""
        flt = self._filter(site, query)
        events, event_params = event_where(flt)
        sessions_in, session_params = session_where(flt)
        events_sql = (
            "SELECT sum(pageviews), sum(visitors) FROM ("
            f"SELECT toDate(timestamp) AS day, {PAGEVIEW_FIGURES} "
            f"FROM {{database}}.events PREWHERE {PAGEVIEWS} WHERE {events} GROUP BY day)"
        )
        sessions_sql = (
            f"SELECT {SESSION_FIGURES} FROM {{database}}.sessions FINAL WHERE {sessions_in}"
        )

        def work(client: ClickHouseClient) -> StatsSummary:
            pageviews, visitors = rows(client, events_sql, event_params)[0]
            sessions, bounces, duration = rows(client, sessions_sql, session_params)[0]
            pageviews, sessions = int(pageviews or 0), int(sessions)
            return StatsSummary(
                date_from=flt.days.first,
                date_to=flt.days.last,
                pageviews=pageviews,
                sessions=sessions,
                visitors=int(visitors or 0),
                bounce_rate=bounce_rate(sessions, int(bounces)),
                avg_duration_seconds=round(float(duration), 2),
                pages_per_session=pages_per_session(pageviews, sessions),
            )

        return await self._cached(flt, "stats", query, work, model_codec(StatsSummary))

    async def timeseries(self, site: str, query: TimeseriesQuery) -> Timeseries:
        """The stats per hour, day or week (weeks start on Monday, UTC), gaps as zeros."""
        flt = self._filter(site, query)
        if query.interval == "hour" and flt.days.days > MAX_HOURLY_RANGE_DAYS:
            raise InvalidQuery(f"hourly series cover at most {MAX_HOURLY_RANGE_DAYS} days")
        events, event_params = event_where(flt)
        sessions_in, session_params = session_where(flt)
        events_sql = (
            "SELECT bucket, sum(pageviews), sum(visitors) FROM ("
            f"SELECT {_EVENT_BUCKETS[query.interval]} AS bucket, toDate(timestamp) AS day, "
            f"{PAGEVIEW_FIGURES} FROM {{database}}.events PREWHERE {PAGEVIEWS} "
            f"WHERE {events} GROUP BY bucket, day) "
            "GROUP BY bucket"
        )
        sessions_sql = (
            f"SELECT {_SESSION_BUCKETS[query.interval]} AS bucket, {SESSION_FIGURES} "
            f"FROM {{database}}.sessions FINAL WHERE {sessions_in} GROUP BY bucket"
        )

        def work(client: ClickHouseClient) -> Timeseries:
            traffic = {
                _as_utc(row[0]): (int(row[1]), int(row[2]))
                for row in rows(client, events_sql, event_params)
            }
            visits = {
                _as_utc(row[0]): (int(row[1]), int(row[2]), float(row[3]))
                for row in rows(client, sessions_sql, session_params)
            }
            points = []
            for start in _bucket_starts(flt.days, query.interval):
                pageviews, visitors = traffic.get(start, (0, 0))
                sessions, bounces, duration = visits.get(start, (0, 0, 0.0))
                points.append(
                    StatsPoint(
                        start=start,
                        pageviews=pageviews,
                        sessions=sessions,
                        visitors=visitors,
                        bounce_rate=bounce_rate(sessions, bounces),
                        avg_duration_seconds=round(duration, 2),
                        pages_per_session=pages_per_session(pageviews, sessions),
                    )
                )
            return Timeseries(
                interval=query.interval,
                date_from=flt.days.first,
                date_to=flt.days.last,
                points=points,
            )

        return await self._cached(flt, "timeseries", query, work, model_codec(Timeseries))
