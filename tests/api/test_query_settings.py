"""The query API's settings (a section of the one model): defaults, environment
variables, errors naming them, and their table in docs/api.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from foundation.settings import TIERS, ConfigError, load_settings
from tests.foundation.settings_tables import (
    API_DOCS,
    API_DOCS_SECTIONS,
    table_problems,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("INSIGHTLITE_"):
            monkeypatch.delenv(name)


def _public_pem(private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_defaults() -> None:
    settings = load_settings()
    assert settings.api_port == 8000
    assert settings.api_host == "127.0.0.1"
    assert settings.jwt_algorithms == ["HS256"]
    assert settings.jwt_audience == "insightlite-api"
    assert settings.jwt_issuer == "insightlite"
    assert settings.redis_url == ""
    assert settings.cache_ttl_seconds == 300
    assert [settings.rate_limit_per_minute(tier) for tier in TIERS] == [
        60,
        600,
        6000,
    ]
    assert settings.export_url("s3://bucket/insightlite") == "s3://bucket/insightlite/exports"
    assert settings.export_url("/data/archive/") == "/data/archive/exports"


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLITE_API_PORT", "9001")
    monkeypatch.setenv("INSIGHTLITE_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("INSIGHTLITE_API_RATE_LIMIT_FREE", "5")
    monkeypatch.setenv(
        "INSIGHTLITE_WEBHOOK_URLS", "a.example=http://127.0.0.1:9/x, b.example=https://h/y"
    )
    monkeypatch.setenv("INSIGHTLITE_WEBHOOK_SECRET", "w" * 20)
    monkeypatch.setenv("INSIGHTLITE_API_EXPORT_URL", "memory://exports")
    settings = load_settings()
    assert settings.api_port == 9001
    assert settings.rate_limit_per_minute("free") == 5
    assert settings.webhook_urls == {
        "a.example": "http://127.0.0.1:9/x",
        "b.example": "https://h/y",
    }
    assert settings.export_url("ignored") == "memory://exports"
    # The pipeline's variables are read by the same model.
    monkeypatch.setenv("INSIGHTLITE_SINK_BATCH_ROWS", "10")
    settings = load_settings()
    assert (settings.api_port, settings.sink_batch_rows) == (9001, 10)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("INSIGHTLITE_API_PORT", "0", "INSIGHTLITE_API_PORT"),
        ("INSIGHTLITE_JWT_ALGORITHMS", "none", "INSIGHTLITE_JWT_ALGORITHMS"),
        ("INSIGHTLITE_JWT_ALGORITHMS", "HS256,RS256", "INSIGHTLITE_JWT_ALGORITHMS"),
        ("INSIGHTLITE_JWT_SECRET", "short", "INSIGHTLITE_JWT_SECRET"),
        ("INSIGHTLITE_REDIS_URL", "http://127.0.0.1", "INSIGHTLITE_REDIS_URL"),
        ("INSIGHTLITE_WEBHOOK_URLS", "bad site=http://x", "INSIGHTLITE_WEBHOOK_URLS"),
        ("INSIGHTLITE_WEBHOOK_URLS", "a.example=ftp://x", "INSIGHTLITE_WEBHOOK_URLS"),
        ("INSIGHTLITE_WEBHOOK_URLS", "a.example=https://h/x y", "INSIGHTLITE_WEBHOOK_URLS"),
        ("INSIGHTLITE_API_GRAPHQL_MAX_COST_FREE", "0", "INSIGHTLITE_API_GRAPHQL_MAX_COST_FREE"),
        ("INSIGHTLITE_API_MAX_REQUESTS_PER_TOKEN", "0", "INSIGHTLITE_API_MAX_REQUESTS_PER_TOKEN"),
        ("INSIGHTLITE_API_MAX_QUERIES_PER_TOKEN", "0", "INSIGHTLITE_API_MAX_QUERIES_PER_TOKEN"),
        ("INSIGHTLITE_CACHE_TTL_SECONDS", "-1", "INSIGHTLITE_CACHE_TTL_SECONDS"),
        ("INSIGHTLITE_API_EXPORT_URL", "gs://bucket", "INSIGHTLITE_API_EXPORT_URL"),
    ],
)
def test_errors_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert expected in str(raised.value)


def test_webhooks_need_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLITE_WEBHOOK_URLS", "a.example=http://127.0.0.1:9/x")
    with pytest.raises(ConfigError, match="INSIGHTLITE_WEBHOOK_SECRET"):
        load_settings()


def test_asymmetric_algorithms_need_a_matching_public_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="INSIGHTLITE_JWT_PUBLIC_KEY"):
        load_settings(jwt_algorithms="RS256")
    ed_pem = _public_pem(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(ConfigError, match=r"INSIGHTLITE_JWT_PUBLIC_KEY.*RSA"):
        load_settings(jwt_algorithms="RS256", jwt_public_key=ed_pem)
    # A path works as well as the PEM text, and the key is read once, at load time.
    key_file = tmp_path / "public.pem"
    key_file.write_text(ed_pem)
    settings = load_settings(jwt_algorithms="EdDSA", jwt_public_key=str(key_file))
    assert settings.jwt_public_key.startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(ConfigError, match="INSIGHTLITE_JWT_PUBLIC_KEY"):
        load_settings(jwt_algorithms="EdDSA", jwt_public_key=str(tmp_path / "missing.pem"))


def test_secret_values_are_not_printed() -> None:
    settings = load_settings(jwt_secret="p" * 40, webhook_secret="q" * 20)
    assert "p" * 40 not in repr(settings)
    assert "q" * 20 not in repr(settings)


def test_abuse_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert [settings.graphql_max_cost(tier) for tier in TIERS] == [20, 100, 500]
    assert settings.api_graphql_introspection is False
    assert settings.api_rate_limit_refused_per_address == 60
    assert settings.api_max_requests_per_token == 8
    assert settings.api_max_queries_per_token == 2
    monkeypatch.setenv("INSIGHTLITE_API_GRAPHQL_INTROSPECTION", "true")
    monkeypatch.setenv("INSIGHTLITE_API_GRAPHQL_MAX_COST_PRO", "40")
    monkeypatch.setenv("INSIGHTLITE_API_RATE_LIMIT_FREE", "5")
    settings = load_settings()
    assert settings.api_graphql_introspection is True
    assert settings.graphql_max_cost("pro") == 40
    # A query takes its cost from the tier's bucket: the maximum is at most its size.
    assert settings.graphql_max_cost("free") == 5


def test_every_setting_is_documented() -> None:
    # The pipeline's settings are in the README; a name here must be these sections'.
    assert table_problems(API_DOCS, API_DOCS_SECTIONS, "the table in docs/api.md") == []
