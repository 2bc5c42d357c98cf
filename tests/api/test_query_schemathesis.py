"""Property-based run of every operation in the OpenAPI document (schemathesis): with a
valid token and generated parameters and bodies, no request gets a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.query_support import (
    NOW,
    FakeClock,
    PipelineData,
    api_settings,
    bearer,
    build_app,
    make_token,
)

pytest_plugins = ["tests.api.query_fixtures"]


@pytest.fixture(scope="module")
def api_schema(
    pipeline_data: PipelineData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    clock = FakeClock(NOW.timestamp())
    settings_ = api_settings(
        pipeline_data,
        api_export_url=str(tmp_path_factory.mktemp("schemathesis-exports")),
        # Generated exports span at most a few days, so the background work stays small.
        api_max_range_days=3,
        api_rate_limit_enterprise=1_000_000,
    )
    app = build_app(pipeline_data, clock, settings_)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        services = app.state.services
        services.exports.close()
        services.layer.close()


@pytest.fixture(scope="module")
def token_headers() -> dict[str, str]:
    token = make_token(
        FakeClock(NOW.timestamp()), sites=["shop.example.com", "blog.example.org"], exp=4102444800
    )
    return bearer(token)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any, token_headers: dict[str, str]) -> None:
    if case.path_parameters and "site" in case.path_parameters:
        # A generated site is refused with 403 before any query runs; site ids are
        # fuzzed in test_query_security. Here the queries themselves are exercised.
        case.path_parameters["site"] = "shop.example.com"
    response = case.call(headers=token_headers)
    case.validate_response(response, checks=[not_a_server_error])
    assert b"Traceback" not in response.content


def test_the_document_is_valid(api_schema: Any) -> None:
    operations = {
        f"{result.ok().method.upper()} {result.ok().path}"
        for result in api_schema.get_all_operations()
    }
    assert "GET /v1/sites/{site}/heatmap" in operations
    assert "POST /v1/sites/{site}/exports" in operations
    for replay_operation in (
        "GET /v1/sites/{site}/replays",
        "GET /v1/sites/{site}/replays/{session_id}",
        "GET /v1/sites/{site}/replays/{session_id}/events",
        "DELETE /v1/sites/{site}/replays/{session_id}",
    ):
        assert replay_operation in operations
    assert len(operations) >= 12
