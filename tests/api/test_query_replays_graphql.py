"""Session recordings over GraphQL: ``replays`` (a page, with the REST filters) and
``replay`` (one summary) on ``Site``, their permission, refusals and cost, over the
recordings of ``tests.api.replay_recordings``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from graphql import GraphQLObjectType, build_schema, parse

from api.query import models
from api.query.cost import CostCounter
from api.query.graphql import schema
from tests.api.replay_recordings import NOW, SHOP, Recording, token

pytest_plugins = ["tests.api.query_fixtures"]


def graphql(
    api: TestClient, query: str, variables: dict[str, Any], **claims: Any
) -> dict[str, Any]:
    response = api.post(
        "/graphql", json={"query": query, "variables": variables}, headers=token(**claims)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_graphql_list_and_one(replay_api: TestClient, replay_data: dict[str, Recording]) -> None:
    query = """
        query($site: String!, $cursor: String) {
          site(id: $site) { replays(path: "/pricing", limit: 1, cursor: $cursor) {
            nextCursor replays { sessionId durationSeconds chunkCount pages errorCount } } }
        }
    """
    first = graphql(replay_api, query, {"site": SHOP})["data"]["site"]["replays"]
    assert [r["sessionId"] for r in first["replays"]] == [replay_data["r1"].id]
    assert first["replays"][0]["chunkCount"] == 3
    second = graphql(replay_api, query, {"site": SHOP, "cursor": first["nextCursor"]})
    page = second["data"]["site"]["replays"]
    assert [r["sessionId"] for r in page["replays"]] == [replay_data["r3"].id]
    assert page["nextCursor"] is None
    rest = replay_api.get(
        f"/v1/sites/{SHOP}/replays/{replay_data['r3'].id}", headers=token()
    ).json()
    assert page["replays"][0]["durationSeconds"] == rest["duration_seconds"] == 400

    one = 'query($id: ID!) { site(id: "shop.example.com") { replay(sessionId: $id) { %s } } }'

    def replay(session_id: str, fields: str = "sessionId") -> dict[str, Any]:
        return graphql(replay_api, one % fields, {"id": session_id})

    found = replay(replay_data["r3"].id, "sessionId countryCode")["data"]["site"]["replay"]
    assert found == {"sessionId": replay_data["r3"].id, "countryCode": "US"}
    for unknown in ("expired", "blog"):  # expired; another site's
        assert replay(replay_data[unknown].id)["data"]["site"]["replay"] is None
    bad = replay(replay_data["r3"].id + "\n")
    assert bad["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert bad["errors"][0]["message"] == "sessionId is not a session id (UUID)"


def test_graphql_needs_replay_read_and_refuses_bad_filters(replay_api: TestClient) -> None:
    query = (
        '{ site(id: "shop.example.com") { '
        "replays(device: MOBILE) { nextCursor } stats { pageviews } } }"
    )
    body = graphql(replay_api, query, {}, permissions=["stats:read"])
    assert body["data"]["site"]["replays"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert error["message"] == "permission replay:read not granted by this token"
    bad = graphql(
        replay_api,
        '{ site(id: "shop.example.com") { replays(path: "pricing") { nextCursor } } }',
        {},
    )
    assert bad["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    rest = replay_api.get(f"/v1/sites/{SHOP}/replays", params={"path": "pricing"}, headers=token())
    assert rest.status_code == 422


def test_graphql_arguments_are_the_rest_parameters_and_cost_like_sessions() -> None:
    site_type = build_schema(schema.as_str()).get_type("Site")
    assert isinstance(site_type, GraphQLObjectType)
    rest_names = {
        info.alias or _camel(name) for name, info in models.ReplaysQuery.model_fields.items()
    }
    assert set(site_type.fields["replays"].args) == rest_names

    def cost(query: str) -> int:
        counter = CostCounter(
            schema._schema, parse(query), None, today=NOW.date(), max_range_days=366
        )
        return counter.cost(None)

    site = f'site(id: "{SHOP}")'
    assert cost(f"{{ {site} {{ replays {{ nextCursor }} }} }}") == 1
    assert cost(f"{{ {site} {{ replays(limit: 500) {{ nextCursor }} }} }}") == 5
    assert cost(f'{{ {site} {{ replays(from: "2029-06-01") {{ nextCursor }} }} }}') == 12
    assert cost(f'{{ {site} {{ replay(sessionId: "{uuid.uuid4()}") {{ bytes }} }} }}') == 1


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
