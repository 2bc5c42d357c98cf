"""The GraphQL resolvers: the request's context, the ``site(id:)`` entry point and the
fields of ``Site``, each a thin adapter over the query layer.

Arguments become the same query models REST validates, through
:func:`api.query.filters.query_from_arguments`, so a bad filter is refused alike.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, TypeVar, cast

import strawberry
from fastapi import Depends, Request
from pydantic import BaseModel
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from api.query import models
from api.query.auth import (
    PERMISSION_HEATMAPS,
    PERMISSION_REPLAY_READ,
    PERMISSION_SESSIONS,
    PERMISSION_STATS,
    AccessDenied,
    Principal,
)
from api.query.deps import Services, admitted, charge, services
from api.query.filters import InvalidQuery, is_site_id, query_from_arguments
from api.query.graphql_errors import client_errors
from api.query.graphql_types import (
    Breakdown,
    Device,
    Dimension,
    ErrorGroup,
    Heatmap,
    HeatmapType,
    Interval,
    Replay,
    ReplaysPage,
    ScrollDepth,
    SessionDetail,
    SessionsPage,
    StatsSummary,
    Suppressed,
    Timeseries,
)
from api.query.layer import QueryLayer


class Context(BaseContext):
    def __init__(self, principal: Principal, found: Services) -> None:
        super().__init__()
        self.principal = principal
        self.services = found


async def context_getter(
    request: Request, principal: Annotated[Principal, Depends(admitted)]
) -> Context:
    # An empty bucket answers 429 before the query is even parsed; the query's cost is
    # taken once it is known (QueryGuard).
    await charge(request, principal, 1, take=False)
    return Context(principal, services(request))


G = TypeVar("G")

# The range arguments every read takes, named as in REST (``from`` is a Python keyword).
FromDate = Annotated[date | None, strawberry.argument(name="from")]
ToDate = Annotated[date | None, strawberry.argument(name="to")]


def _to_graphql(graphql_type: type[G], answer: BaseModel) -> G:
    """The strawberry object of an answer (the pydantic integration adds from_pydantic)."""
    converted: G = cast(Any, graphql_type).from_pydantic(answer)
    return converted


def _session_id(value: strawberry.ID, argument: str) -> uuid.UUID:
    """The UUID of a session id argument; InvalidQuery names ``argument`` otherwise."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidQuery(f"{argument} is not a session id (UUID)") from None


