"""Build the stateless stages from settings, in their fixed order.

1. validate  2. bot_filter  3. enrich  4. anonymize (always last)
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flows.sessions import SessionsSpec
from foundation.settings import Settings
from foundation.units import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS
from operators.anonymize import Anonymizer
from operators.bot_filter import BotFilter, BotFilterConfig
from operators.enrich import EnrichConfig, Enricher
from operators.heatmap import GridConfig
from operators.model import (
    STAGE_ANONYMIZE,
    STAGE_BOT_FILTER,
    STAGE_ENRICH,
    EventBatch,
    RawBatch,
)
from operators.session_state import RageRule
from operators.sessionize import SessionConfig
from operators.user_agent import UserAgentClassifier
from operators.validate import EventValidator, ValidationConfig

log = logging.getLogger("insightlite.stages")
SECRET_FILE = "ip-hash.secret"


@dataclass(frozen=True)
class StageConfigs:
    """Every stage's settings, built from the one settings model in one place."""

    validation: ValidationConfig
    bot_filter: BotFilterConfig
    enrich: EnrichConfig
    sessions: SessionConfig
    grid: GridConfig


def stage_configs(settings: Settings) -> StageConfigs:
    return StageConfigs(
        validation=ValidationConfig(
            max_event_bytes=settings.max_event_bytes,
            max_future_ms=int(settings.max_future_hours * HOUR_MS),
            max_age_ms=int(settings.max_age_days * DAY_MS),
            site_allowlist=frozenset(settings.site_allowlist),
        ),
        bot_filter=BotFilterConfig(tuple(settings.bot_patterns)),
        enrich=EnrichConfig(settings.geoip_db),
        sessions=SessionConfig(
            inactivity_gap_ms=int(settings.session_gap_minutes * MINUTE_MS),
            max_length_ms=int(settings.session_max_hours * HOUR_MS),
            allowed_lateness_ms=int(settings.session_lateness_seconds * SECOND_MS),
            dedup_retention_ms=int(settings.dedup_retention_minutes * MINUTE_MS),
            live_update_ms=int(settings.session_live_update_seconds * SECOND_MS),
            rage=RageRule(
                clicks=settings.rage_click_count,
                interval_ms=settings.rage_click_interval_ms,
                distance_px=settings.rage_click_distance_px,
            ),
        ),
        grid=GridConfig(
            cell_height_px=settings.heatmap_cell_height_px,
            window_ms=int(settings.heatmap_window_seconds * SECOND_MS),
            allowed_lateness_ms=int(settings.session_lateness_seconds * SECOND_MS),
        ),
    )


@dataclass
class Stages:
    validate: Callable[[RawBatch], EventBatch]
    later: list[tuple[str, Callable[[EventBatch], EventBatch]]]


def ip_hash_secret(settings: Settings) -> bytes:
    """The configured secret, or one created once under the data directory."""
    if settings.ip_hash_secret is not None:
        return settings.ip_hash_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning(
            "INSIGHTLITE_IP_HASH_SECRET is not set: created a random one in the data directory; "
            "set it explicitly in production so every worker uses the same key",
            extra={"path": str(path)},
        )
    return path.read_text().strip().encode()


def build_stages(settings: Settings) -> Stages:
    configs = stage_configs(settings)
    validator = EventValidator(configs.validation)
    classifier = UserAgentClassifier(settings.bot_patterns)
    bot_filter = BotFilter(configs.bot_filter, classifier)
    enricher = Enricher(configs.enrich, classifier)
    if enricher.countries is None:
        log.info("country lookup is off: INSIGHTLITE_GEOIP_DB is empty")
    else:
        log.info("country lookup from %s (%s)", settings.geoip_db, enricher.countries.database_type)
    anonymizer = Anonymizer(ip_hash_secret(settings))
    return Stages(
        validate=validator.apply,
        later=[
            (STAGE_BOT_FILTER, bot_filter.apply),
            (STAGE_ENRICH, enricher.apply),
            (STAGE_ANONYMIZE, anonymizer.apply),
        ],
    )


def build_sessions_spec(settings: Settings, *, keep_snapshots: bool = False) -> SessionsSpec:
    """The session and heatmap stages' settings."""
    configs = stage_configs(settings)
    return SessionsSpec(
        sessions=configs.sessions,
        grid=configs.grid,
        shards=settings.session_shards,
        keep_snapshots=keep_snapshots,
    )
