"""The recording reads: a page of recordings, one recording's summary, and the removal
of one recording's rows.

A recording's summary comes from ``session_replays``, the AggregatingMergeTree the
materialized view fills on every insert into ``session_replay_chunks``: its rows are
partial aggregates (one per insert until merged), read with the -Merge combinators and
``GROUP BY site_id, session_id``. Every aggregate is idempotent (min, max, uniqExact and
groupUniqArray over ids), so a chunk stored twice counts once even before a merge;
chunks, events and bytes are summed over the distinct (chunk id, events, bytes) tuples.
The filters apply to the merged summary (the outer query), never to the partial rows.

A recording whose last event is more than ``replay_retention_days`` before now (the
layer's clock) is expired: it is never listed nor found, even while the tables' TTL has
not removed it yet.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Final

from api.query.cursors import decode_cursor, encode_cursor
from api.query.filters import REPLAY_CONDITIONS, Filter, check_site
from api.query.layer_core import UTC_DATETIME, LayerCore, rows, where
from api.query.models import Replay, ReplaysPage, ReplaysQuery
from connectors.clickhouse import ClickHouseClient

# One merged summary per recording of the site (the session condition is added for a
# single recording).
_SUMMARIES: Final = (
    "SELECT session_id, min(start_time) AS start_time, max(end_time) AS end_time, "
    "groupUniqArrayMerge(chunks) AS chunk_list, "
    "uniqExactMerge(active_seconds) AS active_seconds, "
    "uniqExactMerge(clicks) AS click_count, uniqExactMerge(rage_clicks) AS rage_click_count, "
    "uniqExactMerge(errors) AS error_count, arraySort(groupUniqArrayMerge(pages)) AS pages, "
    "anyLast(device_type) AS device_type, anyLast(country_code) AS country_code "
    "FROM {database}.session_replays WHERE {summary_where} GROUP BY site_id, session_id"
)
_SITE: Final = "site_id = {site:String}"
_SESSION: Final = "session_id = {session_id:UUID}"
# The answer's columns over a summary, in Replay's order.
_REPLAY_COLUMNS: Final = (
    "toString(session_id), start_time, end_time, "
    "intDiv(toUnixTimestamp64Milli(end_time) - toUnixTimestamp64Milli(start_time), 1000) "
    "AS duration_seconds, active_seconds, length(chunk_list) AS chunk_count, "
    "arraySum(c -> c.2, chunk_list) AS event_count, arraySum(c -> c.3, chunk_list) AS blob_bytes, "
    "pages, click_count, rage_click_count, error_count, device_type, country_code"
)
_KEPT: Final = f"end_time > {{kept_after:{UTC_DATETIME}}}"
_STARTED_IN_RANGE: Final = (
    f"start_time >= {{start:{UTC_DATETIME}}}",
    f"start_time < {{end:{UTC_DATETIME}}}",
)
_AFTER_CURSOR: Final = (
    f"start_time < {{cursor_time:{UTC_DATETIME}}} OR "
    f"(start_time = {{cursor_time:{UTC_DATETIME}}} AND session_id < {{cursor_id:UUID}})"
)
_TABLES: Final = ("session_replay_chunks", "session_replays")


def _replay_sql(summary_conditions: list[str], conditions: list[str], tail: str = "") -> str:
    summaries = _SUMMARIES.replace("{summary_where}", where(summary_conditions))
    return f"SELECT {_REPLAY_COLUMNS} FROM ({summaries}) WHERE {where(conditions)}{tail}"


def _replay_answer(row: tuple[Any, ...]) -> Replay:
    """The recording of a row of ``_REPLAY_COLUMNS``."""
    return Replay(
        session_id=str(row[0]),
        start_time=row[1],
        end_time=row[2],
        duration_seconds=int(row[3]),
        active_seconds=int(row[4]),
        chunk_count=int(row[5]),
        event_count=int(row[6]),
        bytes=int(row[7]),
        pages=[str(page) for page in row[8]],
        click_count=int(row[9]),
        rage_click_count=int(row[10]),
        error_count=int(row[11]),
        device_type=str(row[12]),
        country_code=str(row[13]),
    )


class ReplayReads(LayerCore):
    def _replay_filter(self, site: str, query: ReplaysQuery) -> Filter:
        """The read's filter; without ``from`` and ``to`` its days cover every recording
        still kept (from the day before the retention window, within the longest range)."""
        if query.date_from is None and query.date_to is None:
            today = self._today()
            first = max(
                self._kept_after().date() - timedelta(days=1),
                today - timedelta(days=self._max_range_days - 1),
            )
            query = query.model_copy(update={"date_from": first})
        return self._filter(site, query)

    async def replays(self, site: str, query: ReplaysQuery) -> ReplaysPage:
        """Kept recordings started in the range, newest first, one page after ``cursor``.

        Keyset pagination on (start_time, session_id), as for sessions: a page continues
        strictly after the previous page's last recording.
        """
        flt = self._replay_filter(site, query)
        filters, params = flt.conditions(REPLAY_CONDITIONS)
        conditions = [_KEPT, *_STARTED_IN_RANGE, *filters]
        params.update(
            site=site,
            kept_after=self._kept_after(),
            start=flt.days.start,
            end=flt.days.end,
            limit=query.limit + 1,
        )
        if query.cursor is not None:
            cursor_time, cursor_id = decode_cursor(query.cursor)
            conditions.append(_AFTER_CURSOR)
            params.update(cursor_time=cursor_time, cursor_id=cursor_id)
        sql = _replay_sql(
            [_SITE],
            conditions,
            " ORDER BY start_time DESC, session_id DESC LIMIT {limit:UInt32}",
        )

        def work(client: ClickHouseClient) -> ReplaysPage:
            found = rows(client, sql, params)
            replays = [_replay_answer(row) for row in found[: query.limit]]
            next_cursor = None
            if len(found) > query.limit:
                last = replays[-1]
                next_cursor = encode_cursor(last.start_time, last.session_id)
            return ReplaysPage(
                date_from=flt.days.first,
                date_to=flt.days.last,
                replays=replays,
                next_cursor=next_cursor,
            )

        return await self._run(work)

    async def replay(self, site: str, session_id: uuid.UUID) -> Replay | None:
        """One kept recording's summary, or None when the site has no such recording
        (or it expired)."""
        check_site(site)
        sql = _replay_sql([_SITE, _SESSION], [_KEPT])
        params = {"site": site, "session_id": session_id, "kept_after": self._kept_after()}

        def work(client: ClickHouseClient) -> Replay | None:
            found = rows(client, sql, params)
            return _replay_answer(found[0]) if found else None

        return await self._run(work)

    async def delete_replay_rows(self, site: str, session_id: uuid.UUID) -> bool:
        """Remove one recording's rows from both tables, expired or not; whether there
        were any. (Its blobs are the archive's: ``api.query.replay_archive``.)"""
        check_site(site)
        match = where([_SITE, _SESSION])
        count_sql = " + ".join(
            f"(SELECT count() FROM {{database}}.{table} WHERE {match})" for table in _TABLES
        )
        params = {"site": site, "session_id": session_id}

        def work(client: ClickHouseClient) -> bool:
            (found,) = rows(client, f"SELECT {count_sql}", params)[0]
            if not found:
                return False
            for table in _TABLES:
                # A lightweight DELETE: the rows are gone for every query from now on,
                # and the materialized view only ever sees inserts.
                client.command(f"DELETE FROM {client.database}.{table} WHERE {match}", params)
            return True

        return await self._run(work)
