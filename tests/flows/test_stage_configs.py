"""Every stage's defaults are the settings' defaults: no drift between the two."""

from __future__ import annotations

import dataclasses

from flows.stages import stage_configs
from foundation.settings import DEFAULT_BOT_PATTERNS, Settings
from operators.bot_filter import BotFilterConfig
from operators.enrich import EnrichConfig
from operators.heatmap import GridConfig
from operators.sessionize import SessionConfig
from operators.validate import ValidationConfig


def test_stage_defaults_equal_the_settings_defaults() -> None:
    # Settings built from their defaults alone, whatever the environment says.
    built = stage_configs(Settings.model_construct())
    assert built.validation == ValidationConfig()
    assert built.enrich == EnrichConfig()
    assert built.sessions == SessionConfig()
    assert built.grid == GridConfig()
    # The bot patterns are data of the settings; the stage gets them, never its own.
    assert built.bot_filter == BotFilterConfig(DEFAULT_BOT_PATTERNS)


def test_every_stage_config_field_is_set_from_the_settings() -> None:
    defaults = stage_configs(Settings.model_construct())
    changed = stage_configs(
        Settings.model_construct(
            max_event_bytes=1_000,
            max_future_hours=1,
            max_age_days=1,
            site_allowlist=["a"],
            session_gap_minutes=10,
            session_max_hours=2,
            session_lateness_seconds=7,
            dedup_retention_minutes=3,
            session_live_update_seconds=9,
            rage_click_count=4,
            rage_click_interval_ms=500,
            rage_click_distance_px=10,
            heatmap_cell_height_px=8,
            heatmap_window_seconds=30,
            bot_patterns=["x"],
            geoip_db="/nowhere.mmdb",
        )
    )
    for name in ("validation", "bot_filter", "enrich", "sessions", "grid"):
        before, after = getattr(defaults, name), getattr(changed, name)
        for field in dataclasses.fields(before):
            assert getattr(before, field.name) != getattr(after, field.name), (name, field.name)
