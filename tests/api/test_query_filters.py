"""The one filter definition behind REST and GraphQL: the same bad filter gets the same
refusal either way, the same good one the same answer, and every filter a read offers
is both a REST parameter and a GraphQL argument."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import GraphQLObjectType, build_schema
from pydantic import BaseModel

from api.query import models
from api.query.filters import (
    EVENT_CONDITIONS,
    SESSION_CONDITIONS,
    Filter,
    InvalidQuery,
    resolve_filter,
)
from api.query.graphql import schema
from tests.api.query_support import NOW, FakeClock, PipelineData, bearer, make_token, serve

pytest_plugins = ["tests.api.query_fixtures"]

SITE = "shop.example.com"
TODAY = NOW.date()

# GraphQL field -> the REST route and the query model both validate their arguments with.
READS: dict[str, tuple[str, type[BaseModel]]] = {
    "heatmap": ("heatmap", models.HeatmapQuery),
    "scrollDepth": ("scroll-depth", models.ScrollDepthQuery),
    "sessions": ("sessions", models.SessionsQuery),
    "stats": ("stats", models.StatsQuery),
    "timeseries": ("stats/timeseries", models.TimeseriesQuery),
    "breakdown": ("stats/breakdown", models.BreakdownQuery),
    "errors": ("errors", models.ErrorsQuery),
}
# What each field is asked for, enough to run it.
SELECTIONS = {
    "heatmap": "{ total }",
    "scrollDepth": "{ totalViews }",
    "sessions": "{ nextCursor }",
    "stats": "{ pageviews }",
    "timeseries": "{ interval }",
    "breakdown": "{ by }",
    "errors": "{ message }",
}

# (GraphQL field, arguments by their REST name) that must be refused.
BAD_FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("stats", {"country": "USA"}),
    ("stats", {"country": "1x"}),
    ("sessions", {"country": "D"}),
    ("stats", {"path": "pricing"}),
    ("errors", {"path": "/a\x01b"}),
    ("breakdown", {"path": "/" + "a" * 1024}),
    ("heatmap", {"path": ""}),
    ("stats", {"from": "2026-11-20", "to": "2026-11-01"}),
    ("stats", {"from": "2020-01-01", "to": "2026-11-25"}),
    ("sessions", {"from": "1969-12-31", "to": "1970-01-02"}),
    ("timeseries", {"interval": "hour", "from": "2026-09-01", "to": "2026-11-25"}),
    ("breakdown", {"limit": 0}),
    ("errors", {"limit": 1001}),
    ("sessions", {"limit": 501}),
    ("sessions", {"min_duration": -1}),
    ("sessions", {"cursor": "x" * 257}),
]


@pytest.fixture(scope="module")
def client(pipeline_data: PipelineData) -> Iterator[TestClient]:
    with serve(pipeline_data, FakeClock(NOW.timestamp())) as test_client:
        yield test_client


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _graphql_value(name: str, value: Any) -> str:
    """A GraphQL literal of a REST parameter (enums unquoted, upper case)."""
    if name in ("interval", "type", "by", "device"):
        return str(value).upper()
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\x01", "\\u0001")
        return f'"{escaped}"'
    return str(value)


def _arguments(field: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values with the arguments a field requires filled in."""
    if field in ("heatmap", "scrollDepth"):
        return {"path": "/", **values}
    if field == "breakdown":
        return {"by": "page", **values}
    return values


def rest_refusal(client: TestClient, field: str, values: dict[str, Any]) -> tuple[int, str]:
    """(status, reason) of a REST read, the reason as GraphQL words it."""
    route = READS[field][0]
    response = client.get(
        f"/v1/sites/{SITE}/{route}",
        params=_arguments(field, values),
        headers=bearer(make_token(FakeClock(NOW.timestamp()))),
    )
    body = response.json()
    if body.get("detail"):
        # pydantic's own messages, located by the parameter (its first part is "query").
        reason = "; ".join(
            f"{'.'.join(error['loc'][1:])}: {error['msg']}" for error in body["detail"]
        )
    else:
        reason = body["message"]
    return response.status_code, reason


