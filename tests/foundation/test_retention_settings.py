"""Retention and traits settings: CNIL exemption defaults, limits enforced at start."""

from __future__ import annotations

import logging

import pytest

from foundation.settings import ConfigError, load_settings


def test_defaults_are_inside_the_exemption() -> None:
    settings = load_settings()
    assert settings.events_retention_months == 13
    assert settings.archive_retention_months == 13
    assert settings.sessions_retention_months <= 25
    assert settings.heatmap_retention_months == 25
    assert settings.dead_letter_retention_days <= 760
    assert settings.retention_beyond_exemption is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("heatmap_retention_months", 26),
        ("sessions_retention_months", 26),
        ("events_retention_months", 14),
        ("archive_retention_months", 14),
        ("dead_letter_retention_days", 761),
    ],
)
def test_a_value_above_the_limit_fails_naming_the_setting(name: str, value: int) -> None:
    with pytest.raises(ConfigError, match=f"INSIGHTLITE_{name.upper()}:.*CNIL"):
        load_settings(**{name: value})


def test_the_limit_itself_is_accepted() -> None:
    settings = load_settings(heatmap_retention_months=25, events_retention_months=13)
    assert settings.heatmap_retention_months == 25


def test_beyond_the_exemption_is_accepted_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="insightlite.settings"):
        settings = load_settings(heatmap_retention_months=60, retention_beyond_exemption=True)
    assert settings.heatmap_retention_months == 60
    assert "heatmap_retention_months: 60 months" in caplog.text


def test_replay_retention_above_the_limit_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="insightlite.settings"):
        settings = load_settings(replay_retention_days=3650)
    assert settings.replay_retention_days == 3650
    assert "replay_retention_days: 3650 days" in caplog.text


def test_traits_allow_list_per_site(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLITE_TRAITS_ALLOWED_KEYS", '{"shop": ["plan", "company_size"]}')
    settings = load_settings()
    assert settings.allowed_trait_keys("shop") == frozenset({"plan", "company_size"})
    assert settings.allowed_trait_keys("blog") == frozenset()


@pytest.mark.parametrize(
    "value", ['{"bad site!": ["plan"]}', '{"shop": ["no spaces"]}', "not json"]
)
def test_a_bad_allow_list_fails_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("INSIGHTLITE_TRAITS_ALLOWED_KEYS", value)
    with pytest.raises(ConfigError, match="INSIGHTLITE_TRAITS_ALLOWED_KEYS"):
        load_settings()
