"""The minimum crowd's settings: k, per-site overrides, and bad values named at start."""

from __future__ import annotations

import pytest

from foundation.settings import ConfigError, load_settings


def test_default_k_is_five_and_a_site_may_override_it() -> None:
    assert load_settings().min_crowd_for("shop.example.com") == 5
    settings = load_settings(min_crowd=2, min_crowd_sites='{"shop.example.com": 10, "intranet": 1}')
    assert settings.min_crowd_for("shop.example.com") == 10
    assert settings.min_crowd_for("intranet") == 1
    assert settings.min_crowd_for("blog.example.org") == 2


def test_the_overrides_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLITE_MIN_CROWD_SITES", '{"docs.example.net": 7}')
    assert load_settings().min_crowd_for("docs.example.net") == 7


@pytest.mark.parametrize(
    ("values", "named", "reason"),
    [
        ({"min_crowd": 0}, "INSIGHTLITE_MIN_CROWD", "greater than or equal to 1"),
        ({"min_crowd_sites": "not json"}, "INSIGHTLITE_MIN_CROWD_SITES", "not JSON"),
        ({"min_crowd_sites": "[3]"}, "INSIGHTLITE_MIN_CROWD_SITES", "valid dictionary"),
        ({"min_crowd_sites": '{"a b": 3}'}, "INSIGHTLITE_MIN_CROWD_SITES", "not a site id"),
        # Whole-string match: a trailing newline is not part of a site id.
        ({"min_crowd_sites": '{"shop\\n": 3}'}, "INSIGHTLITE_MIN_CROWD_SITES", "not a site id"),
        ({"min_crowd_sites": '{"shop": 0}'}, "INSIGHTLITE_MIN_CROWD_SITES", "k must be"),
    ],
)
def test_bad_values_fail_naming_the_setting(
    values: dict[str, object], named: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(**values)
    assert named in str(raised.value) and reason in str(raised.value)
