"""What a GraphQL query costs and how deep it is, from its parsed document, before it runs.

Every field of ``Site`` that reads ClickHouse has a cost:

    cost = queries x ceil(days / 31) x ceil(limit / unit)

- ``queries``: the ClickHouse queries the field runs (``stats``, ``timeseries``,
  ``breakdown`` and ``session`` run two, the others one);
- ``days``: its date range with the API's defaults (30 days ending today); a field
  without a range (``session``, ``replay``) counts 1; an unreadable date counts as the
  longest range (the resolver refuses it anyway);
- ``limit``: its ``limit`` (``eventsLimit`` for ``session``) in units of 100 rows (1000
  events); fields without one count 1.

``site`` itself and the answers' own fields cost nothing; ``__schema`` and ``__type``
cost 1. Every alias counts: ``a: stats b: stats`` costs twice ``stats``. Fragments are
expanded (each fragment's cost is computed once, so reuse cannot blow up the count),
and ``@skip``/``@include`` are ignored: a query pays for what it could run.

The depth rule counts every field, introspection fields included (strawberry's own
depth limiter skips them, which left ``__schema { types { fields { type { ofType ...``
unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    get_named_type,
    value_from_ast_untyped,
)
from graphql.validation import ValidationRule
from pydantic import BaseModel

from api.query import models
from api.query.filters import DEFAULT_RANGE_DAYS

# ClickHouse queries each Site field runs (see api.query.layer).
FIELD_QUERIES: Final[Mapping[str, int]] = {
    "heatmap": 1,
    "scrollDepth": 1,
    "sessions": 1,
    "session": 2,
    "stats": 2,
    "timeseries": 2,
    "breakdown": 2,
    "errors": 1,
    # The errors' answer (cached, shared with `errors`) and what it held back.
    "errorsSuppressed": 2,
    "replays": 1,
    "replay": 1,
}
# Fields that read no date range (one unit whatever their arguments).
FIELDS_WITHOUT_RANGE: Final = frozenset({"session", "replay"})


def _limit_bounds(model: type[BaseModel]) -> tuple[int, int]:
    """The default and maximum of a query model's ``limit``, as REST and GraphQL
    validate it."""
    field = model.model_fields["limit"]
    maximum = next(item.le for item in field.metadata if hasattr(item, "le"))
    return int(field.default), int(maximum)


# Field -> (argument, its default, its maximum, rows per cost unit).
FIELD_LIMITS: Final[Mapping[str, tuple[str, int, int, int]]] = {
    "sessions": ("limit", *_limit_bounds(models.SessionsQuery), 100),
    "replays": ("limit", *_limit_bounds(models.ReplaysQuery), 100),
    "breakdown": ("limit", *_limit_bounds(models.BreakdownQuery), 100),
    "errors": ("limit", *_limit_bounds(models.ErrorsQuery), 100),
    "errorsSuppressed": ("limit", *_limit_bounds(models.ErrorsQuery), 100),
    "session": ("eventsLimit", *_limit_bounds(models.SessionEventsQuery), 1000),
}
RANGE_UNIT_DAYS: Final = 31
INTROSPECTION_FIELDS: Final = frozenset({"__schema", "__type"})
SITE_TYPE: Final = "Site"


class CostCounter:
    """The cost of one operation of a document (see the module doc)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        *,
        today: date,
        max_range_days: int,
    ) -> None:
        self._schema = schema
        self._variables = dict(variables or {})
        self._today = today
        self._max_range_days = max_range_days
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._operations = [
            definition
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        ]
        self._fragment_costs: dict[tuple[str, str], int] = {}

    def cost(self, operation_name: str | None) -> int:
        """The cost of the named operation (or the only one; 0 when there is none)."""
        operation = _pick_operation(self._operations, operation_name)
        if operation is None:
            return 0
        root = self._schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self._selection_cost(operation.selection_set, root, frozenset())

    def _selection_cost(
        self, selections: SelectionSetNode, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self._schema.get_type(condition.name.value) if condition else parent
                total += self._selection_cost(selection.selection_set, inner or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value, seen)
        return total

    def _fragment_cost(self, name: str, seen: frozenset[str]) -> int:
        fragment = self._fragments.get(name)
        if fragment is None or name in seen:
            return 0  # validation refuses unknown and cyclic fragments before this runs
        inner = self._schema.get_type(fragment.type_condition.name.value)
        if inner is None:
            return 0
        key = (name, inner.name)
        if key not in self._fragment_costs:
            self._fragment_costs[key] = self._selection_cost(
                fragment.selection_set, inner, seen | {name}
            )
        return self._fragment_costs[key]

    def _field_cost(self, node: FieldNode, parent: GraphQLNamedType, seen: frozenset[str]) -> int:
        name = node.name.value
        if name in INTROSPECTION_FIELDS:
            return 1
        own = 0
        if parent.name == SITE_TYPE and name in FIELD_QUERIES:
            own = FIELD_QUERIES[name] * self._range_units(node) * self._limit_units(node)
        if node.selection_set is None or not isinstance(parent, GraphQLObjectType):
            return own
        definition = parent.fields.get(name)
        if definition is None:
            return own
        return own + self._selection_cost(node.selection_set, get_named_type(definition.type), seen)

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self._variables)
        return None

    def _range_units(self, node: FieldNode) -> int:
        if node.name.value in FIELDS_WITHOUT_RANGE:
            return 1
        days = self._days(self._argument(node, "from"), self._argument(node, "to"))
        return math.ceil(days / RANGE_UNIT_DAYS)

    def _days(self, first: Any, last: Any) -> int:
        """The range's length in days as the layer resolves it, at most the maximum."""
        try:
            last_day = date.fromisoformat(last) if last is not None else self._today
            first_day = (
                date.fromisoformat(first)
                if first is not None
                else last_day - timedelta(days=DEFAULT_RANGE_DAYS - 1)
            )
        except (TypeError, ValueError):
            return self._max_range_days
        return min(max(1, (last_day - first_day).days + 1), self._max_range_days)

    def _limit_units(self, node: FieldNode) -> int:
        spec = FIELD_LIMITS.get(node.name.value)
        if spec is None:
            return 1
        argument, default, maximum, unit = spec
        value = self._argument(node, argument)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            return 1  # the resolver refuses it before any query
        return math.ceil(value / unit)


def _pick_operation(
    operations: list[OperationDefinitionNode], name: str | None
) -> OperationDefinitionNode | None:
    if name is None:
        return operations[0] if len(operations) == 1 else None
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation
    return None


def depth_limit_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields,
    counting introspection fields like any other."""

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragment_depths: dict[str, int] = {}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = self._depth(node.selection_set, frozenset())
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", [node])
                )

        def _depth(self, selections: SelectionSetNode, seen: frozenset[str]) -> int:
            deepest = 0
            for selection in selections.selections:
                if isinstance(selection, FieldNode):
                    inner = selection.selection_set
                    depth = 0 if inner is None else 1 + self._depth(inner, seen)
                elif isinstance(selection, InlineFragmentNode):
                    depth = self._depth(selection.selection_set, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    depth = self._fragment_depth(selection.name.value, seen)
                else:
                    depth = 0
                deepest = max(deepest, depth)
            return deepest

        def _fragment_depth(self, name: str, seen: frozenset[str]) -> int:
            fragment = self.context.get_fragment(name)
            if fragment is None or name in seen:
                return 0  # unknown or cyclic: other rules report those
            if name not in self._fragment_depths:
                self._fragment_depths[name] = self._depth(fragment.selection_set, seen | {name})
            return self._fragment_depths[name]

    return MaxDepthRule
