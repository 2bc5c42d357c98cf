"""Every stage's defaults are the settings' defaults: no drift between the two."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson

from flows.stages import build_stages, stage_configs
from foundation.settings import DEFAULT_BOT_PATTERNS, Settings, load_settings
from operators.bot_filter import BotFilterConfig
from operators.enrich import EnrichConfig
from operators.heatmap import GridConfig
from operators.model import RawBatch
from operators.sessionize import SessionConfig
from operators.validate import ValidationConfig
from tests.operators.conftest import make_event


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


def test_the_old_ip_hash_secret_file_is_deleted(tmp_path: Path) -> None:
    secret = tmp_path / "ip-hash.secret"
    secret.write_text("an old secret every daily key was derived from")
    build_stages(load_settings(data_dir=str(tmp_path)))
    assert not secret.exists()


def test_the_sites_trait_allow_list_reaches_the_anonymize_stage(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=str(tmp_path),
        visitor_key_store=str(tmp_path / "keys"),
        traits_allowed_keys='{"shop.example.com": ["plan"]}',
    )
    stages = build_stages(settings)
    record = make_event(type="custom", name="identify", props={"plan": "pro", "name": "Jane"})
    record.pop("x"), record.pop("y"), record.pop("target")
    batch = stages.validate(RawBatch("mem", 0, [orjson.dumps(record)]))
    for _, stage in stages.later:
        batch = stage(batch)
    assert not batch.rejected and not batch.filtered
    (event_data,) = batch.table["event_data"].to_pylist()
    assert orjson.loads(event_data)["props"] == {"plan": "pro", "name": "<redacted>"}
