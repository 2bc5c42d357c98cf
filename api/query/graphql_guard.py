"""What a GraphQL request may ask for, decided before any resolver runs.

:class:`QueryGuard` (a strawberry extension, one per request):

- adds the validation rules: the depth limit over every field, introspection included,
  and, unless ``api_graphql_introspection`` is on, no ``__schema`` or ``__type``;
- computes the validated operation's cost (``api.query.cost``) and refuses one above
  the token tier's maximum with a ``QUERY_TOO_COSTLY`` error naming both numbers
  (nothing is executed; the request takes one token, like any refused query);
- takes the cost (at least 1) from the token's bucket, or 1 when the query did not
  parse or validate. When the bucket does not hold that much, nothing runs and
  :class:`GuardedGraphQLRouter` answers 429 with ``Retry-After``, as REST does.

Too costly is a fault of the query, like too deep or too many aliases: it is a GraphQL
error in a 200 answer. Out of tokens is a matter of time: 429.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Final

from graphql import ExecutionResult, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult as StrawberryResult

from api.query.cost import CostCounter, depth_limit_rule
from api.query.deps import RateLimited, charge

CODE_QUERY_TOO_COSTLY: Final = "QUERY_TOO_COSTLY"
CODE_RATE_LIMITED: Final = "RATE_LIMITED"
MAX_DEPTH: Final = 6
MAX_DEPTH_RULE: Final = depth_limit_rule(MAX_DEPTH)
# Where a refusal waits in the request's state for the router to raise it.
REFUSAL_STATE: Final = "insightlite_graphql_refusal"


class QueryGuard(SchemaExtension):
    """Depth, introspection, cost and rate limit of one GraphQL request."""

    def __init__(self, *, execution_context: Any = None) -> None:
        super().__init__(execution_context=execution_context)
        self._charged = False

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        rules: tuple[Any, ...] = (MAX_DEPTH_RULE,)
        if not context.services.settings.api_graphql_introspection:
            rules += (NoSchemaIntrospectionCustomRule,)
        self.execution_context.validation_rules = self.execution_context.validation_rules + rules
        yield
        if not self._charged:
            # A query that did not parse, validate or fit its maximum still counts.
            await self._charge(1)

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        found, principal = context.services, context.principal
        settings = found.settings
        document = self.execution_context.graphql_document
        assert document is not None  # execution starts only after parsing
        counter = CostCounter(
            self.execution_context.schema._schema,
            document,
            self.execution_context.variables,
            today=datetime.fromtimestamp(found.clock(), tz=UTC).date(),
            max_range_days=settings.api_max_range_days,
        )
        cost = counter.cost(self.execution_context.operation_name)
        maximum = settings.graphql_max_cost(principal.tier)
        if cost > maximum:
            found.metrics.graphql_cost_refused.labels(principal.tier).inc()
            self._refuse(
                f"the query costs {cost}, more than the {principal.tier} tier's maximum of "
                f"{maximum}",
                {"code": CODE_QUERY_TOO_COSTLY, "cost": cost, "maximum": maximum},
            )
        elif not await self._charge(max(1, cost)):
            self._refuse("too many requests", {"code": CODE_RATE_LIMITED, "cost": cost})
        yield

    def _refuse(self, message: str, extensions: dict[str, Any]) -> None:
        """Skip execution: strawberry uses a result already set instead of running."""
        self.execution_context.result = ExecutionResult(
            data=None, errors=[GraphQLError(message, extensions=extensions)]
        )

    async def _charge(self, cost: int) -> bool:
        self._charged = True
        context = self.execution_context.context
        try:
            await charge(context.request, context.principal, cost)
        except RateLimited as refusal:
            setattr(context.request.state, REFUSAL_STATE, refusal)
            return False
        return True


class GuardedGraphQLRouter(GraphQLRouter[Any, None]):
    """The GraphQL route, answering 429 (through the app's handler) for a request that
    :class:`QueryGuard` found out of tokens."""

    async def process_result(
        self, request: Request, result: StrawberryResult
    ) -> GraphQLHTTPResponse:
        refusal = getattr(request.state, REFUSAL_STATE, None)
        if refusal is not None:
            raise refusal
        return await super().process_result(request, result)
