"""The errors read: a site's error events grouped by class and message.

Each group names one session that hit it: the session id of its most recent event
(ties broken by event id, so the same data always gives the same one). It is the id
the browser sent: the session's own id, except for the later parts of a split visit
(their ids are derived), and the id of its recording when there is one.
"""

from __future__ import annotations

from typing import Final

from api.query.crowd import Suppressed, shown_sql, suppressed_from, suppressed_sql
from api.query.heatmap_cells import crowd_param
from api.query.layer_core import LayerCore, event_where, model_codec, rows
from api.query.models import ErrorGroup, ErrorsAnswer, ErrorsQuery
from connectors.clickhouse import ClickHouseClient

MAX_ERROR_MESSAGE_CHARS: Final = 500


class ErrorReads(LayerCore):
    async def errors(self, site: str, query: ErrorsQuery) -> ErrorsAnswer:
        """Error events grouped by class and message, most frequent first."""
        flt = self._filter(site, query)
        events, params = event_where(flt)
        min_crowd = self._min_crowd(site)
        params["min_crowd"] = crowd_param(min_crowd)
        # A group is shown only when at least k distinct sessions hit it.
        grouped = (
            "SELECT error_class, "
            f"substringUTF8(JSONExtractString(event_data, 'error', 'message'), 1, "
            f"{MAX_ERROR_MESSAGE_CHARS}) AS message, "
            "uniqExact(event_id) AS occurrences, uniqExact(session_id) AS affected_sessions, "
            "min(timestamp), max(timestamp), argMin(url_path, timestamp), "
            "toString(argMax(session_id, (timestamp, event_id))), "
            "affected_sessions AS crowd "
            f"FROM {{database}}.events PREWHERE event_type = 'error' WHERE {events} "
            "GROUP BY error_class, message"
        )
        sql = shown_sql(
            grouped, "ORDER BY occurrences DESC, error_class, message LIMIT {limit:UInt32}"
        )
        held_sql = suppressed_sql(grouped, "occurrences")

        def work(client: ClickHouseClient) -> ErrorsAnswer:
            found = rows(client, sql, {**params, "limit": query.limit})
            groups = [
                ErrorGroup(
                    error_class=str(row[0]),
                    message=str(row[1]),
                    occurrences=int(row[2]),
                    sessions=int(row[3]),
                    first_seen=row[4],
                    last_seen=row[5],
                    example_path=str(row[6]),
                    example_session_id=str(row[7]),
                )
                for row in found
            ]
            suppressed = Suppressed(min_crowd=min_crowd)
            if min_crowd > 1:
                held = rows(client, held_sql, params)
                suppressed = suppressed_from(min_crowd, held[0] if held else None)
            return ErrorsAnswer(
                date_from=flt.days.first,
                date_to=flt.days.last,
                groups=groups,
                suppressed=suppressed,
            )

        return await self._cached(flt, "errors", query, work, model_codec(ErrorsAnswer))
