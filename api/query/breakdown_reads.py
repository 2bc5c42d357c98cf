"""The breakdown read: a site's traffic per page, device, country, entry page, exit page
or referrer, top ``limit`` rows, over the figures of :mod:`api.query.stats_reads`.

- ``page``, ``device``, ``country``: ranked by page views (from ``events``); the
  sessions figures are those of the sessions that started on the page (by their entry
  page) or on the device or in the country.
- ``entry_page``, ``exit_page``: sessions grouped by ``entry_path`` or ``exit_path``,
  ranked by sessions; page views and visitors are the page's own, as for ``page``
  (so exits / page views is the page's exit rate).
- ``referrer``: sessions grouped by the host of their first page view's referrer
  (``''`` when it had none, or when it is not an absolute URL: the pipeline keeps a
  referrer as ``scheme://host/path``, masked, or as masked text), ranked by sessions;
  page views are those sessions' ``page_count``, visitors the distinct IP hashes of
  their first page views per UTC day. A session is matched to its page views by the id
  the browser sent, so the later parts of a split visit (their ids are derived) are not
  counted here. A ``path`` filter selects the sessions by their entry page; the device
  and country filters apply to the sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from api.query.crowd import Suppressed, shown_sql, suppressed_from, suppressed_sql
from api.query.filters import Filter
from api.query.heatmap_cells import crowd_param
from api.query.layer_core import LayerCore, event_where, model_codec, rows
from api.query.models import Breakdown, BreakdownQuery, BreakdownRow
from api.query.stats_reads import (
    PAGEVIEW_FIGURES,
    PAGEVIEWS,
    SESSION_FIGURES,
    bounce_rate,
    session_where,
)
from connectors.clickhouse import ClickHouseClient

# What a breakdown runs on a client: its rows, and what the minimum crowd held back.
_Work = Callable[[ClickHouseClient], tuple[list[BreakdownRow], Suppressed]]

# Dimensions ranked by page views: the events' column and the sessions' column.
_BY_PAGEVIEWS: Final = {
    "page": ("url_path", "entry_path"),
    "device": ("device_type", "device_type"),
    "country": ("country_code", "country_code"),
}
# Dimensions ranked by sessions: the sessions' column (the value is a page path).
_BY_SESSIONS: Final = {"entry_page": "entry_path", "exit_page": "exit_path"}

# The host of an absolute URL's authority (the pipeline drops userinfo), without a
# port, lower case; '' for anything else (no referrer, masked text).
_REFERRER_HOST: Final = (
    "lower(replaceRegexpOne(extract(first_referrer, "
    "'^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#]*)'), ':[0-9]*$', ''))"
)


def _row(key: str, pageviews: int, visitors: int, visits: tuple[int, int, float]) -> BreakdownRow:
    sessions, bounces, duration = visits
    return BreakdownRow(
        value=key,
        pageviews=pageviews,
        visitors=visitors,
        sessions=sessions,
        bounce_rate=bounce_rate(sessions, bounces),
        avg_duration_seconds=round(duration, 2),
    )


def _page_figures_sql(events: str) -> str:
    """Page views and visitors of the pages ``{keys}`` (visitors per UTC day, summed)."""
    return (
        "SELECT key, sum(pageviews), sum(visitors) FROM ("
        f"SELECT url_path AS key, toDate(timestamp) AS day, {PAGEVIEW_FIGURES} "
        f"FROM {{database}}.events PREWHERE {PAGEVIEWS} WHERE {events} "
        "AND url_path IN {keys:Array(String)} GROUP BY key, day) GROUP BY key"
    )


def _held(
    client: ClickHouseClient, sql: str, params: dict[str, object], min_crowd: int
) -> Suppressed:
    """What the minimum crowd held back (nothing to ask when it is off)."""
    if min_crowd <= 1:
        return Suppressed(min_crowd=min_crowd)
    held = rows(client, sql, params)
    return suppressed_from(min_crowd, held[0] if held else None)


class BreakdownReads(LayerCore):
    async def breakdown(self, site: str, query: BreakdownQuery) -> Breakdown:
        """The stats per page, device, country, entry page, exit page or referrer host
        (see the module doc for how each is ranked and counted), top ``limit``."""
        flt = self._filter(site, query)
        min_crowd = self._min_crowd(site)
        if query.by in _BY_PAGEVIEWS:
            work = self._by_pageviews(flt, query, min_crowd)
        elif query.by in _BY_SESSIONS:
            work = self._by_sessions(flt, query, min_crowd)
        else:
            work = self._by_referrer(flt, query, min_crowd)

        def answer(client: ClickHouseClient) -> Breakdown:
            found, suppressed = work(client)
            return Breakdown(
                by=query.by,
                date_from=flt.days.first,
                date_to=flt.days.last,
                rows=found,
                suppressed=suppressed,
            )

        return await self._cached(flt, "breakdown", query, answer, model_codec(Breakdown))

    def _by_pageviews(self, flt: Filter, query: BreakdownQuery, min_crowd: int) -> _Work:
        events, event_params = event_where(flt)
        event_params["min_crowd"] = crowd_param(min_crowd)
        sessions_in, session_params = session_where(flt)
        event_key, session_key = _BY_PAGEVIEWS[query.by]
        # The crowd of a row: the distinct sessions of its page views over all days.
        grouped = (
            "SELECT key, sum(pageviews) AS total_pageviews, sum(visitors) AS total_visitors, "
            "uniqExactMerge(day_sessions) AS crowd FROM ("
            f"SELECT {event_key} AS key, toDate(timestamp) AS day, {PAGEVIEW_FIGURES}, "
            "uniqExactState(session_id) AS day_sessions "
            f"FROM {{database}}.events PREWHERE {PAGEVIEWS} WHERE {events} "
            "GROUP BY key, day) GROUP BY key"
        )
        events_sql = shown_sql(
            grouped,
            "ORDER BY total_pageviews DESC, total_visitors DESC, key LIMIT {limit:UInt32}",
        )
        held_sql = suppressed_sql(grouped, "total_pageviews")
        sessions_sql = (
            f"SELECT {session_key} AS key, {SESSION_FIGURES} "
            f"FROM {{database}}.sessions FINAL WHERE {sessions_in} "
            f"AND {session_key} IN {{keys:Array(String)}} GROUP BY key"
        )

        def work(client: ClickHouseClient) -> tuple[list[BreakdownRow], Suppressed]:
            ranked = rows(client, events_sql, {**event_params, "limit": query.limit})
            keys = [str(row[0]) for row in ranked]
            visits: dict[str, tuple[int, int, float]] = {}
            if keys:
                visits = {
                    str(row[0]): (int(row[1]), int(row[2]), float(row[3]))
                    for row in rows(client, sessions_sql, {**session_params, "keys": keys})
                }
            found = [
                _row(str(key), int(pageviews), int(visitors), visits.get(str(key), (0, 0, 0.0)))
                for key, pageviews, visitors, _crowd in ranked
            ]
            return found, _held(client, held_sql, event_params, min_crowd)

        return work

    def _by_sessions(self, flt: Filter, query: BreakdownQuery, min_crowd: int) -> _Work:
        events, event_params = event_where(flt)
        sessions_in, session_params = session_where(flt)
        session_params["min_crowd"] = crowd_param(min_crowd)
        session_key = _BY_SESSIONS[query.by]
        grouped = (
            f"SELECT {session_key} AS key, count() AS visits, countIf(page_count <= 1), "
            "ifNotFinite(avg(duration_seconds), 0), uniqExact(session_id) AS crowd "
            f"FROM {{database}}.sessions FINAL WHERE {sessions_in} GROUP BY key"
        )
        sessions_sql = shown_sql(grouped, "ORDER BY visits DESC, key LIMIT {limit:UInt32}")
        held_sql = suppressed_sql(grouped, "visits")
        events_sql = _page_figures_sql(events)

        def work(client: ClickHouseClient) -> tuple[list[BreakdownRow], Suppressed]:
            ranked = rows(client, sessions_sql, {**session_params, "limit": query.limit})
            keys = [str(row[0]) for row in ranked]
            pages: dict[str, tuple[int, int]] = {}
            if keys:
                pages = {
                    str(row[0]): (int(row[1]), int(row[2]))
                    for row in rows(client, events_sql, {**event_params, "keys": keys})
                }
            answer_rows = []
            for key, sessions, bounces, duration, _crowd in ranked:
                pageviews, visitors = pages.get(str(key), (0, 0))
                visits = (int(sessions), int(bounces), float(duration))
                answer_rows.append(_row(str(key), pageviews, visitors, visits))
            return answer_rows, _held(client, held_sql, session_params, min_crowd)

        return work

    def _by_referrer(self, flt: Filter, query: BreakdownQuery, min_crowd: int) -> _Work:
        sessions_in, params = session_where(flt)
        # A session's page views are on the days it ran: from the range's first day to
        # the day after its last (a session lasts at most a day).
        params.update(
            events_from=flt.days.first,
            events_to=flt.days.last + timedelta(days=1),
            limit=query.limit,
            min_crowd=crowd_param(min_crowd),
        )
        first_pageviews = (
            "SELECT session_id, argMin(referrer, (timestamp, event_id)) AS first_referrer, "
            "toDate(min(timestamp)) AS first_day, argMin(ip_hash, (timestamp, event_id)) AS ip "
            f"FROM {{database}}.events PREWHERE {PAGEVIEWS} WHERE site_id = {{site:String}} "
            "AND toDate(timestamp) >= {events_from:Date} "
            "AND toDate(timestamp) <= {events_to:Date} GROUP BY session_id"
        )
        grouped = (
            f"SELECT {_REFERRER_HOST} AS key, count() AS visits, countIf(page_count <= 1), "
            "ifNotFinite(avg(duration_seconds), 0), sum(page_count) AS pageviews, "
            "uniqExact(first_day, ip), uniqExact(session_id) AS crowd "
            "FROM (SELECT session_id, page_count, duration_seconds "
            f"FROM {{database}}.sessions FINAL WHERE {sessions_in}) AS visited "
            f"INNER JOIN ({first_pageviews}) AS entered USING (session_id) "
            "GROUP BY key"
        )
        sql = shown_sql(grouped, "ORDER BY visits DESC, pageviews DESC, key LIMIT {limit:UInt32}")
        held_sql = suppressed_sql(grouped, "pageviews")

        def work(client: ClickHouseClient) -> tuple[list[BreakdownRow], Suppressed]:
            found = [
                _row(
                    str(key),
                    int(pageviews),
                    int(visitors),
                    (int(sessions), int(bounces), float(duration)),
                )
                for key, sessions, bounces, duration, pageviews, visitors, _crowd in rows(
                    client, sql, params
                )
            ]
            return found, _held(client, held_sql, params, min_crowd)

        return work
