"""A GraphQL query's cost and depth, computed from its parsed document over the real
schema: aliases, fragments, variables, ranges and limits all count."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from graphql import parse, validate

from api.query.cost import CostCounter, depth_limit_rule
from api.query.graphql import schema

TODAY = date(2026, 11, 25)
SHOP = 'site(id: "shop.example.com")'


def cost(query: str, variables: dict[str, Any] | None = None, name: str | None = None) -> int:
    counter = CostCounter(schema._schema, parse(query), variables, today=TODAY, max_range_days=366)
    return counter.cost(name)


def test_each_field_costs_its_queries() -> None:
    assert cost("{ " + SHOP + " { id } }") == 0
    assert cost("{ " + SHOP + " { stats { pageviews } } }") == 2
    assert cost("{ " + SHOP + ' { heatmap(path: "/") { total } } }') == 1
    assert cost("{ " + SHOP + ' { session(id: "x") { eventsTruncated } } }') == 2
    # A field of an answer named like a Site field ("sessions") costs nothing itself.
    assert cost("{ " + SHOP + " { stats { sessions } sessions { nextCursor } } }") == 3
    assert cost("{ __typename }") == 0


def test_every_alias_counts() -> None:
    one = "stats { pageviews } errors { message }"
    assert cost("{ " + SHOP + " { " + one + " } }") == 3
    aliases = " ".join(f"a{i}: {SHOP} {{ {one} }}" for i in range(19))
    assert cost("{ " + aliases + " }") == 19 * 3
    assert cost("{ " + SHOP + " { a: stats { pageviews } b: stats { visitors } } }") == 4


def test_cost_grows_with_the_range_and_the_limit() -> None:
    def stats(arguments: str) -> int:
        return cost("{ " + SHOP + " { stats(" + arguments + ") { pageviews } } }")

    assert stats('to: "2026-11-25"') == 2  # the default 30 days
    assert stats('from: "2026-10-26"') == 2  # 31 days: one unit
    assert stats('from: "2026-10-25"') == 2 * 2  # 32 days: two units of 31
    assert stats('from: "2025-11-25", to: "2026-11-25"') == 2 * 12  # 366 days
    assert stats('from: "garbage"') == 2 * 12  # unreadable: the longest range
    assert cost("{ " + SHOP + " { sessions(limit: 500) { nextCursor } } }") == 5
    assert cost("{ " + SHOP + " { breakdown(by: PAGE, limit: 1000) { by } } }") == 2 * 10
    assert (
        cost("{ " + SHOP + ' { session(id: "x", eventsLimit: 10000) { eventsTruncated } } }') == 20
    )
    # Out of range: the resolver refuses it before any query.
    assert cost("{ " + SHOP + " { sessions(limit: 100000) { nextCursor } } }") == 1


def test_variables_and_operation_names() -> None:
    query = (
        "query Big($from: String, $limit: Int) { "
        + SHOP
        + " { sessions(from: $from, limit: $limit) { nextCursor } } }"
        " query Small { " + SHOP + " { id } }"
    )
    variables = {"from": "2025-11-25", "limit": 300}
    assert cost(query, variables, "Big") == 12 * 3
    assert cost(query, variables, "Small") == 0
    assert cost(query, variables, None) == 0  # two operations and no name: nothing runs


def test_fragments_are_expanded_once_each() -> None:
    query = (
        '{ a: site(id: "shop.example.com") { ...F } b: site(id: "blog.example.org") { ...F } }'
        " fragment F on Site { stats { pageviews } ... on Site { errors { message } } }"
    )
    assert cost(query) == 2 * 3
    # Fragments spreading fragments twice, ten levels deep: counted without walking
    # every path (2^10), and still exact.
    chain = " ".join(f"fragment F{i} on Site {{ ...F{i + 1} ...F{i + 1} }}" for i in range(10))
    query = "{ " + SHOP + " { ...F0 } } " + chain + " fragment F10 on Site { stats { pageviews } }"
    assert cost(query) == 2 * 2**10


def test_introspection_fields_cost_one() -> None:
    assert cost('{ __schema { types { name } } __type(name: "Site") { name } }') == 2


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("{ " + SHOP + ' { session(id: "x") { events { data } } } }', False),
        ("{ __schema { types { fields { type { ofType { name } } } } } }", False),
        (
            "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }",
            True,
        ),
        (
            "{ __schema { ...T } } fragment T on __Schema { types { fields { type { ofType "
            "{ ofType { ofType { name } } } } } } }",
            True,
        ),
    ],
)
def test_depth_counts_introspection_fields(query: str, refused: bool) -> None:
    errors = validate(schema._schema, parse(query), [depth_limit_rule(6)])
    assert bool(errors) is refused
    if refused:
        assert "exceeds maximum operation depth of 6" in errors[0].message
