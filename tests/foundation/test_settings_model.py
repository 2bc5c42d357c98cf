"""The one settings model: frozen, every section's fields with their old defaults,
variants built by validated copies, and every setting documented in one table."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from foundation.settings import ConfigError, Settings, load_settings
from tests.foundation.settings_tables import (
    API_DOCS,
    API_DOCS_SECTIONS,
    PRIVACY_DOCS,
    PRIVACY_DOCS_SECTIONS,
    README,
    README_SECTIONS,
    REPLAY_DOCS,
    REPLAY_DOCS_SECTIONS,
    settings_table,
    variables_of,
)

# Every field of the query API's settings as they were when they had a model of their
# own, with its default: the merge kept each name and default.
QUERY_API_DEFAULTS: dict[str, Any] = {
    "api_host": "127.0.0.1",
    "api_port": 8000,
    "api_workers": 1,
    "api_clickhouse_pool_size": 4,
    "api_max_range_days": 366,
    "api_export_url": "",
    "jwt_algorithms": ["HS256"],
    "jwt_secret": None,
    "jwt_public_key": "",
    "jwt_private_key": "",
    "jwt_audience": "insightlite-api",
    "jwt_issuer": "insightlite",
    "jwt_leeway_seconds": 30,
    "redis_url": "",
    "api_rate_limit_free": 60,
    "api_rate_limit_pro": 600,
    "api_rate_limit_enterprise": 6000,
    "api_rate_limit_refused_per_address": 60,
    "api_graphql_max_cost_free": 20,
    "api_graphql_max_cost_pro": 100,
    "api_graphql_max_cost_enterprise": 500,
    "api_graphql_introspection": False,
    "api_max_requests_per_token": 8,
    "api_max_queries_per_token": 2,
    "cache_ttl_seconds": 300.0,
    "cache_max_entries": 10000,
    "webhook_urls": {},
    "webhook_secret": None,
    "webhook_max_attempts": 5,
    "webhook_backoff_seconds": 1.0,
    "webhook_timeout_seconds": 10.0,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INSIGHTLITE_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("name", "value"),
    [("api_port", 9000), ("sink_batch_rows", 5), ("kafka_partitions", 3), ("jwt_issuer", "x")],
)
def test_assigning_a_setting_is_refused(name: str, value: Any) -> None:
    settings = load_settings()
    before = getattr(settings, name)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(settings, name, value)
    assert getattr(settings, name) == before


def test_every_query_api_field_keeps_its_default() -> None:
    settings = load_settings()
    missing = sorted(set(QUERY_API_DEFAULTS) - set(Settings.model_fields))
    assert not missing, f"query API settings missing from the model: {missing}"
    changed = {
        name: getattr(settings, name)
        for name, default in QUERY_API_DEFAULTS.items()
        if getattr(settings, name) != default
    }
    assert not changed, f"defaults changed: {changed}"


def test_with_overrides_validates_and_leaves_the_original() -> None:
    settings = load_settings(jwt_secret="s" * 40)
    variant = settings.with_overrides(jwt_algorithms="HS512", api_port=9001)
    assert (variant.jwt_algorithms, variant.api_port) == (["HS512"], 9001)
    assert variant.jwt_secret == SecretStr("s" * 40)
    assert (settings.jwt_algorithms, settings.api_port) == (["HS256"], 8000)
    with pytest.raises(ConfigError, match="INSIGHTLITE_API_PORT"):
        settings.with_overrides(api_port=0)
    with pytest.raises(ConfigError, match="INSIGHTLITE_JWT_PUBLIC_KEY"):
        settings.with_overrides(jwt_algorithms="RS256")
    with pytest.raises(ConfigError, match="INSIGHTLITE_NO_SUCH_SETTING"):
        settings.with_overrides(no_such_setting=1)


def test_with_overrides_does_not_read_the_environment_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    monkeypatch.setenv("INSIGHTLITE_API_PORT", "9002")
    assert settings.with_overrides(api_workers=2).api_port == 8000


def test_the_sections_hold_every_field_once() -> None:
    sections = README_SECTIONS + API_DOCS_SECTIONS + REPLAY_DOCS_SECTIONS + PRIVACY_DOCS_SECTIONS
    counted = [name for section in sections for name in section.model_fields]
    assert sorted(counted) == sorted(Settings.model_fields)


def test_every_setting_is_in_exactly_one_table() -> None:
    documents = (README, API_DOCS, REPLAY_DOCS, PRIVACY_DOCS)
    tables = [set(settings_table(path)) for path in documents]
    every = variables_of(Settings)
    listed = set().union(*tables)
    missing = sorted(every - listed)
    assert not missing, (
        f"settings in no table (README, docs/api.md, docs/replay.md, docs/privacy.md): {missing}"
    )
    twice = sorted(name for name in listed if sum(name in table for table in tables) > 1)
    assert not twice, f"settings in two tables: {twice}"
    unknown = sorted(listed - every)
    assert not unknown, f"tables list variables that are not settings: {unknown}"


def test_a_table_row_names_its_variables(tmp_path: Any) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n| `INSIGHTLITE_NOT_A_TABLE` |\n\n## Settings\n\n"
        "| variable | default | meaning |\n|---|---|---|\n"
        "| `INSIGHTLITE_COLLECTOR_SITE_RATE`, `_SITE_BURST` | `1` | see `INSIGHTLITE_OTHER` |\n"
        "| `INSIGHTLITE_API_PORT` | `8000` | port |\n\n## Next\n\n| `INSIGHTLITE_AFTER` |\n"
    )
    assert settings_table(page) == [
        "INSIGHTLITE_COLLECTOR_SITE_RATE",
        "INSIGHTLITE_COLLECTOR_SITE_BURST",
        "INSIGHTLITE_API_PORT",
    ]


def test_every_section_check_reaches_the_model() -> None:
    # pydantic keeps one validator per name across the bases: a name used by two
    # sections would drop one section's check without a word.
    decorators = Settings.__pydantic_decorators__
    for kind in ("field_validators", "model_validators"):
        own = [
            name
            for section in README_SECTIONS
            + API_DOCS_SECTIONS
            + REPLAY_DOCS_SECTIONS
            + PRIVACY_DOCS_SECTIONS
            for name in getattr(section.__pydantic_decorators__, kind)
        ]
        assert sorted(own) == sorted(getattr(decorators, kind)), kind
