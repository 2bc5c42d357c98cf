from __future__ import annotations

from pathlib import Path

import pytest

from foundation.settings import ConfigError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.resolved_clickhouse_url == "chdb:insightlite-data/clickhouse"
    assert settings.resolved_archive_url == "insightlite-data/archive"
    assert settings.sink_batch_rows == 10_000
    assert settings.sink_batch_seconds == 2.0
    assert settings.max_future_hours == 23
    assert settings.max_age_days == 3
    assert settings.geoip_db == ""


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLITE_SITE_ALLOWLIST", "shop.example.com, docs.example.net")
    monkeypatch.setenv("INSIGHTLITE_SINK_BATCH_ROWS", "5000")
    settings = load_settings(sink_batch_rows=None, archive_compression="gzip")
    assert settings.site_allowlist == ["shop.example.com", "docs.example.net"]
    assert settings.sink_batch_rows == 5000
    assert settings.archive_compression == "gzip"


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("INSIGHTLITE_SINK_BATCH_ROWS", "0", "INSIGHTLITE_SINK_BATCH_ROWS"),
        ("INSIGHTLITE_SINK_BATCH_ROWS", "many", "INSIGHTLITE_SINK_BATCH_ROWS"),
        ("INSIGHTLITE_ARCHIVE_COMPRESSION", "lz77", "INSIGHTLITE_ARCHIVE_COMPRESSION"),
        ("INSIGHTLITE_CLICKHOUSE_URL", "mysql://x", "INSIGHTLITE_CLICKHOUSE_URL"),
        ("INSIGHTLITE_ARCHIVE_URL", "gs://bucket", "INSIGHTLITE_ARCHIVE_URL"),
        ("INSIGHTLITE_SITE_ALLOWLIST", "good,bad site", "INSIGHTLITE_SITE_ALLOWLIST"),
        ("INSIGHTLITE_BOT_PATTERNS", "ok,(unclosed", "INSIGHTLITE_BOT_PATTERNS"),
        ("INSIGHTLITE_IP_HASH_SECRET", "short", "INSIGHTLITE_IP_HASH_SECRET"),
        ("INSIGHTLITE_IP_HASH_SECRET", "a-long-enough-old-secret", "INSIGHTLITE_VISITOR_KEY_STORE"),
        ("INSIGHTLITE_VISITOR_KEY_RETENTION_HOURS", "12", "INSIGHTLITE_VISITOR_KEY_RETENTION"),
        ("INSIGHTLITE_VISITOR_KEY_RETENTION_HOURS", "1000", "INSIGHTLITE_VISITOR_KEY_RETENTION"),
        ("INSIGHTLITE_VISITOR_KEY_STORE", "memcached://x", "INSIGHTLITE_VISITOR_KEY_STORE"),
        ("INSIGHTLITE_GEOIP_DB", "/nonexistent/db.mmdb", "INSIGHTLITE_GEOIP_DB"),
        ("INSIGHTLITE_CLICKHOUSE_DATABASE", "drop table", "INSIGHTLITE_CLICKHOUSE_DATABASE"),
        ("INSIGHTLITE_LOG_LEVEL", "LOUD", "INSIGHTLITE_LOG_LEVEL"),
    ],
)
def test_bad_settings_fail_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert named in str(error.value)


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="INSIGHTLITE_NO_SUCH_SETTING"):
        load_settings(no_such_setting=1)
