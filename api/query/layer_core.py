"""What every read of the query layer shares: its filter, the worker thread and client
it runs on, the answer cache, and the SQL fragments common to several reads.

The reads themselves are grouped by subject (:mod:`api.query.heatmap_reads`,
:mod:`api.query.session_reads`, :mod:`api.query.stats_reads`,
:mod:`api.query.error_reads`, :mod:`api.query.replay_reads`) as subclasses of
:class:`LayerCore`, and combined into :class:`api.query.layer.QueryLayer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar

import anyio.to_thread
from pydantic import BaseModel

from api.query.cache import Codec, ResponseCache, cache_key
from api.query.client_pool import ClientPool
from api.query.filters import EVENT_CONDITIONS, DatedArguments, Filter, resolve_filter
from api.query.guards import QUERY_SLOTS
from api.query.models import Answer
from connectors.clickhouse import ClickHouseClient
from foundation.settings.privacy import PrivacySettings

Clock = Callable[[], float]
A = TypeVar("A", bound=Answer)
R = TypeVar("R")

UTC_DATETIME: Final = "DateTime64(3, 'UTC')"

# The site and days of a read, per table.
_EVENT_RANGE: Final = (
    "site_id = {site:String}",
    "toDate(timestamp) >= {date_from:Date}",
    "toDate(timestamp) <= {date_to:Date}",
)
SESSION_RANGE: Final = (
    "site_id = {site:String}",
    f"start_time >= {{start:{UTC_DATETIME}}}",
    f"start_time < {{end:{UTC_DATETIME}}}",
)


def where(conditions: list[str]) -> str:
    return " AND ".join(f"({condition})" for condition in conditions)


def rows(client: ClickHouseClient, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, its ``{database}`` naming the client's database."""
    return client.query(sql.replace("{database}", client.database), params).rows


def event_where(flt: Filter) -> tuple[str, dict[str, Any]]:
    """The WHERE clause on ``events`` of a filter, and its parameters."""
    conditions, params = flt.conditions(EVENT_CONDITIONS)
    params.update(site=flt.site, date_from=flt.days.first, date_to=flt.days.last)
    return where([*_EVENT_RANGE, *conditions]), params


def model_codec(model: type[A]) -> Codec[A]:
    return Codec(lambda value: value.json_bytes(), model.model_validate_json)


BYTES_CODEC: Codec[bytes] = Codec(lambda value: value, lambda data: data)


# The minimum crowd when none is given: the settings' default k, never off.
_DEFAULT_PRIVACY: Final = PrivacySettings()


class LayerCore:
    """The query layer's state and the steps every read takes (see the module doc)."""

    def __init__(
        self,
        pool: ClientPool,
        cache: ResponseCache,
        *,
        cell_height_px: int = 16,
        max_range_days: int = 366,
        replay_retention_days: int = 30,
        min_crowd: Callable[[str], int] = _DEFAULT_PRIVACY.min_crowd_for,
        clock: Clock = time.time,
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._cell_height_px = cell_height_px
        self._max_range_days = max_range_days
        self._replay_retention_days = replay_retention_days
        # The site's k: aggregates from fewer distinct sessions are held back.
        self._min_crowd = min_crowd
        self._clock = clock

    def close(self) -> None:
        self._pool.close()

    async def forget_site(self, site: str) -> None:
        """Drop the cached answers of ``site`` (its data changed under them)."""
        await self._cache.forget_site(site)

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), tz=UTC).date()

    def _kept_after(self) -> datetime:
        """Recordings whose last event is at or before this instant are expired."""
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        return now - timedelta(days=self._replay_retention_days)

    def _filter(self, site: str, query: DatedArguments) -> Filter:
        return resolve_filter(site, query, today=self._today(), max_range_days=self._max_range_days)

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
        flt: Filter,
        kind: str,
        query: BaseModel,
        work: Callable[[ClickHouseClient], R],
        codec: Codec[R],
    ) -> R:
        """The answer to ``query`` from the cache, or from ``work`` on a miss.

        The key holds the resolved days rather than the query's own: a range left to
        its default moves with the clock.
        """
        params = query.model_dump(exclude={"date_from", "date_to"})
        params.update(date_from=flt.days.first.isoformat(), date_to=flt.days.last.isoformat())
        return await self._cache.get_or_compute(
            cache_key(flt.site, kind, params), kind, lambda: self._run(work), codec
        )

    async def ping(self) -> None:
        """Raise the connector's error unless ClickHouse answers ``SELECT 1``."""
        await self._run(lambda client: client.query("SELECT 1"))
