"""The GraphQL schema at ``/graphql`` (strawberry), over the same query layer as REST.

One entry point, ``site(id:)``, checks that the token grants the site; each of its
fields checks its own permission, so a query asking for stats and sessions with a
stats-only token gets the stats and a ``FORBIDDEN`` error for the sessions (the fields
are nullable so that one refused field does not null its siblings). Errors carry
``extensions.code``: ``BAD_REQUEST``, ``FORBIDDEN``, ``UNAVAILABLE`` (and
``QUERY_TOO_COSTLY`` from ``api.query.graphql_guard``, which prices and charges every
query before it runs); anything else is masked as "Unexpected error." (and logged), so
no internals reach a client.

The printed schema is kept in ``api/query/schema.graphql`` (a test compares them).
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, ParamSpec, TypeVar, cast

import strawberry
from fastapi import Depends, Request
from graphql import GraphQLError
from pydantic import BaseModel, ValidationError
from strawberry.experimental.pydantic import type as pydantic_type
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter
from strawberry.fastapi import BaseContext
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext, Info

from api.query import models
from api.query.auth import (
    PERMISSION_HEATMAPS,
    PERMISSION_SESSIONS,
    PERMISSION_STATS,
    AccessDenied,
    Principal,
)
from api.query.deps import Services, admitted, charge, services
from api.query.graphql_guard import GuardedGraphQLRouter, QueryGuard
from api.query.layer import InvalidCursor, InvalidQuery, QueryLayer
from connectors.clickhouse import ClickHouseUnavailable

T = TypeVar("T")
P = ParamSpec("P")

CODE_BAD_REQUEST = "BAD_REQUEST"
CODE_FORBIDDEN = "FORBIDDEN"
CODE_UNAVAILABLE = "UNAVAILABLE"
_CLIENT_CODES = frozenset({CODE_BAD_REQUEST, CODE_FORBIDDEN, CODE_UNAVAILABLE})


# --- types (generated from the answer models) ------------------------------------------


@pydantic_type(model=models.HeatmapCells, all_fields=True)
class HeatmapCells:
    pass


@pydantic_type(model=models.HeatmapAnswer, all_fields=True)
class Heatmap:
    pass


@pydantic_type(model=models.ScrollDepthPoint, all_fields=True)
class ScrollDepthPoint:
    pass


@pydantic_type(model=models.ScrollDepthAnswer, all_fields=True)
class ScrollDepth:
    pass


@pydantic_type(model=models.Session, all_fields=True)
class Session:
    pass


@pydantic_type(model=models.SessionsPage, all_fields=True)
class SessionsPage:
    pass


@pydantic_type(model=models.SessionEvent)
class SessionEvent:
    id: strawberry.auto
    timestamp: strawberry.auto
    type: strawberry.auto
    path: strawberry.auto
    referrer: strawberry.auto
    device: strawberry.auto
    country: strawberry.auto
    viewport_width: strawberry.auto
    viewport_height: strawberry.auto
    error_class: strawberry.auto
    data: JSON


@pydantic_type(model=models.SessionDetail, all_fields=True)
class SessionDetail:
    pass


@pydantic_type(model=models.StatsSummary, all_fields=True)
class StatsSummary:
    pass


@pydantic_type(model=models.StatsPoint, all_fields=True)
class StatsPoint:
    pass


@pydantic_type(model=models.Timeseries, all_fields=True)
class Timeseries:
    pass


@pydantic_type(model=models.BreakdownRow, all_fields=True)
class BreakdownRow:
    pass


@pydantic_type(model=models.Breakdown, all_fields=True)
class Breakdown:
    pass


@pydantic_type(model=models.ErrorGroup, all_fields=True)
class ErrorGroup:
    pass


@strawberry.enum(description="Interaction type of a heatmap.")
class HeatmapType(enum.Enum):
    CLICK = "click"
    MOVE = "move"
    RAGE_CLICK = "rage_click"
    CLICK_FIXED = "click_fixed"
    MOVE_FIXED = "move_fixed"
    RAGE_CLICK_FIXED = "rage_click_fixed"


@strawberry.enum(description="Device class from the user agent.")
class Device(enum.Enum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"


@strawberry.enum(description="Bucket of a time series (UTC; weeks start on Monday).")
class Interval(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@strawberry.enum(description="What a breakdown groups by.")
class Dimension(enum.Enum):
    PAGE = "page"
    DEVICE = "device"
    COUNTRY = "country"


# --- errors ----------------------------------------------------------------------------


def _client_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _validation_message(error: ValidationError) -> str:
    parts = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail.get("loc", ()))
        parts.append(f"{location}: {detail['msg']}" if location else str(detail["msg"]))
    return "; ".join(parts)


def _client_errors(
    resolver: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    """A resolver that turns what a client may know into coded GraphQL errors."""

    @functools.wraps(resolver)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await resolver(*args, **kwargs)
        except AccessDenied as exc:
            raise _client_error(exc.reason, CODE_FORBIDDEN) from None
        except ValidationError as exc:
            raise _client_error(_validation_message(exc), CODE_BAD_REQUEST) from None
        except (InvalidQuery, InvalidCursor) as exc:
            raise _client_error(str(exc), CODE_BAD_REQUEST) from None
        except ClickHouseUnavailable:
            raise _client_error("the analytics store is unavailable", CODE_UNAVAILABLE) from None

    return guarded


def _should_mask(error: GraphQLError) -> bool:
    # Syntax and validation errors have no original error and describe the query only.
    if error.original_error is None:
        return False
    original = error.original_error
    if isinstance(original, GraphQLError):
        return (original.extensions or {}).get("code") not in _CLIENT_CODES
    return True


# --- context and resolvers -------------------------------------------------------------


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


M = TypeVar("M", bound=BaseModel)
G = TypeVar("G")

# The range arguments every read takes, named as in REST (``from`` is a Python keyword).
FromDate = Annotated[date | None, strawberry.argument(name="from")]
ToDate = Annotated[date | None, strawberry.argument(name="to")]


def _to_graphql(graphql_type: type[G], answer: BaseModel) -> G:
    """The strawberry object of an answer (the pydantic integration adds from_pydantic)."""
    converted: G = cast(Any, graphql_type).from_pydantic(answer)
    return converted


def _build(model: type[M], **values: Any) -> M:
    """A query model from resolver arguments (None means 'not given'; enums give values)."""
    return model.model_validate(
        {
            key: value.value if isinstance(value, enum.Enum) else value
            for key, value in values.items()
            if value is not None
        }
    )


@strawberry.type(description="One site's analytics; every field checks its own permission.")
class Site:
    id: str

    # Each field checks its permission before it builds its query, so a token without
    # the permission is told FORBIDDEN, not what is wrong with the arguments.
    def _allow(self, info: Info[Context, None], permission: str) -> QueryLayer:
        info.context.principal.require(self.id, permission)
        return info.context.services.layer

    @strawberry.field(description="A page's heatmap cells (heatmaps:read).")
    @_client_errors
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
        query = _build(
            models.HeatmapQuery,
            path=path,
            type=type,
            device=device,
            date_from=date_from,
            date_to=date_to,
        )
        return _to_graphql(Heatmap, await layer.heatmap(self.id, query))

    @strawberry.field(description="Share of a page's views reaching each depth (heatmaps:read).")
    @_client_errors
    async def scroll_depth(
        self,
        info: Info[Context, None],
        path: str,
        device: Device | None = None,
        date_from: FromDate = None,
        date_to: ToDate = None,
    ) -> ScrollDepth | None:
        layer = self._allow(info, PERMISSION_HEATMAPS)
        query = _build(
            models.ScrollDepthQuery,
            path=path,
            device=device,
            date_from=date_from,
            date_to=date_to,
        )
        return _to_graphql(ScrollDepth, await layer.scroll_depth(self.id, query))

    @strawberry.field(description="A page of sessions, newest first (sessions:read).")
    @_client_errors
    async def sessions(
        self,
        info: Info[Context, None],
        date_from: FromDate = None,
        date_to: ToDate = None,
        device: Device | None = None,
        country: str | None = None,
        has_errors: bool | None = None,
        has_rage_clicks: bool | None = None,
        min_duration: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SessionsPage | None:
        layer = self._allow(info, PERMISSION_SESSIONS)
        query = _build(
            models.SessionsQuery,
            date_from=date_from,
            date_to=date_to,
            device=device,
            country=country,
            has_errors=has_errors,
            has_rage_clicks=has_rage_clicks,
            min_duration=min_duration,
            limit=limit,
            cursor=cursor,
        )
        return _to_graphql(SessionsPage, await layer.sessions(self.id, query))

    @strawberry.field(description="One session and its events in order (sessions:read).")
    @_client_errors
    async def session(
        self, info: Info[Context, None], id: strawberry.ID, events_limit: int = 1000
    ) -> SessionDetail | None:
        layer = self._allow(info, PERMISSION_SESSIONS)
        try:
            session_id = uuid.UUID(str(id))
        except ValueError:
            raise InvalidQuery("id is not a session id (UUID)") from None
        query = _build(models.SessionEventsQuery, limit=events_limit)
        detail = await layer.session(self.id, session_id, query.limit)
        return None if detail is None else _to_graphql(SessionDetail, detail)

    @strawberry.field(description="Totals over the range (stats:read).")
    @_client_errors
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
        query = _build(
            models.StatsQuery,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
        )
        return _to_graphql(StatsSummary, await layer.stats(self.id, query))

    @strawberry.field(description="The stats per hour, day or week (stats:read).")
    @_client_errors
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
        query = _build(
            models.TimeseriesQuery,
            interval=interval,
            date_from=date_from,
            date_to=date_to,
            path=path,
            device=device,
            country=country,
        )
        return _to_graphql(Timeseries, await layer.timeseries(self.id, query))

    @strawberry.field(description="The stats per page, device or country (stats:read).")
    @_client_errors
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
        query = _build(
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
    @_client_errors
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
        query = _build(
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


@strawberry.type
class Query:
    @strawberry.field(description="A site the token grants; its fields hold the analytics.")
    @_client_errors
    async def site(self, info: Info[Context, None], id: str) -> Site | None:
        if not models.is_site_id(id):
            raise InvalidQuery("id is not a site id (1-64 of A-Za-z0-9._-)")
        if id not in info.context.principal.sites:
            raise AccessDenied("site not granted by this token")
        return Site(id=id)


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors (bad arguments, forbidden, syntax) are answers, not incidents:
        # only the errors that get masked are logged, with their traceback.
        super().process_errors(
            [error for error in errors if _should_mask(error)], execution_context
        )


schema = _Schema(
    query=Query,
    # Bounds on what one request may ask for: every field can be a ClickHouse query.
    # QueryGuard limits the depth (introspection included), introspection and the cost.
    extensions=[
        QueryGuard,
        lambda: MaxAliasesLimiter(max_alias_count=20),
        lambda: MaxTokensLimiter(max_token_count=2000),
        lambda: MaskErrors(should_mask_error=_should_mask),
    ],
)


def graphql_router() -> GuardedGraphQLRouter:
    """The ``/graphql`` route: POST only, no in-browser IDE (it would need a token)."""
    return GuardedGraphQLRouter(
        schema,
        context_getter=context_getter,
        graphql_ide=None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=False,
    )
