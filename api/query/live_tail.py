"""The live stream without Kafka: new rows of ClickHouse's ``events`` for the watched
sites, and the recent activity a site's window starts from.

:class:`ClickHouseTailSource` polls every ``api_live_tail_poll_seconds`` for the rows
written since the last poll. "Written" is ``created_at``, the time ClickHouse inserted
the row (a column default), not ``received_at``: a pipeline that lags behind the
collector writes rows whose ``received_at`` is minutes old, and a cursor on it would
skip them. Each poll reads again the last ``api_live_tail_lookback_seconds`` of writes
(an insert becomes visible a moment after its ``created_at``) and drops rows already
seen by id. A poll reads at most ``api_live_tail_batch_rows`` rows; a fuller backlog is
read on in order (by write time, receive time, event time, id) without pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import anyio.to_thread

from api.query.client_pool import ClientPool
from api.query.live_events import LiveEvent, RecentIds, Unreadable, event_from_fields
from api.query.live_sources import Backoff, Publish, SourceObserver, WatchedSites
from connectors.clickhouse import ClickHouseClient, ClickHouseError

log = logging.getLogger("insightlite.api.live")

Clock = Callable[[], float]

# The ``events`` columns a tail reads, named as in a ``processed_events`` record, then
# the order it reads them in.
_TAIL_SQL: Final = """
SELECT
    toString(event_id) AS event_key,
    toString(session_id) AS session_key,
    site_id,
    toUnixTimestamp64Milli(timestamp) AS timestamp_ms,
    event_type,
    event_data,
    url_path,
    referrer,
    device_type,
    viewport_width,
    viewport_height,
    ip_hash,
    country_code,
    error_class,
    toUnixTimestamp(created_at) AS written,
    toUnixTimestamp64Milli(received_at) AS received_ms
FROM {database}.events
WHERE site_id IN {sites:Array(String)}
  AND toDate(timestamp) >= {day_from:Date}
  AND CONDITION
ORDER BY written, received_ms, timestamp_ms, event_key
LIMIT {limit:UInt32}
"""
_TAIL_FIELDS: Final = (
    "event_id",
    "session_id",
    "site_id",
    "timestamp",
    "event_type",
    "event_data",
    "url_path",
    "referrer",
    "device_type",
    "viewport_width",
    "viewport_height",
    "ip_hash",
    "country_code",
    "error_class",
)
_SINCE: Final = "written >= {since:UInt32}"
_AFTER: Final = (
    "(written, received_ms, timestamp_ms, event_key) > "
    "({written:UInt32}, {received:Int64}, {timestamp:Int64}, {event:String})"
)
# Rows whose event time is older than this are not tailed (a late event of three days
# ago is not live), which also lets ClickHouse skip all but the last days' parts.
TAIL_DAYS: Final = 1


class ClickHouseTailSource:
    """New rows of ``events`` for the watched sites (see the module doc)."""

    name = "clickhouse"

    def __init__(
        self,
        pool: ClientPool,
        *,
        watched: WatchedSites,
        observer: SourceObserver,
        poll_seconds: float,
        batch_rows: int,
        lookback_seconds: int,
        recent_ids: int,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._watched = watched
        self._observer = observer
        self._poll_seconds = poll_seconds
        self._batch_rows = batch_rows
        self._lookback = lookback_seconds
        self._seen = RecentIds(recent_ids)
        self._clock = clock
        # The latest write time read (ClickHouse's clock, Unix seconds), and the key of
        # the last row of a full poll, from which the next one reads on.
        self._written: int | None = None
        self._after: tuple[int, int, int, str] | None = None

    async def run(self, publish: Publish, ready: asyncio.Event) -> None:
        backoff = Backoff()
        warned = False
        while True:
            try:
                if self._written is None:
                    self._written = await anyio.to_thread.run_sync(self._server_now)
                    self._observer.reading(True)
                    ready.set()
                sites = self._watched()
                full = False
                if sites:
                    events, full = await anyio.to_thread.run_sync(self._poll, sorted(sites))
                    if events:
                        publish(events)
                backoff.reset()
                warned = False
                if not full:
                    await asyncio.sleep(self._poll_seconds)
            except Exception as exc:
                # Once per outage at WARNING (with the trace when it is not ClickHouse's
                # own error), then quietly until a poll succeeds again.
                level = logging.DEBUG if warned else logging.WARNING
                log.log(
                    level,
                    "live stream: the ClickHouse tail failed (%s); retrying",
                    exc,
                    exc_info=not isinstance(exc, ClickHouseError),
                )
                warned = True
                self._observer.reading(False)
                self._written = None
                self._after = None
                await backoff.wait()

    def _server_now(self) -> int:
        with self._pool.client() as client:
            (now,) = client.query("SELECT toUnixTimestamp(now())").rows[0]
        return int(now)

    def _poll(self, sites: list[str]) -> tuple[list[LiveEvent], bool]:
        """The new events of ``sites``, and whether the poll was full (read on at once)."""
        assert self._written is not None
        day_from = (
            datetime.fromtimestamp(self._clock(), tz=UTC) - timedelta(days=TAIL_DAYS)
        ).date()
        params: dict[str, Any] = {"sites": sites, "day_from": day_from, "limit": self._batch_rows}
        if self._after is None:
            condition = _SINCE
            params["since"] = max(0, self._written - self._lookback)
        else:
            condition = _AFTER
            params.update(
                zip(("written", "received", "timestamp", "event"), self._after, strict=True)
            )
        with self._pool.client() as client:
            rows = _rows(client, _TAIL_SQL.replace("CONDITION", condition), params)
        full = len(rows) >= self._batch_rows
        events: list[LiveEvent] = []
        for row in rows:
            written = int(row[14])
            self._written = max(self._written, written)
            if not self._seen.add(str(row[0])):
                continue
            decoded = event_from_fields(dict(zip(_TAIL_FIELDS, row, strict=False)))
            if isinstance(decoded, Unreadable):
                self._observer.unreadable(decoded.reason)
            else:
                events.append(decoded)
        if full:
            last = rows[-1]
            self._after = (int(last[14]), int(last[15]), int(last[3]), str(last[0]))
        else:
            self._after = None
        return events, full


def _rows(client: ClickHouseClient, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return client.query(sql.replace("{database}", client.database), params).rows


_RECENT_ACTIVITY_SQL: Final = """
SELECT toString(session_id), ip_hash, toUnixTimestamp64Milli(max(timestamp))
FROM {database}.events
WHERE site_id = {site:String}
  AND toDate(timestamp) >= {day_from:Date}
  AND timestamp >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY session_id, ip_hash
LIMIT {limit:UInt32}
"""


def recent_activity(
    client: ClickHouseClient, site: str, since_ms: int, limit: int
) -> list[tuple[str, int, int]]:
    """(session id, ip hash, latest event time) of the site's events since ``since_ms``,
    from ClickHouse: what a live window starts from."""
    day_from = datetime.fromtimestamp(since_ms / 1000, tz=UTC).date()
    params = {"site": site, "day_from": day_from, "since": since_ms, "limit": limit}
    return [
        (str(session), int(ip_hash), int(latest))
        for session, ip_hash, latest in _rows(client, _RECENT_ACTIVITY_SQL, params)
    ]
