"""The session reads: a page of sessions, and one session with its events.

``sessions`` is read with ``FINAL`` (a live row and the final row of one session
collapse to the highest ``version``; filters on non-key columns apply after the
collapse), and so are one session's events. Each session says whether a recording of
its id is kept (``has_recording``: a row in ``session_replays`` whose last event is
within ``replay_retention_days`` of the layer's clock, as for the recordings' reads).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Final

import orjson

from api.query.cursors import decode_cursor, encode_cursor
from api.query.filters import KEPT_RECORDINGS, SESSION_LIST_CONDITIONS, check_site
from api.query.layer_core import SESSION_RANGE, UTC_DATETIME, LayerCore, rows, where
from api.query.models import Session, SessionDetail, SessionEvent, SessionsPage, SessionsQuery
from connectors.clickhouse import ClickHouseClient

_SESSION_COLUMNS: Final = (
    "toString(session_id), start_time, end_time, duration_seconds, page_count, event_count, "
    "device_type, country_code, has_errors, has_rage_clicks, entry_path, exit_path, "
    "rage_click_count, error_count, "
    f"session_id IN ({KEPT_RECORDINGS}) AS has_recording"
)


def _session_answer(row: tuple[Any, ...]) -> Session:
    """The session of a row of ``_SESSION_COLUMNS``."""
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
        has_recording=bool(row[14]),
    )


def _event_data(text: str) -> dict[str, Any]:
    try:
        data = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class SessionReads(LayerCore):
    async def sessions(self, site: str, query: SessionsQuery) -> SessionsPage:
        """Sessions started in the range, newest first, one page after ``cursor``.

        Keyset pagination on (start_time, session_id): a page continues strictly after
        the previous page's last session, so sessions arriving meanwhile never shift it.
        """
        flt = self._filter(site, query)
        filters, params = flt.conditions(SESSION_LIST_CONDITIONS)
        conditions = [*SESSION_RANGE, *filters]
        params.update(
            site=site,
            start=flt.days.start,
            end=flt.days.end,
            kept_after=self._kept_after(),
            # A session's page views are on the days it ran: from its first day to the
            # day after the last (a session lasts at most a day).
            events_from=flt.days.first,
            events_to=flt.days.last + timedelta(days=1),
        )
        if query.cursor is not None:
            cursor_time, cursor_id = decode_cursor(query.cursor)
            conditions.append(
                f"start_time < {{cursor_time:{UTC_DATETIME}}} OR "
                f"(start_time = {{cursor_time:{UTC_DATETIME}}} "
                "AND session_id < {cursor_id:UUID})"
            )
            params.update(cursor_time=cursor_time, cursor_id=cursor_id)
        params["limit"] = query.limit + 1
        sql = (
            f"SELECT {_SESSION_COLUMNS} FROM {{database}}.sessions FINAL "
            f"WHERE {where(conditions)} "
            "ORDER BY start_time DESC, session_id DESC LIMIT {limit:UInt32}"
        )

        def work(client: ClickHouseClient) -> SessionsPage:
            found = rows(client, sql, params)
            sessions = [_session_answer(row) for row in found[: query.limit]]
            next_cursor = None
            if len(found) > query.limit:
                last = sessions[-1]
                next_cursor = encode_cursor(last.start_time, last.id)
            return SessionsPage(
                date_from=flt.days.first,
                date_to=flt.days.last,
                sessions=sessions,
                next_cursor=next_cursor,
            )

        return await self._run(work)

    async def session(
        self, site: str, session_id: uuid.UUID, events_limit: int
    ) -> SessionDetail | None:
        """One session and its events in time order, or None when the site has no such id.

        Events are those carrying the session id between the session's start and end
        (a later part of a long or interrupted visit is a session of its own).
        """
        check_site(site)
        session_sql = (
            f"SELECT {_SESSION_COLUMNS} FROM {{database}}.sessions FINAL "
            "WHERE site_id = {site:String} AND session_id = {session_id:UUID}"
        )
        events_sql = (
            "SELECT toString(event_id), timestamp, event_type, url_path, referrer, device_type, "
            "country_code, viewport_width, viewport_height, error_class, event_data "
            "FROM {database}.events FINAL "
            "WHERE site_id = {site:String} AND session_id = {session_id:UUID} "
            f"AND toDate(timestamp) >= toDate({{start:{UTC_DATETIME}}}) "
            f"AND toDate(timestamp) <= toDate({{end:{UTC_DATETIME}}}) "
            f"AND timestamp >= {{start:{UTC_DATETIME}}} AND timestamp <= {{end:{UTC_DATETIME}}} "
            "ORDER BY timestamp, event_id LIMIT {limit:UInt32}"
        )

        def work(client: ClickHouseClient) -> SessionDetail | None:
            params: dict[str, Any] = {
                "site": site,
                "session_id": session_id,
                "kept_after": self._kept_after(),
            }
            session_rows = rows(client, session_sql, params)
            if not session_rows:
                return None
            found = _session_answer(session_rows[0])
            params.update(start=found.start_time, end=found.end_time, limit=events_limit + 1)
            event_rows = rows(client, events_sql, params)
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