def graphql_answer(client: TestClient, field: str, values: dict[str, Any]) -> dict[str, Any]:
    arguments = ", ".join(
        f"{'from' if name == 'from' else _camel(name)}: {_graphql_value(name, value)}"
        for name, value in _arguments(field, values).items()
    )
    query = f'{{ site(id: "{SITE}") {{ {field}({arguments}) {SELECTIONS[field]} }} }}'
    response = client.post(
        "/graphql",
        json={"query": query},
        headers=bearer(make_token(FakeClock(NOW.timestamp()))),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("field", "values"), BAD_FILTERS)
def test_a_bad_filter_is_refused_alike(
    client: TestClient, field: str, values: dict[str, Any]
) -> None:
    status, rest_reason = rest_refusal(client, field, values)
    assert status == 422
    body = graphql_answer(client, field, values)
    assert body["data"] == {"site": {field: None}}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"] == rest_reason


def test_a_good_filter_answers_alike(client: TestClient) -> None:
    values = {"country": "de", "device": "desktop", "from": "2026-11-01", "to": "2026-11-25"}
    response = client.get(
        f"/v1/sites/{SITE}/stats",
        params={**values, "country": "DE"},
        headers=bearer(make_token(FakeClock(NOW.timestamp()))),
    )
    assert response.status_code == 200, response.text
    rest = response.json()
    assert rest["pageviews"] > 0
    body = graphql_answer(client, "stats", values)
    assert "errors" not in body, body
    assert body["data"]["site"]["stats"] == {"pageviews": rest["pageviews"]}
    # Lower case is the same filter: it reaches the store upper case.
    lower = client.get(
        f"/v1/sites/{SITE}/stats",
        params=values,
        headers=bearer(make_token(FakeClock(NOW.timestamp()))),
    )
    assert lower.json() == rest


@pytest.mark.parametrize("field", sorted(READS))
def test_every_filter_is_a_graphql_argument(field: str) -> None:
    model = READS[field][1]
    rest_names = {info.alias or _camel(name) for name, info in model.model_fields.items()}
    site_type = build_schema(schema.as_str()).get_type("Site")
    assert isinstance(site_type, GraphQLObjectType)
    assert set(site_type.fields[field].args) == rest_names


def test_every_condition_names_a_filter() -> None:
    fields = {field.name for field in dataclasses.fields(Filter)}
    assert set(EVENT_CONDITIONS) <= fields
    assert set(SESSION_CONDITIONS) <= fields


def test_resolve_filter_keeps_what_the_query_offers() -> None:
    stats = models.StatsQuery.model_validate({"path": "/pricing", "country": "fr"})
    flt = resolve_filter(SITE, stats, today=TODAY, max_range_days=366)
    assert (flt.path, flt.device, flt.country, flt.has_errors) == ("/pricing", None, "FR", None)
    assert (flt.days.first, flt.days.last, flt.days.days) == (date(2026, 10, 27), TODAY, 30)
    assert flt.conditions(SESSION_CONDITIONS) == (
        ["entry_path = {path:String}", "country_code = {country:String}"],
        {"path": "/pricing", "country": "FR"},
    )

    sessions = models.SessionsQuery.model_validate({"has_errors": False, "min_duration": 0})
    flt = resolve_filter(SITE, sessions, today=TODAY, max_range_days=366)
    # False is a filter; a minimum duration of 0 is none.
    assert flt.conditions(SESSION_CONDITIONS) == (
        ["has_errors = {has_errors:Bool}"],
        {"has_errors": False},
    )


@pytest.mark.parametrize("site", ["", "shop example", "a" * 65, "shop.example.com\n"])
def test_resolve_filter_refuses_a_bad_site(site: str) -> None:
    with pytest.raises(InvalidQuery, match="site is not a site id"):
        resolve_filter(site, models.StatsQuery(), today=TODAY, max_range_days=366)