@strawberry.type(description="One site's analytics; every field checks its own permission.")
class Site:
    id: str

    # Each field checks its permission before it builds its query, so a token without
    # the permission is told FORBIDDEN, not what is wrong with the arguments.
    def _allow(self, info: Info[Context, None], permission: str) -> QueryLayer:
        info.context.principal.require(self.id, permission)
        return info.context.services.layer

    @strawberry.field(description="A page's heatmap cells (heatmaps:read).")
    @client_errors
    async def heatmap(
        self,
        info: Info[Context, None],
        path: str,
        type: HeatmapType = HeatmapType.CLICK,
        device: Device | None = None,
        date_from: FromDate = None,
        date_to: ToDate = None,
    ) -> Heatmap | None:
        layer = self._allow(info, PERMISSION_HEATMAPS)
        query = query_from_arguments(
            models.HeatmapQuery,
            path=path,
            type=type,
            device=device,
            date_from=date_from,
            date_to=date_to,
        )
        return _to_graphql(Heatmap, await layer.heatmap(self.id, query))

    @strawberry.field(description="Share of a page's views reaching each depth (heatmaps:read).")
    @client_errors
    async def scroll_depth(
        self,
        info: Info[Context, None],
        path: str,
        device: Device | None = None,
        date_from: FromDate = None,
        date_to: ToDate = None,
    ) -> ScrollDepth | None:
        layer = self._allow(info, PERMISSION_HEATMAPS)
        query = query_from_arguments(
            models.ScrollDepthQuery,
            path=path,
            device=device,
            date_from=date_from,
            date_to=date_to,
        )
        return _to_graphql(ScrollDepth, await layer.scroll_depth(self.id, query))

    @strawberry.field(description="A page of sessions, newest first (sessions:read).")
    @client_errors
    async def sessions(
        self,
        info: Info[Context, None],
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
        has_errors: bool | None = None,
        has_rage_clicks: bool | None = None,
        has_recording: bool | None = None,
        min_duration: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SessionsPage | None:
        layer = self._allow(info, PERMISSION_SESSIONS)
        query = query_from_arguments(
            models.SessionsQuery,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
            has_errors=has_errors,
            has_rage_clicks=has_rage_clicks,
            has_recording=has_recording,
            min_duration=min_duration,
            limit=limit,
            cursor=cursor,
        )
        return _to_graphql(SessionsPage, await layer.sessions(self.id, query))

    @strawberry.field(description="One session and its events in order (sessions:read).")
    @client_errors
    async def session(
        self, info: Info[Context, None], id: strawberry.ID, events_limit: int = 1000
    ) -> SessionDetail | None:
        layer = self._allow(info, PERMISSION_SESSIONS)
        session_id = _session_id(id, "id")
        query = query_from_arguments(models.SessionEventsQuery, limit=events_limit)
        detail = await layer.session(self.id, session_id, query.limit)
        return None if detail is None else _to_graphql(SessionDetail, detail)

    @strawberry.field(
        description="A page of recordings, newest first (replay:read); their events are "
        "at GET /v1/sites/{site}/replays/{session_id}/events."
    )
    @client_errors
    async def replays(
        self,
        info: Info[Context, None],
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
        has_errors: bool | None = None,
        has_rage_clicks: bool | None = None,
        min_duration: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ReplaysPage | None:
        layer = self._allow(info, PERMISSION_REPLAY_READ)
        query = query_from_arguments(
            models.ReplaysQuery,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
            has_errors=has_errors,
            has_rage_clicks=has_rage_clicks,
            min_duration=min_duration,
            limit=limit,
            cursor=cursor,
        )
        return _to_graphql(ReplaysPage, await layer.replays(self.id, query))

    @strawberry.field(description="One recording's summary (replay:read).")
    @client_errors
    async def replay(self, info: Info[Context, None], session_id: strawberry.ID) -> Replay | None:
        layer = self._allow(info, PERMISSION_REPLAY_READ)
        found = await layer.replay(self.id, _session_id(session_id, "sessionId"))
        return None if found is None else _to_graphql(Replay, found)

    @strawberry.field(description="Totals over the range (stats:read).")
    @client_errors
    async def stats(
        self,
        info: Info[Context, None],
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
    ) -> StatsSummary | None:
        layer = self._allow(info, PERMISSION_STATS)
        query = query_from_arguments(
            models.StatsQuery,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
        )
        return _to_graphql(StatsSummary, await layer.stats(self.id, query))

    @strawberry.field(description="The stats per hour, day or week (stats:read).")
    @client_errors
    async def timeseries(
        self,
        info: Info[Context, None],
        interval: Interval = Interval.DAY,
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
    ) -> Timeseries | None:
        layer = self._allow(info, PERMISSION_STATS)
        query = query_from_arguments(
            models.TimeseriesQuery,
            interval=interval,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
        )
        return _to_graphql(Timeseries, await layer.timeseries(self.id, query))

    @strawberry.field(
        description="The stats per page, device, country, entry page, exit page or referrer "
        "host (stats:read)."
    )
    @client_errors
    async def breakdown(
        self,
        info: Info[Context, None],
        by: Dimension,
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
        limit: int = 20,
    ) -> Breakdown | None:
        layer = self._allow(info, PERMISSION_STATS)
        query = query_from_arguments(
            models.BreakdownQuery,
            by=by,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
            limit=limit,
        )
        return _to_graphql(Breakdown, await layer.breakdown(self.id, query))

    @strawberry.field(description="Errors grouped by class and message (stats:read).")
    @client_errors
    async def errors(
        self,
        info: Info[Context, None],
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
        limit: int = 50,
    ) -> list[ErrorGroup] | None:
        layer = self._allow(info, PERMISSION_STATS)
        query = query_from_arguments(
            models.ErrorsQuery,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
            limit=limit,
        )
        answer = await layer.errors(self.id, query)
        return [_to_graphql(ErrorGroup, group) for group in answer.groups]

    @strawberry.field(
        description="What the minimum crowd held back from `errors` with the same "
        "arguments (stats:read)."
    )
    @client_errors
    async def errors_suppressed(
        self,
        info: Info[Context, None],
        date_from: FromDate = None,
        date_to: ToDate = None,
        path: str | None = None,
        device: Device | None = None,
        country: str | None = None,
        limit: int = 50,
    ) -> Suppressed | None:
        layer = self._allow(info, PERMISSION_STATS)
        query = query_from_arguments(
            models.ErrorsQuery,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
            limit=limit,
        )
        answer = await layer.errors(self.id, query)
        return _to_graphql(Suppressed, answer.suppressed)


@strawberry.type
class Query:
    @strawberry.field(description="A site the token grants; its fields hold the analytics.")
    @client_errors
    async def site(self, info: Info[Context, None], id: str) -> Site | None:
        if not is_site_id(id):
            raise InvalidQuery("id is not a site id (1-64 of A-Za-z0-9._-)")
        if id not in info.context.principal.sites:
            raise AccessDenied("site not granted by this token")
        return Site(id=id)
