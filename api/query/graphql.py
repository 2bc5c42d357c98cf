"""The GraphQL schema at ``/graphql`` (strawberry), over the same query layer as REST.

One entry point, ``site(id:)``, checks that the token grants the site; each of its
fields checks its own permission, so a query asking for stats and sessions with a
stats-only token gets the stats and a ``FORBIDDEN`` error for the sessions (the fields
are nullable so that one refused field does not null its siblings). Errors carry
``extensions.code``: ``BAD_REQUEST``, ``FORBIDDEN``, ``UNAVAILABLE`` (and
``QUERY_TOO_COSTLY`` from ``api.query.graphql_guard``, which prices and charges every
query before it runs); anything else is masked as "Unexpected error." (and logged), so
no internals reach a client.

The types are in :mod:`api.query.graphql_types`, the resolvers in
:mod:`api.query.graphql_resolvers` and the error codes and masking in
:mod:`api.query.graphql_errors`; this module assembles the schema and its route.

The printed schema is kept in ``api/query/schema.graphql`` (a test compares them).
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter
from strawberry.types import ExecutionContext

from api.query.graphql_errors import should_mask
from api.query.graphql_guard import GuardedGraphQLRouter, QueryGuard
from api.query.graphql_resolvers import Query, context_getter


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors (bad arguments, forbidden, syntax) are answers, not incidents:
        # only the errors that get masked are logged, with their traceback.
        super().process_errors([error for error in errors if should_mask(error)], execution_context)


schema = _Schema(
    query=Query,
    # Bounds on what one request may ask for: every field can be a ClickHouse query.
    # QueryGuard limits the depth (introspection included), introspection and the cost.
    extensions=[
        QueryGuard,
        lambda: MaxAliasesLimiter(max_alias_count=20),
        lambda: MaxTokensLimiter(max_token_count=2000),
        lambda: MaskErrors(should_mask_error=should_mask),
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
